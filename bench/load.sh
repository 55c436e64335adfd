#!/usr/bin/env bash
# Load test of `triage serve` (release build, default model and policy, decision log on) on
# loopback, driven by wrk from a second process on the same machine. Prints a markdown table:
# single-ticket classify at concurrency 1, 16 and 64; batches of 32; GET /healthz as the
# baseline of the same run (pure HTTP, no model); RSS after the load.
#   bash bench/load.sh            # DURATION=10s PORT=18090 by default
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-10s}
PORT=${PORT:-18090}
BIN=${TRIAGE_BIN:-target/release/triage}
OUT=$(mktemp -d)
trap 'kill "$SERVER" 2>/dev/null || true; rm -rf "$OUT"' EXIT

command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
[ -n "${TRIAGE_BIN:-}" ] || cargo build --release --quiet --bin triage

# Request bodies: the sample tickets (written for this project) as classify requests.
python3 - "$OUT" <<'PY'
import csv, json, sys
out = sys.argv[1]
rows = list(csv.DictReader(open("data/sample/tickets.csv", encoding="utf-8")))
tickets = [{"id": r["id"], "subject": r["subject"], "body": r["body"], "language": r["language"],
            "customer": {"plan": ["free", "standard", "premium", "enterprise"][i % 4], "vip": i % 10 == 0}}
           for i, r in enumerate(rows)]
with open(f"{out}/single.jsonl", "w") as f:
    for t in tickets:
        f.write(json.dumps(t) + "\n")
with open(f"{out}/batch.jsonl", "w") as f:
    for i in range(0, len(tickets) - 32, 32):
        f.write(json.dumps({"tickets": tickets[i:i + 32]}) + "\n")
with open(f"{out}/empty.jsonl", "w") as f:
    f.write("{}\n")
PY

"$BIN" serve --no-auth --addr "127.0.0.1:$PORT" --db "$OUT/decisions.db" 2>"$OUT/server.log" &
SERVER=$!
for _ in $(seq 100); do curl -sf "127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.1; done

run() { # name concurrency path bodies [method]
  local threads=$(( $2 < 2 ? 1 : 2 ))
  local result
  result=$(BODIES="$OUT/$4" TARGET_PATH="$3" METHOD="${5:-POST}" wrk -t"$threads" -c"$2" -d"$DURATION" -s bench/wrk/requests.lua \
    "http://127.0.0.1:$PORT$3" | tail -n 1)
  echo "$1|$2|$result"
}

{
  run "GET /healthz (baseline: HTTP only)" 16 /healthz empty.jsonl GET
  run "POST /v1/classify" 1 /v1/classify single.jsonl
  run "POST /v1/classify" 16 /v1/classify single.jsonl
  run "POST /v1/classify" 64 /v1/classify single.jsonl
  run "POST /v1/classify/batch (32 tickets)" 4 /v1/classify/batch batch.jsonl
} >"$OUT/results"
RSS=$(awk '/VmRSS/ {print $2}' "/proc/$SERVER/status")
HWM=$(awk '/VmHWM/ {print $2}' "/proc/$SERVER/status")

python3 - "$OUT/results" "$RSS" "$HWM" "$DURATION" <<'PY'
import json, sys
results, rss, hwm, duration = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
print(f"wrk, {duration} per row, on loopback; server and load generator share the 2 cores.\n")
print("| route | concurrency | requests/s | tickets/s | p50 ms | p99 ms | failed |")
print("|---|---|---|---|---|---|---|")
for line in open(results):
    name, concurrency, summary = line.rstrip("\n").split("|", 2)
    s = json.loads(summary)
    tickets = s["rps"] * (32 if "batch" in name else (0 if "healthz" in name else 1))
    shown = f"{tickets:,.0f}" if tickets else "-"
    print(f"| {name} | {concurrency} | {s['rps']:,.0f} | {shown} | {s['p50_ms']:.2f} | {s['p99_ms']:.2f} | {s['failed']} |")
print(f"\nServer RSS after the load: {rss / 1024:.0f} MiB (peak {hwm / 1024:.0f} MiB).")
PY
