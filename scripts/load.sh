#!/usr/bin/env bash
# Sustained load on the whole pipeline, as the README reports it.
#
#   scripts/load.sh [RATE] [SECONDS] [WIDTH] [HEIGHT]    (defaults: 10 30 2048 1536)
#
# Builds the release binary, writes one distinct synthetic phone-like JPEG
# of WIDTH×HEIGHT per report (so that the router does not merge them as one
# picture),
# starts a nats-server of its own (free port, temporary store) and
# `civicprobe up` on SQLite in a temporary folder, registers 50 couriers and
# a supervisor, then runs `civicprobe load` at RATE reports/s for SECONDS:
# accepted/s, errors by status, p50/p99 submit latency and p50/p99 from the
# 202 to the ticket being in the office queue (reports merged into a nearby
# ticket of the same category open none and are not timed), and the peak
# RSS of `civicprobe up`. It also watches every ticket arrive where the
# Wenquan street office learns of it: on the office's live event stream and
# at a JSON alert channel that `civicprobe load` receives itself, and
# prints p50/p99 from the 202 to each. All texts are urgent (only urgent
# tickets are alerted at once). Everything it started is stopped and removed.
set -euo pipefail

rate=${1:-10}
seconds=${2:-30}
width=${3:-2048}
height=${4:-1536}

cd "$(dirname "$0")/.."
cargo build --release --quiet -p civicprobe
cargo build --release --quiet -p civicprobe-ingest --example photo_bench
bin=target/release/civicprobe

work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

count=$(awk -v r="$rate" -v s="$seconds" 'BEGIN { n = int(r * s + 0.999); print (n < 1 ? 1 : n) }')
target/release/examples/photo_bench make "$work/photos" "$count" "$width" "$height"

nats-server -js -a 127.0.0.1 -p -1 --ports_file_dir "$work" -sd "$work/nats" \
    -l "$work/nats.log" &
pids+=($!)
for _ in $(seq 100); do
    ports=$(ls "$work"/*.ports 2>/dev/null || true)
    [ -n "$ports" ] && break
    sleep 0.1
done
nats_url=$(grep -o 'nats://[^"]*' "$ports" | head -1)

listen=127.0.0.1:$((20000 + RANDOM % 20000))
export CIVICPROBE_DATA_DIR=$work/data
mkdir -p "$CIVICPROBE_DATA_DIR"
for i in $(seq 50); do "$bin" courier add "courier $i" 2>/dev/null; done >"$work/tokens"
viewer=$("$bin" supervisor add "load supervisor" 2>/dev/null)
office=$("$bin" office add wenquan --person "load office" 2>/dev/null)
hook=127.0.0.1:$((20000 + RANDOM % 20000))
"$bin" office alert wenquan --format json --webhook "http://$hook/hook" \
    --secret load-test-secret >/dev/null

RUST_LOG=warn "$bin" up --listen "$listen" --nats-url "$nats_url" \
    --rate-per-minute 600 >"$work/up.log" 2>&1 &
up=$!
pids+=("$up")
for _ in $(seq 300); do
    curl -fs "http://$listen/healthz" >/dev/null 2>&1 && break
    sleep 0.1
done

"$bin" load --url "http://$listen" --photos "$work/photos" --tokens "$work/tokens" \
    --viewer-token "$viewer" --events-token "$office" --webhook-listen "$hook" --urgent \
    --rate "$rate" --duration "$seconds"
echo "civicprobe up: peak RSS $(awk '/VmHWM/ { print int($2 / 1024) }' "/proc/$up/status") MB"
