//! Photo pipeline throughput per core against libjpeg-turbo's
//! `djpeg -scale 1/8` on the same files.
//!
//! ```text
//! cargo run --release -p civicprobe-ingest --example photo_bench -- [DIR] [ROUNDS]
//! cargo run --release -p civicprobe-ingest --example photo_bench -- make DIR N W H
//! ```
//!
//! The second form only writes N distinct W×H photos into DIR (for
//! `civicprobe load`, whose queue latency needs photos that do not merge as
//! the same picture).
//!
//! Writes synthetic phone-like JPEGs (4032×3024 "12 MP" and 2048×1536
//! "app-resized", smooth scene plus sensor-like noise, quality 90) into DIR
//! (default: a temporary folder), then for each size runs the whole ingest
//! photo pipeline (`process_blocking`: header, strip, EXIF, one DCT-scaled
//! decode, thumbnail, pHash, sha256) on one thread, and `djpeg -scale 1/8`
//! (if installed: Debian `libjpeg-turbo-progs`) on the same files, one
//! process at a time, interleaved file by file so that the machine's drift
//! in speed (a shared VM's is large) hits both sides alike. djpeg's time
//! includes starting a process; the start alone is measured on an 8×8 JPEG
//! in the same loop, and the ratio is given against djpeg with and without
//! it. Prints photos/s per core, the ratios, and peak RSS.

use civicprobe_ingest::photo::{process_blocking, PhotoLimits};
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const FILES_PER_SIZE: u32 = 4;

fn main() {
    let all: Vec<String> = std::env::args().skip(1).collect();
    if all.first().map(String::as_str) == Some("make") {
        return make(&all[1..]);
    }
    let mut args = all.into_iter();
    let keep = args.next().map(PathBuf::from);
    let rounds: u32 = args.next().and_then(|r| r.parse().ok()).unwrap_or(5);
    let temp = tempfile::tempdir().expect("temporary folder");
    let dir = keep.unwrap_or_else(|| temp.path().to_path_buf());
    std::fs::create_dir_all(&dir).expect("photo folder");
    let limits = PhotoLimits {
        max_bytes: 32 << 20,
        max_pixels: 50_000_000,
        max_side: 16_384,
    };
    println!(
        "cores: {}",
        std::thread::available_parallelism().map_or(1, usize::from)
    );
    for (label, w, h) in [
        ("12 MP phone", 4032, 3024),
        ("2048 px app-resized", 2048, 1536),
    ] {
        let files = write_photos(&dir, w, h);
        let mb: f64 =
            files.iter().map(|(_, b)| b.len() as f64).sum::<f64>() / files.len() as f64 / 1e6;
        let tiny = dir.join("tiny-8x8.jpg");
        std::fs::write(&tiny, synthetic(8, 8, 0)).expect("write photo");
        let with_djpeg = djpeg(&tiny).is_some();
        let (mut ours, mut theirs, mut start) = (Duration::ZERO, Duration::ZERO, Duration::ZERO);
        for _ in 0..rounds {
            for (path, bytes) in &files {
                let t = Instant::now();
                process_blocking(bytes, limits).expect("a good photo");
                ours += t.elapsed();
                if with_djpeg {
                    let t = Instant::now();
                    djpeg(path).expect("djpeg decodes the photo");
                    theirs += t.elapsed();
                    let t = Instant::now();
                    djpeg(&tiny).expect("djpeg decodes the tiny photo");
                    start += t.elapsed();
                }
            }
        }
        let n = f64::from(rounds) * files.len() as f64;
        let rate = |d: Duration| n / d.as_secs_f64();
        let ours = rate(ours);
        print!("{label} ({w}×{h}, {mb:.1} MB avg): ingest pipeline {ours:.1} photos/s/core ({:.1} ms each)", 1000.0 / ours);
        if with_djpeg {
            let (whole, decode) = (rate(theirs), rate(theirs.saturating_sub(start)));
            println!(
                "; djpeg -scale 1/8 {whole:.1}/s ({:.1} ms each, {:.1} ms of it starting the process); ratio {:.2} ({:.2} against djpeg's decode alone)",
                1000.0 / whole,
                1000.0 * start.as_secs_f64() / n,
                ours / whole,
                ours / decode
            );
        } else {
            println!("; djpeg not installed (apt-get install libjpeg-turbo-progs)");
        }
    }
    println!("peak RSS: {} MB", peak_rss_kb() / 1024);
}

/// `make DIR N W H`.
fn make(args: &[String]) {
    let dir = PathBuf::from(args.first().expect("DIR"));
    let num = |i: usize, default: u32| args.get(i).and_then(|a| a.parse().ok()).unwrap_or(default);
    let (n, w, h) = (num(1, 100), num(2, 2048), num(3, 1536));
    std::fs::create_dir_all(&dir).expect("folder");
    let limits = PhotoLimits {
        max_bytes: 32 << 20,
        max_pixels: 50_000_000,
        max_side: 16_384,
    };
    let mut hashes = Vec::new();
    for seed in 0..n {
        let path = dir.join(format!("load-{w}x{h}-{seed:04}.jpg"));
        let bytes = synthetic(w, h, seed);
        let photo = process_blocking(&bytes, limits).expect("a good photo");
        hashes.push(photo.photo_ref.phash.expect("a photo hash"));
        std::fs::write(path, bytes).expect("write");
    }
    let closest = hashes
        .iter()
        .enumerate()
        .flat_map(|(i, a)| hashes[i + 1..].iter().map(move |b| a.distance(*b)))
        .min()
        .unwrap_or(64);
    println!(
        "wrote {n} photos of {w}×{h} to {}; closest pHashes differ in {closest} bits",
        dir.display()
    );
}

/// `FILES_PER_SIZE` distinct photos of `w`×`h`, written to `dir`.
fn write_photos(dir: &Path, w: u32, h: u32) -> Vec<(PathBuf, Vec<u8>)> {
    (0..FILES_PER_SIZE)
        .map(|seed| {
            let path = dir.join(format!("phone-{w}x{h}-{seed}.jpg"));
            let bytes = std::fs::read(&path).unwrap_or_else(|_| {
                let bytes = synthetic(w, h, seed);
                std::fs::write(&path, &bytes).expect("write photo");
                bytes
            });
            (path, bytes)
        })
        .collect()
}

/// A tiny deterministic generator (xorshift32).
struct Rng(u32);

impl Rng {
    fn next(&mut self) -> u32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 17;
        self.0 ^= self.0 << 5;
        self.0
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        f64::from(self.next()) / 4_294_967_296.0
    }
}

/// A "scene" that differs per seed at low frequencies (gradient direction
/// and colours, six discs) so that pHashes differ, with stripes and
/// per-pixel sensor-like noise so that the JPEG has a phone-like entropy.
fn synthetic(w: u32, h: u32, seed: u32) -> Vec<u8> {
    let mut rng = Rng(0x9E37_79B9 ^ seed.wrapping_mul(0x85EB_CA6B).max(1));
    let angle = rng.unit() * std::f64::consts::TAU;
    let mut colour = || [rng.unit() * 255.0, rng.unit() * 255.0, rng.unit() * 255.0];
    let (from, to) = (colour(), colour());
    let discs: Vec<(f64, f64, f64, [f64; 3])> = (0..6)
        .map(|_| {
            (
                rng.unit(),
                rng.unit(),
                0.01 + 0.05 * rng.unit(),
                [rng.unit() * 255.0, rng.unit() * 255.0, rng.unit() * 255.0],
            )
        })
        .collect();
    let mut noise = Rng(seed.wrapping_add(1));
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        let (u, v) = (f64::from(x) / f64::from(w), f64::from(y) / f64::from(h));
        let t = (u * angle.cos() + v * angle.sin()).rem_euclid(1.0);
        let mut c = [0, 1, 2].map(|i| from[i] + (to[i] - from[i]) * t);
        for (cx, cy, r2, dc) in &discs {
            if (u - cx).powi(2) + (v - cy).powi(2) < *r2 {
                c = *dc;
            }
        }
        let stripes = (u * 60.0 + v * 13.0).sin() * 12.0;
        let n = f64::from(noise.next() % 25) - 12.0;
        image::Rgb(c.map(|k| (k + stripes + n).clamp(0.0, 255.0) as u8))
    });
    let mut out = Cursor::new(Vec::new());
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90)
        .encode_image(&img)
        .expect("encode");
    out.into_inner()
}

/// `djpeg -scale 1/8` on `path` to nowhere; `None` if it is not installed
/// or fails.
fn djpeg(path: &Path) -> Option<()> {
    Command::new("djpeg")
        .args(["-scale", "1/8", "-outfile", "/dev/null"])
        .arg(path)
        .status()
        .ok()
        .filter(std::process::ExitStatus::success)
        .map(|_| ())
}

/// VmHWM from /proc/self/status, in KiB (0 where unavailable).
fn peak_rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}
