#!/usr/bin/env bash
# Load test on loopback, driven by wrk from a second process on the same machine.
#   bash bench/load.sh                    # triage serve (release, default model and policy,
#                                         # decision log on): markdown table on stdout
#   bash bench/load.sh --json             # the same as JSON lines, for bench/compose.py
#   bash bench/load.sh --json --peer DIR  # the scikit-learn peer service (bench/peers) on the
#                                         # pipelines saved in DIR, same requests
#   bash bench/load.sh --model DIR        # triage serve on another bundle (an encoder one)
# Rows: GET /healthz (the same run's baseline: HTTP only, no model), single-ticket classify
# at concurrency 1, 16 and 64, and for triage batches of 1, 8, 32 and 128 tickets; then the
# server's RSS after the load. DURATION=10s and PORT=18090 by default.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-10s}
PORT=${PORT:-18090}
JSON=false
PEER=""
MODEL=models/default
while [ $# -gt 0 ]; do
  case $1 in
    --json) JSON=true ;;
    --peer) PEER=$2; shift ;;
    --model) MODEL=$2; shift ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
OUT=$(mktemp -d)
SERVER=""
trap '[ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null; rm -rf "$OUT"' EXIT

command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }

python3 bench/bodies.py "$OUT"

if [ -n "$PEER" ]; then
  SYSTEM=peer
  (cd bench/peers && PEER_MODEL_DIR="$(cd "$OLDPWD" && realpath "$PEER")" \
    exec ../.venv/bin/python -m uvicorn service:app --workers 1 --port "$PORT" --log-level warning) 2>"$OUT/server.log" &
else
  SYSTEM=triage
  BIN=${TRIAGE_BIN:-target/release/triage}
  [ -n "${TRIAGE_BIN:-}" ] || cargo build --release --quiet --bin triage
  "$BIN" serve --no-auth --addr "127.0.0.1:$PORT" --db "$OUT/decisions.db" --model "$MODEL" 2>"$OUT/server.log" &
fi
SERVER=$!
for _ in $(seq 600); do curl -sf "127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done
curl -sf "127.0.0.1:$PORT/healthz" >/dev/null || { cat "$OUT/server.log" >&2; exit 1; }

run() { # name concurrency path bodies tickets-per-request [method]
  local threads=$(( $2 < 2 ? 1 : 2 ))
  local summary
  summary=$(BODIES="$OUT/$4" TARGET_PATH="$3" METHOD="${6:-POST}" wrk -t"$threads" -c"$2" -d"$DURATION" \
    -s bench/wrk/requests.lua "http://127.0.0.1:$PORT$3" | tail -n 1)
  echo "{\"system\": \"$SYSTEM\", \"name\": \"$1\", \"concurrency\": $2, \"tickets_per_request\": $5, \"wrk\": $summary}"
}

{
  run "GET /healthz (baseline: HTTP only)" 16 /healthz empty.jsonl 0 GET
  for concurrency in 1 16 64; do
    run "POST /v1/classify" "$concurrency" /v1/classify single.jsonl 1
  done
  if [ "$SYSTEM" = triage ]; then
    for size in 1 8 32 128; do
      run "POST /v1/classify/batch ($size tickets)" 2 /v1/classify/batch "batch-$size.jsonl" "$size"
    done
  fi
} >"$OUT/results"
echo "{\"system\": \"$SYSTEM\", \"rss_kib\": $(awk '/VmRSS/ {print $2}' "/proc/$SERVER/status"), \"peak_rss_kib\": $(awk '/VmHWM/ {print $2}' "/proc/$SERVER/status")}" >>"$OUT/results"

if $JSON; then
  cat "$OUT/results"
else
  python3 - "$OUT/results" "$DURATION" <<'PY'
import json, sys
lines = [json.loads(line) for line in open(sys.argv[1])]
print(f"wrk, {sys.argv[2]} per row, on loopback; server and load generator share the 2 cores.\n")
print("| route | concurrency | requests/s | tickets/s | p50 ms | p99 ms | failed |")
print("|---|---|---|---|---|---|---|")
for row in lines[:-1]:
    w = row["wrk"]
    tickets = f"{w['rps'] * row['tickets_per_request']:,.0f}" if row["tickets_per_request"] else "-"
    print(f"| {row['name']} | {row['concurrency']} | {w['rps']:,.0f} | {tickets} | {w['p50_ms']:.2f} | {w['p99_ms']:.2f} | {w['failed']} |")
memory = lines[-1]
print(f"\nServer RSS after the load: {memory['rss_kib'] / 1024:.0f} MiB (peak {memory['peak_rss_kib'] / 1024:.0f} MiB).")
PY
fi
