//! Writes the odd-EXIF corpus to `fixtures/photos/odd-exif/` (or the
//! folder given as the first argument): `cargo run -p civicprobe-testkit
//! --example odd_exif_corpus`. Ingest's `tests/odd_exif.rs` checks that
//! the committed files are exactly what this writes.

use std::path::PathBuf;

fn main() -> anyhow::Result<()> {
    let dir = std::env::args().nth(1).map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/photos/odd-exif"),
        PathBuf::from,
    );
    std::fs::create_dir_all(&dir)?;
    for file in civicprobe_testkit::odd_exif::corpus() {
        std::fs::write(dir.join(file.name), &file.bytes)?;
        println!("| `{}` | {} | {} |", file.name, file.bytes.len(), file.what);
    }
    Ok(())
}
