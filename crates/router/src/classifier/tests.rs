use super::*;
use crate::classifier::eval::evaluate;
use Category::*;

fn heldout() -> Vec<Labelled> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/reports/heldout.jsonl");
    corpus::load(&path).unwrap()
}

fn check(text: &str, category: Category, urgent: bool) {
    let c = Classifier::builtin().classify(None, Some(text));
    assert_eq!(
        (c.category, c.urgent),
        (category, urgent),
        "{text:?}: {c:?}"
    );
}

#[test]
fn the_bundled_corpus_trains() {
    assert_eq!(Classifier::builtin().trained_on(), 812);
}

#[test]
fn heldout_accuracy_and_urgent_recall_meet_the_bar() {
    let e = evaluate(&Classifier::builtin(), &heldout());
    assert_eq!(e.reports, 147);
    assert!(e.accuracy >= 0.9, "{e:#?}");
    assert!(e.urgent_recall >= 0.95, "{e:#?}");
}

#[test]
fn the_end_to_end_texts() {
    check("井盖没了 manhole cover missing", Manhole, true);
    check("电梯困人 people trapped in lift", Elevator, true);
    check("配电箱冒烟 electrical box smoking", ElectricalBox, true);
    check("电梯里有人被困", Elevator, true);
    check("transformer sparks", ElectricalBox, true);
}

#[test]
fn a_confident_text_overrides_a_wrong_hint() {
    let c = Classifier::builtin().classify(Some(Other), Some("电梯困人 people trapped in lift"));
    assert_eq!(c.category, Elevator, "{c:?}");
    assert!(!c.needs_triage);
    assert!(c.confidence >= 0.5);
}

#[test]
fn low_confidence_falls_back_to_the_hint_else_triage() {
    let c = Classifier::builtin();
    let hinted = c.classify(Some(Elevator), None);
    assert_eq!((hinted.category, hinted.needs_triage), (Elevator, false));
    let nothing = c.classify(None, None);
    assert_eq!((nothing.category, nothing.needs_triage), (Other, true));
    assert!(!nothing.urgent);
    let strict = Classifier::builtin()
        .as_ref()
        .clone()
        .with_thresholds(Thresholds {
            confident: 1.1,
            urgent: 0.3,
        });
    let vague = strict.classify(Some(Manhole), Some("电梯困人"));
    assert_eq!(vague.category, Manhole);
    let vague = strict.classify(None, Some("电梯困人"));
    assert_eq!((vague.category, vague.needs_triage), (Other, true));
    assert!((0.0..=1.0).contains(&vague.confidence));
}

#[test]
fn training_is_deterministic_and_refuses_an_empty_corpus() {
    assert!(matches!(Classifier::train(&[]), Err(Error::EmptyCorpus)));
    let set = heldout();
    let a = Classifier::train(&set[..40]).unwrap();
    let b = Classifier::train(&set[..40]).unwrap();
    for r in &set[40..60] {
        assert_eq!(
            a.classify(r.hint, Some(&r.text)),
            b.classify(r.hint, Some(&r.text))
        );
    }
}

#[test]
fn odd_input_never_panics() {
    let c = Classifier::builtin();
    for text in ["", " ", "!!!", "🔥🔥", &"井".repeat(10_000), "\u{0}"] {
        let r = c.classify(None, Some(text));
        assert!((0.0..=1.0).contains(&r.confidence));
    }
}

/// 5-fold cross-validation on the *training* split only, to choose the
/// thresholds without looking at the held-out split:
/// `cargo test -p civicprobe-router --lib cross_validate -- --ignored --nocapture`.
#[test]
#[ignore = "a tuning aid, prints figures"]
fn cross_validate_thresholds_on_train() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/reports/train.jsonl");
    let train = corpus::load(&path).unwrap();
    for urgent in [0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5] {
        let (mut hit, mut truth, mut said, mut right) = (0, 0, 0, 0);
        for fold in 0..5 {
            let (test, fit): (Vec<_>, Vec<_>) = train
                .iter()
                .cloned()
                .enumerate()
                .partition(|(i, _)| i % 5 == fold);
            let fit: Vec<_> = fit.into_iter().map(|(_, l)| l).collect();
            let c = Classifier::train(&fit)
                .unwrap()
                .with_thresholds(Thresholds {
                    confident: 0.5,
                    urgent,
                });
            for (_, l) in &test {
                let r = c.classify(l.hint, Some(&l.text));
                truth += usize::from(l.urgent);
                said += usize::from(r.urgent);
                hit += usize::from(l.urgent && r.urgent);
                right += usize::from(r.category == l.category);
            }
        }
        eprintln!(
            "urgent ≥ {urgent}: recall {:.3} precision {:.3} accuracy {:.3}",
            hit as f64 / truth as f64,
            hit as f64 / said as f64,
            right as f64 / train.len() as f64
        );
    }
}
