#!/usr/bin/env bash
# Priorities a support lead would trust: `triage check-priorities` on the common-sense set
# (data/commonsense/tickets.jsonl), the symptom-phrased tuning set (tuning.jsonl), the lookalikes
# (lookalikes.jsonl), the fresh batches (fresh.jsonl), the independently written holdout
# (holdout.jsonl) and the tickets-multilang
# dev split, with the default policy before this work (bench/baseline-policy.toml) and now (config/policy.toml), both on the committed
# default model. Writes the raw reports to OUT and the "Priorities" section of BENCHMARKS.md.
#   bash bench/priorities.sh              # DATA=../shared/data OUT=bench/out/<now> TRIAGE=target/release/triage
# bench/run.sh calls it with its own OUT and TRIAGE and SPLICE= (compose.py then writes the
# section with the rest); alone, the section of SPLICE (BENCHMARKS.md) is rewritten in place.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-../shared/data}
OUT=${OUT:-bench/out/$(date -u +%Y%m%dT%H%M%SZ)}
TRIAGE=${TRIAGE:-target/release/triage}
SPLICE=${SPLICE-BENCHMARKS.md}
mkdir -p "$OUT"
[ -x "$TRIAGE" ] || cargo build --release --quiet --bin triage
for policy in baseline:bench/baseline-policy.toml current:config/policy.toml; do
  name=${policy%%:*} file=${policy#*:}
  for set in tickets tuning lookalikes fresh holdout; do
    "$TRIAGE" check-priorities --policy "$file" "data/commonsense/$set.jsonl" --json "$OUT/priorities-$set-$name.json" \
      --disagreements >"$OUT/priorities-$set-$name.txt"
  done
  "$TRIAGE" check-priorities --policy "$file" "$DATA/tickets-multilang/dev.csv" --json "$OUT/priorities-dev-$name.json" \
    >"$OUT/priorities-dev-$name.txt"
done
# What any scorer could reach against dev's machine labels, for reading the dev rows above.
DATA="$DATA" TRIAGE="$TRIAGE" python3 bench/dev_ceiling.py "$OUT" >"$OUT/dev-ceiling.txt"
# The policy's own cost per ticket, both policies in one criterion run (bench/run.sh's
# criterion run measures them too and copies the same files).
if [ -n "$SPLICE" ]; then
  cargo bench --quiet -p triage --bench predict -- decide_single_ticket --warm-up-time 1 --measurement-time 3 >"$OUT/criterion-decide.txt" 2>&1
fi
for policy in default baseline; do
  src=target/criterion/decide_single_ticket_${policy}_policy/new/estimates.json
  [ -f "$src" ] && cp "$src" "$OUT/criterion-decide-$policy.json"
done
[ -z "$SPLICE" ] || python3 bench/priorities.py "$OUT" "$SPLICE"
