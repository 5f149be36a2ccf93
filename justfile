# Shortcuts; every recipe is one plain cargo command, so nothing needs `just`.

# The whole pipeline: ingest, router, tracker on 127.0.0.1:8080, SQLite in ./data.
up:
    cargo run --release -p civicprobe -- up

# Every test (needs PostgreSQL at 127.0.0.1:5432 and nats-server installed).
test:
    cargo test --workspace

lint:
    cargo fmt --all --check
    cargo clippy --workspace --all-targets -- -D warnings
