#!/usr/bin/env bash
# The whole benchmark in one run, written to BENCHMARKS.md: quality of triage's default model
# and of the peers (majority class, scikit-learn TF-IDF + logistic regression, fastText) on the
# same dev splits; training time and peak memory; single-ticket latency; server throughput and
# memory of `triage serve` versus the scikit-learn model behind FastAPI + uvicorn (same load
# generator, same machine, same run); and scaling (training at 10k / 50k / 200k tickets,
# throughput versus batch size).
#   bash bench/run.sh                     # DATA=../shared/data DURATION=10s DEFAULT_RECIPE_SIZES="10000 50000 200000"
# Installs what it needs: wrk (Debian) and the peers' pinned Python packages (bench/.venv).
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-../shared/data}
DURATION=${DURATION:-10s}
DEFAULT_RECIPE_SIZES=${DEFAULT_RECIPE_SIZES:-10000 50000 200000}
OUT=bench/out/$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$OUT"
STARTED=$(date +%s)
log() { echo "[$(( $(date +%s) - STARTED ))s] $*" >&2; }

command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
log "building (release server and trainer, as README.md builds them)"
cargo build --release --quiet --bin triage
cargo build --release --quiet -p triage-training
TRAIN=target/release/triage-train
log "installing the peers' pinned packages"
bash bench/peers/setup.sh >&2
PY=bench/.venv/bin/python

TICKETS="--text subject,body --urgency priority --category queue --language language --id id"
SENTIMENT="--text subject,body --sentiment sentiment --language language --id id"

log "quality: triage's committed default model on the dev splits"
$TRAIN eval --model models/default --data "$DATA/tickets-multilang/dev.csv" $TICKETS --out "$OUT/triage-tickets.json" \
  --predictions "$OUT/triage-predictions-tickets.jsonl" >/dev/null
$TRAIN eval --model models/default --data "$DATA/support-sentiment/dev.csv" $SENTIMENT --out "$OUT/triage-sentiment.json" \
  --predictions "$OUT/triage-predictions-sentiment.jsonl" >/dev/null

log "training time and peak memory: the default recipe without its encoder (bench/encoder.sh times it with)"
/usr/bin/time -v -o "$OUT/train-time.txt" $TRAIN train \
  --data "$DATA/tickets-multilang/train.csv" "$DATA/support-sentiment/train.csv" \
  --eval "$DATA/tickets-multilang/dev.csv" "$DATA/support-sentiment/dev.csv" \
  --out "$OUT/model" --name default $TICKETS --sentiment sentiment >"$OUT/train.log" 2>&1

log "peers: quality, training time, latency, memory"
$PY bench/peers/quality.py --data-dir "$DATA" --out "$OUT/peers.json" --save-model "$OUT/peer-model" >"$OUT/peers.log" 2>&1

log "single-ticket latency (criterion)"
cargo bench --quiet -p triage --bench predict -- --warm-up-time 1 --measurement-time 3 >"$OUT/criterion.txt" 2>&1
cp target/criterion/predict_single_ticket/new/estimates.json "$OUT/criterion-predict.json"
cp target/criterion/analyse_single_ticket/new/estimates.json "$OUT/criterion-analyse.json"
cp target/criterion/decide_single_ticket_default_policy/new/estimates.json "$OUT/criterion-decide-default.json"
cp target/criterion/decide_single_ticket_baseline_policy/new/estimates.json "$OUT/criterion-decide-baseline.json"

log "server load: triage vs the peer service"
bash bench/load.sh --json >"$OUT/load-triage.jsonl"
bash bench/load.sh --json --peer "$OUT/peer-model" >"$OUT/load-peer.jsonl"

log "scaling: the default recipe (every head logistic regression) at $DEFAULT_RECIPE_SIZES tickets"
for size in $DEFAULT_RECIPE_SIZES; do
  $PY bench/resample.py "$DATA/tickets-multilang/train.csv" "$size" "$OUT/train-$size.csv"
  /usr/bin/time -v -o "$OUT/scale-default-$size.txt" $TRAIN train --data "$OUT/train-$size.csv" \
    --out "$OUT/scale-default-model-$size" $TICKETS >"$OUT/scale-default-$size.log" 2>&1
  rm -rf "$OUT/scale-default-model-$size" "$OUT/train-$size.csv"
done

log "priorities: the common-sense set and the dev split, the policy before and now"
OUT="$OUT" TRIAGE=target/release/triage DATA="$DATA" SPLICE= bash bench/priorities.sh

log "writing BENCHMARKS.md"
DEFAULT_RECIPE_SIZES="$DEFAULT_RECIPE_SIZES" $PY bench/compose.py "$OUT" "$(( $(date +%s) - STARTED ))" >BENCHMARKS.md
log "done in $(( $(date +%s) - STARTED ))s; raw results in $OUT"
