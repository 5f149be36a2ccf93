#!/usr/bin/env bash
# A district in a box: the whole 3-machine installation of deploy/README.md
# as processes on one machine, from the files a district installs.
#
#   run.sh start  DIR [NAME...]   start what is not running (all by default)
#   run.sh stop   DIR [NAME...]   SIGTERM, then -9 after 15 s (all by default)
#   run.sh status DIR             one line per process: name, pid, port
#   run.sh admin  DIR ARGS...     civicprobe ARGS with the box's environment
#                                 (e.g. `admin DIR courier add "Li Wei"`)
#
# NAMEs: nats-1 nats-2 nats-3 (a JetStream cluster from deploy/nats/),
# postgres (a cluster of its own in DIR/pg, never the machine's server),
# ingest-1 ingest-2 router-1 router-2 tracker-1 tracker-2 (civicprobe with
# DIR/civicprobe.env, made from deploy/civicprobe.env.example), nginx (the
# one origin, http://127.0.0.1:$CIVICPROBE_BOX_PORT).
# A process killed from outside is started again by the next `start`.
#
# Environment: CIVICPROBE_BIN (default: civicprobe on the PATH),
# NATS_SERVER_BIN (nats-server), NGINX_BIN (nginx), PG_BIN (PostgreSQL's
# bin folder), CIVICPROBE_BOX_PORT (first port, default 7400; the box uses
# the 60 after it; kept in DIR at the first start), CIVICPROBE_BOX_OWNER (a
# pid: the box stops when that process is gone; tests set it).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
deploy=$(dirname "$here")
repo=$(dirname "$deploy")
ALL=(nats-1 nats-2 nats-3 postgres ingest-1 ingest-2 router-1 router-2 tracker-1 tracker-2 nginx)

die() { echo "run.sh: $*" >&2; exit 1; }
[ $# -ge 2 ] || die "usage: run.sh start|stop|status|admin DIR [NAME...]"
cmd=$1
mkdir -p "$2"
dir=$(cd "$2" && pwd)
shift 2

civicprobe_bin=${CIVICPROBE_BIN:-$(command -v civicprobe || echo "$repo/target/debug/civicprobe")}
nats_bin=${NATS_SERVER_BIN:-$(command -v nats-server || echo /usr/sbin/nats-server)}
nginx_bin=${NGINX_BIN:-$(command -v nginx || echo /usr/sbin/nginx)}
pg_bin=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}

# --- ports: one base, kept in DIR so that restarts use the same ones ---
[ -f "$dir/port" ] || echo "${CIVICPROBE_BOX_PORT:-7400}" >"$dir/port"
base=$(cat "$dir/port")
port_of() {
  local n=${1##*-}
  case $1 in
    nginx) echo "$base" ;;
    postgres) echo $((base + 5)) ;;
    nats-*) echo $((base + n)) ;;
    cluster-*) echo $((base + 10 + n)) ;;
    monitor-*) echo $((base + 20 + n)) ;;
    ingest-*) echo $((base + 30 + n)) ;;
    router-*) echo $((base + 40 + n)) ;;
    tracker-*) echo $((base + 50 + n)) ;;
    *) die "unknown process $1" ;;
  esac
}

pid_of() { cat "$dir/run/$1.pid" 2>/dev/null || true; }
# A process that is gone may stay a zombie for a while (its reaper is
# whoever adopted it): only a live state counts.
running() { [ -n "$1" ] && [ -r "/proc/$1/stat" ] && [[ $(cut -d')' -f2 "/proc/$1/stat") != " Z"* ]]; }
alive() { running "$(pid_of "$1")"; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# wait_for SECONDS WHAT COMMAND...: until COMMAND succeeds.
wait_for() {
  local deadline=$((SECONDS + $1)) what=$2
  shift 2
  until "$@"; do
    [ $SECONDS -lt $deadline ] || die "$what not ready after ${deadline}s; see $dir/logs/"
    sleep 0.2
  done
}

# launch NAME COMMAND...: in the background, its output in logs/NAME.log.
launch() {
  local name=$1
  shift
  "$@" >>"$dir/logs/$name.log" 2>&1 </dev/null &
  echo $! >"$dir/run/$name.pid"
}

# PostgreSQL refuses to run as root: the box's cluster is the postgres user's.
as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# --- the files, made once: copies of deploy/ plus the box's values ---
nats_minor() { "$nats_bin" --version | sed -E 's/.*v([0-9]+)\.([0-9]+).*/\1 \2/'; }

setup() {
  [ -f "$dir/civicprobe.env" ] && return
  mkdir -p "$dir/run" "$dir/logs" "$dir/nats" "$dir/nginx/logs" "$dir/nginx/run"
  cp "$deploy"/nats/*.conf "$dir/nats/"
  read -r major minor < <(nats_minor)
  if [ "$major" -eq 2 ] && [ "$minor" -lt 10 ]; then
    # 2.9 refuses sync_interval; production runs 2.12.3+ with it.
    echo "# nats-server $major.$minor has no sync_interval (test box only)" >"$dir/nats/durability.conf"
  fi
  cp "$here/nginx.conf" "$deploy/nginx/civicprobe-locations.conf" "$dir/nginx/"
  write_upstreams >"$dir/nginx/district-upstreams.conf"
  echo "listen 127.0.0.1:$base;" >"$dir/nginx/district-listen.conf"
  mkdir -p -m 1777 "$dir/nginx/tmp"
  write_env >"$dir/civicprobe.env"
  # The postgres user and nginx's workers must reach their folders.
  chmod 755 "$dir"
}

write_upstreams() {
  cat <<EOF
# Written by deploy/district/run.sh: the box's two ingests and two trackers.
upstream civicprobe_ingest {
    server 127.0.0.1:$(port_of ingest-1) max_fails=1 fail_timeout=2s;
    server 127.0.0.1:$(port_of ingest-2) max_fails=1 fail_timeout=2s;
    keepalive 16;
}
upstream civicprobe_tracker {
    server 127.0.0.1:$(port_of tracker-1) max_fails=1 fail_timeout=2s;
    server 127.0.0.1:$(port_of tracker-2) max_fails=1 fail_timeout=2s;
    keepalive 16;
}
EOF
}

# deploy/civicprobe.env.example with the box's values in place of the
# district's (every other line as a district would install it).
write_env() {
  local fixtures=$repo/fixtures nats_urls=() n
  for n in 1 2 3; do nats_urls+=("nats://127.0.0.1:$(port_of nats-$n)"); done
  local -A box=(
    [NATS_URL]=$(IFS=,; echo "${nats_urls[*]}")
    [DATABASE_URL]=postgres://postgres@127.0.0.1:$(port_of postgres)/civicprobe
    [CIVICPROBE_DATA_DIR]=$dir/services/admin
    [CIVICPROBE_PHOTO_STORE]=nats
    [CIVICPROBE_STREAM_REPLICAS]=3
    [CIVICPROBE_JURISDICTIONS]=$fixtures/jurisdictions.geojson
    [CIVICPROBE_CLASSIFIER_CORPUS]=$fixtures/reports/train.jsonl
    [CIVICPROBE_CATEGORIES]=$fixtures/categories.toml
    [CIVICPROBE_POLICY]=$fixtures/policy.toml
    [CIVICPROBE_PLACES]=$fixtures/places.toml
    [CIVICPROBE_PUBLIC_URL]=http://127.0.0.1:$base
    [CIVICPROBE_ALERT_LINK_BASE]=http://127.0.0.1:$base
    # A load test's few couriers send many reports each.
    [CIVICPROBE_RATE_PER_MINUTE]=6000
    [CIVICPROBE_RATE_BURST]=200
    [CIVICPROBE_MAX_UPLOADS_PER_CLIENT]=16
  )
  local line key
  echo "# Written by deploy/district/run.sh from deploy/civicprobe.env.example."
  while IFS= read -r line; do
    key=${line%%=*}
    if [[ $line =~ ^[A-Z0-9_]+= ]] && [ -n "${box[$key]+x}" ]; then
      echo "$key=${box[$key]}"
      unset "box[$key]"
    else
      echo "$line"
    fi
  done <"$deploy/civicprobe.env.example"
  for key in "${!box[@]}"; do echo "$key=${box[$key]}"; done
}

# Exports the box's environment file, as systemd's EnvironmentFile reads it.
load_env() {
  local line
  while IFS= read -r line; do
    if [[ $line =~ ^[A-Z0-9_]+= ]]; then export "${line?}"; fi
  done <"$dir/civicprobe.env"
}

# --- starting each kind ---
start_nats() {
  local n=${1##*-}
  (
    export NATS_LISTEN=127.0.0.1:$(port_of nats-$n)
    export NATS_MONITOR=127.0.0.1:$(port_of monitor-$n)
    export NATS_CLUSTER_LISTEN=127.0.0.1:$(port_of cluster-$n)
    export NATS_STORE_DIR=$dir/nats/store-$n NATS_MAX_FILE_STORE=4GB
    for peer in 1 2 3; do export "NATS_ROUTE_$peer=nats-route://127.0.0.1:$(port_of cluster-$peer)"; done
    launch "nats-$n" "$nats_bin" -c "$dir/nats/nats-$n.conf"
  )
}

nats_healthy() { curl -sf "http://127.0.0.1:$(port_of "monitor-${1##*-}")/healthz" >/dev/null; }

start_postgres() {
  local data=$dir/pg/data port
  port=$(port_of postgres)
  if [ ! -d "$data" ]; then
    mkdir -p "$dir/pg"
    [ "$(id -u)" = 0 ] && chown postgres: "$dir/pg"
    as_pg "$pg_bin/initdb" -D "$data" -A trust -U postgres -E UTF8 --no-sync >/dev/null
  fi
  as_pg "$pg_bin/pg_ctl" -D "$data" -l "$dir/pg/postgres.log" -w -t 60 \
    -o "-p $port -k $dir/pg -c listen_addresses=127.0.0.1" start >/dev/null
  head -1 "$data/postmaster.pid" >"$dir/run/postgres.pid"
  local psql=("$pg_bin/psql" -h 127.0.0.1 -p "$port" -U postgres -tAq)
  if [ -z "$(as_pg "${psql[@]}" -c "SELECT 1 FROM pg_database WHERE datname = 'civicprobe'")" ]; then
    as_pg "${psql[@]}" -c "CREATE DATABASE civicprobe"
  fi
}

start_service() {
  local name=$1 port
  port=$(port_of "$name")
  mkdir -p "$dir/services/$name"
  (
    load_env
    export CIVICPROBE_LISTEN=127.0.0.1:$port CIVICPROBE_DATA_DIR=$dir/services/$name
    cd "$dir/services/$name"
    launch "$name" "$civicprobe_bin" "${name%-*}"
  )
}

http_ok() { curl -sf "http://127.0.0.1:$1$2" >/dev/null; }

start_one() {
  local name=$1
  alive "$name" && return
  case $name in
    nats-*) start_nats "$name" ;;
    postgres) start_postgres ;;
    ingest-* | router-* | tracker-*) start_service "$name" ;;
    nginx) launch nginx "$nginx_bin" -p "$dir/nginx" -c "$dir/nginx/nginx.conf" -g 'daemon off;' ;;
    *) die "unknown process $name" ;;
  esac
  echo "started $name (pid $(pid_of "$name"), port $(port_of "$name"))"
}

# Waits until what was started answers: NATS's /healthz (JetStream with a
# quorum), the services' /healthz, nginx's port.
wait_ready() {
  local name
  for name in "$@"; do
    case $name in
      nats-*) wait_for 60 "$name" nats_healthy "$name" ;;
      ingest-* | router-* | tracker-*) wait_for 60 "$name" http_ok "$(port_of "$name")" /healthz ;;
      nginx) wait_for 20 nginx port_open "$base" ;;
    esac
  done
}

stop_one() {
  local name=$1 pid
  alive "$name" || return 0
  if [ "$name" = postgres ]; then
    as_pg "$pg_bin/pg_ctl" -D "$dir/pg/data" -m fast -w stop >/dev/null
  else
    pid=$(pid_of "$name")
    kill -TERM "$pid" 2>/dev/null || true
    local deadline=$((SECONDS + 15))
    while running "$pid" && [ $SECONDS -lt $deadline ]; do sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  echo "stopped $name"
}

# Stops the box once CIVICPROBE_BOX_OWNER's process is gone.
watch_owner() {
  local owner=$1
  while running "$owner"; do sleep 1; done
  "${BASH_SOURCE[0]}" stop "$dir" >>"$dir/logs/watch.log" 2>&1
}

names=("$@")
[ ${#names[@]} -gt 0 ] || names=("${ALL[@]}")
case $cmd in
  start)
    setup
    if [ -n "${CIVICPROBE_BOX_OWNER:-}" ] && ! alive watch; then
      watch_owner "$CIVICPROBE_BOX_OWNER" </dev/null >/dev/null 2>&1 &
      echo $! >"$dir/run/watch.pid"
    fi
    for name in "${names[@]}"; do start_one "$name"; done
    wait_ready "${names[@]}"
    ;;
  stop)
    [ $# -gt 0 ] || stop_one watch
    for ((i = ${#names[@]} - 1; i >= 0; i--)); do stop_one "${names[$i]}"; done
    ;;
  status)
    for name in "${ALL[@]}"; do
      if alive "$name"; then state=up; else state=down; fi
      echo "$name $state pid=$(pid_of "$name") port=$(port_of "$name")"
    done
    ;;
  admin)
    load_env
    exec "$civicprobe_bin" "$@"
    ;;
  *) die "unknown command $cmd" ;;
esac
