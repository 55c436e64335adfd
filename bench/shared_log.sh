#!/usr/bin/env bash
# The decision log's engines under load (README "Running several servers"), on loopback:
#   bash bench/shared_log.sh     # markdown tables on stdout
# Classify at concurrency 16 against one server on SQLite, one on PostgreSQL, and two on one
# PostgreSQL (two wrk processes of 8 connections, one per server; requests/s summed, p99 the
# worse of the two), then classify throughput with batches of 1, 8, 32 and 128 tickets per
# request (concurrency 2) on each engine, and the log's own write rate without the model
# (criterion, benches/decision_log.rs: records per second by records per commit). Every server, the database and wrk share the
# machine's cores; the CPU seconds of the servers and of the database (the postmaster and all
# its backends) are counted per run from /proc. PostgreSQL is a throwaway cluster from
# Debian's postgresql package with its default settings (fsync and synchronous_commit on).
# DURATION=10s per run by default.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-10s}
OUT=$(mktemp -d)
chmod 755 "$OUT"
SERVERS=()
PGPID=""
cleanup() {
  for pid in "${SERVERS[@]}"; do kill "$pid" 2>/dev/null || true; done
  [ -n "$PGPID" ] && kill -INT "$PGPID" 2>/dev/null && sleep 1
  rm -rf "$OUT"
}
trap cleanup EXIT

command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -n "$PGBIN" ] || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null;
  PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1); }
BIN=${TRIAGE_BIN:-target/release/triage}
[ -n "${TRIAGE_BIN:-}" ] || cargo build --release --quiet --bin triage
python3 bench/bodies.py "$OUT"

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# PostgreSQL refuses to run as root: as root the cluster runs as the package's postgres user.
AS=()
if [ "$(id -u)" = 0 ]; then AS=(runuser -u postgres --); chown postgres "$OUT"; fi
"${AS[@]}" "$PGBIN/initdb" --auth=trust --username=triage -D "$OUT/pg" >/dev/null
PGPORT=$(free_port)
"${AS[@]}" "$PGBIN/postgres" -D "$OUT/pg" -p "$PGPORT" -c listen_addresses=127.0.0.1 \
  -c unix_socket_directories="$OUT" >"$OUT/pg.log" 2>&1 &
for _ in $(seq 100); do "$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$PGPORT" && break; sleep 0.1; done
PGPID=$(head -n 1 "$OUT/pg/postmaster.pid")
PGVERSION=$("$PGBIN/postgres" --version)

start_server() { # db port; sets SERVER_PID
  "$BIN" serve --no-auth --addr "127.0.0.1:$2" --db "$1" --server-name "bench-$2" >/dev/null 2>>"$OUT/server.log" &
  SERVER_PID=$!
  SERVERS+=("$SERVER_PID")
  for _ in $(seq 600); do curl -sf "127.0.0.1:$2/readyz" >/dev/null && break; sleep 0.1; done
  curl -sf "127.0.0.1:$2/readyz" >/dev/null || { cat "$OUT/server.log" >&2; exit 1; }
}

wrk_run() { # port concurrency path bodies
  local threads=$(( $2 < 2 ? 1 : 2 ))
  BODIES="$OUT/$4" TARGET_PATH="$3" wrk -t"$threads" -c"$2" -d"$DURATION" -s bench/wrk/requests.lua \
    "http://127.0.0.1:$1$3" | tail -n 1
}

measure() { # name engine tickets-per-request db-pids -- ports... ; runs wrk on each port at once
  local name=$1 engine=$2 size=$3 pids=$4; shift 5
  local concurrency=$(( 16 / $# )) path=/v1/classify bodies=single.jsonl
  if [ "$size" -gt 0 ]; then concurrency=2 path=/v1/classify/batch bodies="batch-$size.jsonl"; fi
  local server_before db_before=0 db_after=0
  server_before=$(python3 bench/cpu.py $pids)
  [ "$engine" = postgres ] && db_before=$(python3 bench/cpu.py "$PGPID")
  local index=0 wrks=()
  for port in "$@"; do
    wrk_run "$port" "$concurrency" "$path" "$bodies" >"$OUT/wrk-$index" &
    wrks+=("$!")
    index=$((index + 1))
  done
  wait "${wrks[@]}"
  local server_after
  server_after=$(python3 bench/cpu.py $pids)
  [ "$engine" = postgres ] && db_after=$(python3 bench/cpu.py "$PGPID")
  python3 - "$name" "$engine" "$size" "$server_before" "$server_after" "$db_before" "$db_after" "$OUT"/wrk-* <<'PY'
import json, sys
name, engine, size, s0, s1, d0, d1, *files = sys.argv[1:]
runs = [json.loads(open(f).read()) for f in files]
print(json.dumps({"name": name, "engine": engine, "tickets_per_request": int(size),
                  "requests": sum(r["requests"] for r in runs), "seconds": max(r["seconds"] for r in runs),
                  "rps": sum(r["rps"] for r in runs), "p99_ms": max(r["p99_ms"] for r in runs),
                  "failed": sum(r["failed"] for r in runs),
                  "server_cpu_s": float(s1) - float(s0), "db_cpu_s": float(d1) - float(d0)}))
PY
  rm -f "$OUT"/wrk-*
}

URL="postgres://triage@127.0.0.1:$PGPORT/postgres"
{
  port=$(free_port); start_server "$OUT/decisions.db" "$port"
  measure "one server, SQLite" sqlite 0 "$SERVER_PID" -- "$port"
  for size in 1 8 32 128; do measure "one server, SQLite" sqlite "$size" "$SERVER_PID" -- "$port"; done
  kill "$SERVER_PID"
  port=$(free_port); start_server "$URL" "$port"; first=$SERVER_PID
  measure "one server, PostgreSQL" postgres 0 "$first" -- "$port"
  for size in 1 8 32 128; do measure "one server, PostgreSQL" postgres "$size" "$first" -- "$port"; done
  port2=$(free_port); start_server "$URL" "$port2"
  measure "two servers, one PostgreSQL" postgres 0 "$first $SERVER_PID" -- "$port" "$port2"
} >"$OUT/results"
LOGGED=$("$PGBIN/psql" -h 127.0.0.1 -p "$PGPORT" -U triage -d postgres -At -c "SELECT COUNT(*) FROM decisions")
for pid in "${SERVERS[@]}"; do kill "$pid" 2>/dev/null || true; done
TRIAGE_BENCH_PG_URL="$URL" cargo bench --quiet --bench decision_log >"$OUT/criterion" 2>/dev/null

python3 - "$OUT/results" "$DURATION" "$PGVERSION" "$LOGGED" "$(nproc)" "$OUT/criterion" <<'PY'
import json, re, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
duration, version, logged, cores, criterion = sys.argv[2:]
print(f"wrk, {duration} per row, on loopback; {cores} cores shared by the servers, the database and wrk; {version}.\n")
print("Classify at concurrency 16:\n")
print("| setup | requests/s | p99 ms | failed | server CPU s | database CPU s | CPU ms per request |")
print("|---|---|---|---|---|---|---|")
for r in rows:
    if r["tickets_per_request"] == 0:
        per = 1000 * (r["server_cpu_s"] + r["db_cpu_s"]) / max(r["requests"], 1)
        print(f"| {r['name']} | {r['rps']:,.0f} | {r['p99_ms']:.2f} | {r['failed']} | {r['server_cpu_s']:.1f} | "
              f"{r['db_cpu_s']:.1f} | {per:.2f} |")
print("\nThe decision log's write rate by tickets per request (POST /v1/classify/batch, concurrency 2):\n")
print("| engine | tickets per request | requests/s | decisions/s | p99 ms | failed | database CPU s |")
print("|---|---|---|---|---|---|---|")
for r in rows:
    if r["tickets_per_request"] > 0:
        print(f"| {r['engine']} | {r['tickets_per_request']} | {r['rps']:,.0f} | {r['rps'] * r['tickets_per_request']:,.0f} | "
              f"{r['p99_ms']:.2f} | {r['failed']} | {r['db_cpu_s']:.1f} |")
print(f"\nDecisions in the PostgreSQL log after the runs: {logged}.")
print("\nThe decision log alone (benches/decision_log.rs, criterion; one writer, one commit at a time):\n")
print("| engine | records per commit | time per commit (median) | records/s (median) |")
print("|---|---|---|---|")
text = open(criterion).read()
for name, times, rates in re.findall(r"decision_log_write/(\S+)\s+time:\s+\[(.*?)\]\s+thrpt:\s+\[(.*?)\]", text):
    engine, size = name.split("/")
    median_time = " ".join(times.split()[2:4])
    median_rate = " ".join(rates.split()[2:4])
    print(f"| {engine} | {size.split('_')[0]} | {median_time} | {median_rate} |")
PY
