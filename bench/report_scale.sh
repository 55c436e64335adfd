#!/usr/bin/env bash
# `triage report` over a large synthetic decision log (issue 23's scale check):
#   DECISIONS=1000000 bash bench/report_scale.sh    # prints the timing lines for BENCHMARKS.md
# Seeds a SQLite log with the sample tickets classified by `triage serve` (real requests and
# responses), then copies them (fresh ids, times spread over the 30 days before now) into
# DECISIONS decisions, each with a first response and, for half, a solution; every tenth has a
# reviewer's correction (the log's triggers fill `decision_facts` as for any insert). Then
# times `triage report --db` over the 30 days three times with /usr/bin/time, and the reports
# page of `triage serve` on that log: the page's four requests once the server has computed
# the default period in the background, and a "Recompute now" (`fresh=true`).
set -euo pipefail
cd "$(dirname "$0")/.."
DECISIONS=${DECISIONS:-100000}
PORT=${PORT:-18095}
OUT=$(mktemp -d)
SERVER=""
trap '[ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null; rm -rf "$OUT"' EXIT
BIN=${TRIAGE_BIN:-target/release/triage}
[ -n "${TRIAGE_BIN:-}" ] || cargo build --release --quiet --bin triage
python3 bench/bodies.py "$OUT"
"$BIN" serve --no-auth --addr "127.0.0.1:$PORT" --db "$OUT/decisions.db" >/dev/null 2>"$OUT/server.log" &
SERVER=$!
for _ in $(seq 600); do curl -sf "127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done
while read -r body; do
  curl -sf "127.0.0.1:$PORT/v1/classify" -H 'content-type: application/json' -d "$body" >/dev/null
done <"$OUT/single.jsonl"
kill "$SERVER"; wait "$SERVER" 2>/dev/null || true; SERVER=""

python3 - "$OUT/decisions.db" "$DECISIONS" <<'PY'
import datetime, json, random, sqlite3, sys, uuid
path, total = sys.argv[1], int(sys.argv[2])
db = sqlite3.connect(path)
templates = db.execute("SELECT ticket_id, priority, queue, needs_review, model_name, model_version, policy_version, request, response FROM decisions").fetchall()
db.execute("DELETE FROM decisions")
now = datetime.datetime.now(datetime.timezone.utc)
fmt = lambda t: t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
rng = random.Random(7)
decisions, events, feedback = [], [], []
for i in range(total):
    ticket_id, priority, queue, review, model, mversion, pversion, request, response = templates[i % len(templates)]
    decision_id = str(uuid.UUID(int=rng.getrandbits(128)))
    at = now - datetime.timedelta(seconds=rng.uniform(60, 30 * 86400))
    body = json.loads(response)
    body["decision_id"] = decision_id
    body["sla"]["started_at"] = fmt(at)
    decisions.append((decision_id, ticket_id, fmt(at), priority, queue, review, model, mversion, pversion, request, json.dumps(body)))
    answered = at + datetime.timedelta(minutes=rng.uniform(5, 600))
    steps = [("first_response", answered)]
    if i % 2 == 0:
        steps.append(("solved", answered + datetime.timedelta(hours=rng.uniform(1, 48))))
    for seq, (kind, when) in enumerate(steps, 1):
        event = {"event_id": f"e{seq}", "at": fmt(when), "kind": kind, "actor": "agent"}
        events.append((decision_id, seq, f"e{seq}", kind, fmt(when), fmt(when), json.dumps(event)))
    if i % 10 == 0:
        label = body["predictions"]["category"]["label"] if "category" in body["predictions"] else "x"
        feedback.append((decision_id, 1, fmt(answered), "ana", None, None, json.dumps({"category": label})))
    if len(decisions) >= 20000 or i == total - 1:
        db.executemany("INSERT INTO decisions VALUES (?,?,?,?,?,?,?,?,?,?,?)", decisions)
        db.executemany("INSERT INTO events VALUES (?,?,?,?,?,?,?)", events)
        db.executemany("INSERT INTO feedback (decision_id, version, created_at, reviewer, note, priority, labels) VALUES (?,?,?,?,?,?,?)", feedback)
        db.commit()
        decisions, events, feedback = [], [], []
print(f"{total} decisions from {len(templates)} classified sample tickets", file=sys.stderr)
PY
SIZE=$(du -m "$OUT/decisions.db" | cut -f1)
for run in 1 2 3; do
  /usr/bin/time -v "$BIN" report --db "$OUT/decisions.db" >"$OUT/report.md" 2>"$OUT/time-$run.txt"
done
python3 - "$OUT" "$DECISIONS" "$SIZE" <<'PY'
import sys
sys.path.insert(0, "bench")
from timing import time_v
runs = [time_v(f"{sys.argv[1]}/time-{run}.txt") for run in (1, 2, 3)]
walls = ", ".join(f"{wall:.1f}" for wall, _ in runs)
print(f"triage report over {int(sys.argv[2]):,} decisions (SQLite log of {sys.argv[3]} MB, 30 days): {walls} s wall in three runs, peak RSS {max(rss for _, rss in runs):,.0f} MiB")
PY

"$BIN" serve --no-auth --log-format json --addr "127.0.0.1:$PORT" --db "$OUT/decisions.db" >/dev/null 2>"$OUT/server.log" &
SERVER=$!
for _ in $(seq 1200); do grep -q "computed the reports page's default period" "$OUT/server.log" && break; sleep 0.1; done
page=0
for path in /reports /reports/reports.js /review/review.css /v1/reports; do
  took=$(curl -sf -o /dev/null -w '%{time_total}' "127.0.0.1:$PORT$path")
  page=$(python3 -c "print($page + $took)")
done
fresh=$(curl -sf -o /dev/null -w '%{time_total}' "127.0.0.1:$PORT/v1/reports?fresh=true")
background=$(grep -o '"seconds":[0-9.]*' "$OUT/server.log" | head -1 | cut -d: -f2)
peak=$(awk '/VmHWM/ {print int($2 / 1024)}' "/proc/$SERVER/status")
printf 'reports page on the same log: its 4 requests in %.3f s (the default period computed in the background in %.1f s); Recompute now (fresh=true): %.1f s; server peak RSS %s MiB\n' "$page" "$background" "$fresh" "$peak"
