//! The versioned model file: written by `classify --train`, loaded by the
//! router, swapped in without a restart when it changes; a correction fed
//! back through `--train` fixes its report without harming the test split.

use civicprobe_model::Category;
use civicprobe_router::{
    classifier::{corpus::Labelled, file, live::LiveClassifier, Thresholds},
    cli::{self, train, ClassifyArgs},
    Classifier, Error,
};
use std::{
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/reports")
        .join(name)
}

fn args(out: &Path) -> ClassifyArgs {
    ClassifyArgs {
        eval: None,
        train: true,
        out: Some(out.to_path_buf()),
        corrections_from: None,
        model: None,
        test_split: fixture("test2.jsonl"),
        classifier_corpus: fixture("train.jsonl"),
    }
}

#[test]
fn a_model_file_round_trips_and_a_tampered_one_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let model = Classifier::builtin();
    let path = file::save(&model, dir.path()).unwrap();
    assert_eq!(
        path.file_name().unwrap().to_str().unwrap(),
        format!("model-{}.json", model.version())
    );
    assert!(model.version().starts_with("m-") && model.version().len() == 18);
    let back = file::load(&path).unwrap();
    assert_eq!(back.version(), model.version());
    for text in [
        "井盖没了",
        "电梯没有困人 就是慢",
        "transformer smoking",
        "快递柜坏了",
    ] {
        assert_eq!(
            back.classify(None, Some(text)),
            model.classify(None, Some(text))
        );
    }
    assert_eq!(
        file::save(&back, dir.path()).unwrap(),
        path,
        "same model, same file"
    );

    let json = std::fs::read_to_string(&path).unwrap();
    let tampered = dir.path().join("tampered.json");
    std::fs::write(
        &tampered,
        json.replacen("\"trained_on\":", "\"trained_on\":1", 1),
    )
    .unwrap();
    let err = file::load(&tampered).unwrap_err();
    assert!(
        matches!(&err, Error::ModelFile { reason, .. } if reason.contains("does not match")),
        "{err}"
    );
    let other = dir.path().join("other.json");
    std::fs::write(&other, json.replacen("civicprobe-classifier/1", "x/9", 1)).unwrap();
    assert!(matches!(file::load(&other), Err(Error::ModelFile { .. })));
    assert!(matches!(
        file::load(&dir.path().join("absent.json")),
        Err(Error::Read { .. })
    ));
}

/// Polls (no timing asserted: the deadline only stops a broken watcher
/// from hanging the test) until the live model has `version`.
async fn until_version(live: &LiveClassifier, version: &str) {
    for _ in 0..3000 {
        if live.current().version() == version {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!(
        "the model was not swapped to {version}, it is {}",
        live.current().version()
    );
}

#[tokio::test]
async fn a_changed_model_file_is_swapped_in_without_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let a = Classifier::builtin();
    let b = a.as_ref().clone().with_thresholds(Thresholds {
        confident: 0.6,
        urgent: 0.3,
    });
    assert_ne!(a.version(), b.version());
    let a_file = file::save(&a, dir.path()).unwrap();
    let b_file = file::save(&b, dir.path()).unwrap();
    let live_path = dir.path().join("current.json");
    std::fs::copy(&a_file, &live_path).unwrap();

    let live = Arc::new(LiveClassifier::load(&live_path).unwrap());
    assert_eq!(live.current().version(), a.version());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let watcher = tokio::spawn(live.clone().watch(Duration::from_millis(20), async {
        let _ = stopped.await;
    }));

    // A deploy: the new file renamed over the watched path.
    let tmp = dir.path().join("next.json");
    std::fs::copy(&b_file, &tmp).unwrap();
    std::fs::rename(&tmp, &live_path).unwrap();
    until_version(&live, b.version()).await;

    // A broken file is refused and the watcher goes on: the next good one
    // still arrives.
    std::fs::write(&live_path, b"{ not a model").unwrap();
    std::fs::copy(&a_file, &tmp).unwrap();
    std::fs::rename(&tmp, &live_path).unwrap();
    until_version(&live, a.version()).await;

    stop.send(()).unwrap();
    watcher.await.unwrap();
}

#[test]
fn a_correction_fed_back_through_train_fixes_its_report_without_harming_the_split() {
    // An access-card reader for the lift (梯控): the bundled corpus has no
    // such word, and an office corrected the ticket to elevator, routine.
    let text = "梯控读卡器坏了 刷不上去";
    let current = Classifier::builtin();
    let before = current.classify(None, Some(text));
    assert_ne!(before.category, Category::Elevator, "{before:?}");

    let dir = tempfile::tempdir().unwrap();
    let correction = Labelled {
        text: text.into(),
        hint: None,
        category: Category::Elevator,
        urgent: false,
    };
    let mut out = Vec::new();
    let trained = train::train(&args(dir.path()), &[correction], &mut out).unwrap();
    let printed = String::from_utf8(out).unwrap();
    assert!(printed.contains(current.version()), "{printed}");
    assert!(printed.contains(trained.model.version()), "{printed}");
    assert!(printed.contains("1 corrections"), "{printed}");

    let after = trained.model.classify(None, Some(text));
    assert_eq!((after.category, after.urgent), (Category::Elevator, false));
    // The same on the untouched split: at most one report either way.
    let one = 1.0 / trained.after.reports as f64 + 1e-9;
    assert!(
        trained.after.accuracy >= trained.before.accuracy - one,
        "{printed}"
    );
    assert!(
        trained.after.urgent_recall >= trained.before.urgent_recall - one,
        "{printed}"
    );
    // The file it wrote is that model, and a router can load it.
    assert_eq!(
        file::load(&trained.path).unwrap().version(),
        trained.model.version()
    );
    let loaded = cli::current_model(&ClassifyArgs {
        model: Some(trained.path.clone()),
        ..args(dir.path())
    })
    .unwrap();
    assert_eq!(loaded.version(), trained.model.version());
}

#[test]
fn corrections_replace_corpus_lines_and_the_latest_wins() {
    let line = |text: &str, category, urgent| Labelled {
        text: text.into(),
        hint: None,
        category,
        urgent,
    };
    let corpus = vec![
        line("井盖松了", Category::Manhole, false),
        line("电梯困人", Category::Elevator, true),
    ];
    let corrections = [
        line("井盖松了 ", Category::Other, false),
        line("井盖松了", Category::Manhole, true),
        line(" ", Category::Other, false),
    ];
    let set = train::training_set(corpus, &corrections);
    assert_eq!(set.len(), 1 + train::CORRECTION_WEIGHT, "{set:?}");
    assert_eq!(set[0].text, "电梯困人");
    assert!(set[1..]
        .iter()
        .all(|l| l.urgent && l.category == Category::Manhole));
}
