"""Writes BENCHMARKS.md (to stdout) from one bench/run.sh output directory.
Usage: compose.py OUT_DIR SECONDS_TAKEN. Every number printed comes from a file in OUT_DIR."""
import datetime
import json
import os
import pathlib
import platform
import re
import sys

import numpy as np

import priorities
import timing

out = pathlib.Path(sys.argv[1])
seconds_taken = int(sys.argv[2])
HEADS = ["urgency", "sentiment", "category"]
PLAIN_DEFAULT_RECIPE_SIZES = [10000, 50000, 200000]
default_recipe_sizes = [int(size) for size in os.environ.get("DEFAULT_RECIPE_SIZES", "10000 50000 200000").split()]


def load(name):
    return json.loads((out / name).read_text())


def time_v(name):
    return timing.time_v(out / name)


def jsonl(name):
    return [json.loads(line) for line in (out / name).read_text().splitlines() if line.strip()]


def ratio(a, b):
    return f"{a / b:.2f}x" if b else "-"


triage_quality = {}
for name in ("triage-tickets.json", "triage-sentiment.json"):
    for head, metrics in load(name)["report"]["heads"].items():
        triage_quality[head] = metrics
peers = load("peers.json")
systems = {"triage (default model)": {h: triage_quality[h] for h in HEADS}}
for system, label in (("sklearn", "scikit-learn TF-IDF + LR"), ("fasttext", "fastText"), ("majority", "majority class")):
    entry = peers["systems"].get(system, {})
    if "error" not in entry:
        systems[label] = entry


def minutes(seconds):
    return f"{int(seconds) // 60} min {int(seconds) % 60} s"


command = "bash bench/run.sh"
if default_recipe_sizes != PLAIN_DEFAULT_RECIPE_SIZES:
    command = f'DEFAULT_RECIPE_SIZES="{" ".join(map(str, default_recipe_sizes))}" {command}'

print("# Benchmarks\n")
print(f"Produced by `{command}` on {datetime.date.today().isoformat()} in {minutes(seconds_taken)}, "
      f"on this {platform.machine()} machine with 2 cores; triage and every peer ran in "
      f"the same run, on the same machine, on the same train / dev splits of `../shared/data` "
      f"(tickets-multilang for urgency and category, support-sentiment for sentiment). Raw results: "
      f"`{out}` (not committed).\n")

print("## Quality on the dev splits\n")
print("Macro-F1 (accuracy). triage is the committed `models/default`; each peer is trained by "
      "`bench/peers/quality.py` on the same training files. The best macro-F1 per head is in bold.\n")
print("| system | " + " | ".join(HEADS) + " |")
print("|---|" + "---|" * len(HEADS))
best = {h: max(s[h]["macro_f1"] for s in systems.values() if h in s) for h in HEADS}
for name, heads in systems.items():
    cells = []
    for h in HEADS:
        if h not in heads:
            cells.append("-")
            continue
        f1 = f"{heads[h]['macro_f1']:.3f}"
        cells.append(f"**{f1}** ({heads[h]['accuracy']:.3f})" if heads[h]["macro_f1"] == best[h] else f"{f1} ({heads[h]['accuracy']:.3f})")
    print(f"| {name} | " + " | ".join(cells) + " |")
for system, entry in peers["systems"].items():
    if "error" in entry:
        print(f"\n{system}: not run: {entry['error']}")
sklearn = peers["systems"]["sklearn"]
behind = [h for h in HEADS if triage_quality[h]["macro_f1"] < sklearn[h]["macro_f1"]]
print("\nWhere scikit-learn wins: " + (", ".join(f"{h} ({triage_quality[h]['macro_f1']:.3f} vs {sklearn[h]['macro_f1']:.3f})" for h in behind) if behind else "nowhere") + ".")


def macro_f1(truth, predicted, classes):
    """Macro-F1 over the classes present in `truth` (as the peers' scores), from integer codes."""
    tp = np.bincount(truth[truth == predicted], minlength=classes)
    support = np.bincount(truth, minlength=classes)
    called = np.bincount(predicted, minlength=classes)
    present = support > 0
    f1 = 2 * tp[present] / (support[present] + called[present])
    return f1.mean()


def paired_bootstrap(truth, ours, theirs, resamples=2000, seed=17):
    """Macro-F1 difference ours - theirs on the same rows, and its 95% bootstrap interval."""
    names = sorted(set(truth) | set(ours) | set(theirs))
    code = {name: i for i, name in enumerate(names)}
    t, a, b = (np.array([code[x] for x in column]) for column in (truth, ours, theirs))
    rng = np.random.default_rng(seed)
    diffs = []
    for _ in range(resamples):
        i = rng.integers(0, len(t), len(t))
        diffs.append(macro_f1(t[i], a[i], len(names)) - macro_f1(t[i], b[i], len(names)))
    diffs = np.array(diffs)
    return macro_f1(t, a, len(names)) - macro_f1(t, b, len(names)), np.percentile(diffs, [2.5, 97.5]), (diffs >= 0).mean()


triage_rows = {}
for name in ("triage-predictions-tickets.jsonl", "triage-predictions-sentiment.jsonl"):
    for row in jsonl(name):
        triage_rows.setdefault(row["head"], {})[row["id"]] = row
dev_sizes = {h: len(peers["dev_rows"][h]["ids"]) for h in HEADS}
print(f"\nHow sure is each difference? The dev sets are small ({dev_sizes['category']:,} ticket rows, "
      f"{dev_sizes['sentiment']:,} sentiment rows), so a "
      "paired bootstrap (2,000 resamples of the dev rows, both systems scored on the same resample) gives "
      "the interval of triage's macro-F1 minus scikit-learn's:\n")
print("| head | dev rows | triage - scikit-learn | 95% interval | resamples where triage >= scikit-learn |")
print("|---|---|---|---|---|")
for h in HEADS:
    dev = peers["dev_rows"][h]
    ours = [triage_rows[h][i]["predicted"] for i in dev["ids"]]
    assert [triage_rows[h][i]["truth"] for i in dev["ids"]] == dev["truth"], f"{h}: dev rows differ"
    difference, (low, high), share = paired_bootstrap(dev["truth"], ours, sklearn[h]["dev_predicted"])
    print(f"| {h} | {len(ours)} | {difference:+.4f} | {low:+.3f} to {high:+.3f} | {share:.0%} |")

train_wall, train_rss = time_v("train-time.txt")
predict_ms = load("criterion-predict.json")["median"]["point_estimate"] / 1e6
analyse_ms = load("criterion-analyse.json")["median"]["point_estimate"] / 1e6
load_triage = jsonl("load-triage.jsonl")
load_peer = jsonl("load-peer.jsonl")


def rows(load_rows, name, concurrency):
    return next(r for r in load_rows if r.get("name") == name and r.get("concurrency") == concurrency)


memory_triage = load_triage[-1]
memory_peer = load_peer[-1]
print("\n## Speed and memory: triage vs the peer\n")
print("The peer is the scikit-learn model above: trained by the same script, served by FastAPI + uvicorn "
      "(one worker, one process, as triage is one process) with the same request bodies; load from wrk "
      "(`bench/load.sh`) on loopback, sharing the 2 cores with the server. triage serves every request "
      "through the whole pipeline: model, evidence, policy, SLA and the SQLite decision log commit.\n")
# Each measure: its label, triage's and the peer's values as shown, the two numbers compared
# (with the ratio's note), and whether a higher number is better.
measures = []
peer_train = sum(sklearn[h]["train_seconds"] for h in HEADS)
peer_train_rss = peers["sklearn"]["train_peak_rss_mib"]
peer_predict_ms = peers["sklearn"]["predict_latency_ms_median"]
measures.append(("training, all three heads (s)", f"{train_wall:.1f}", f"{peer_train:.1f}", train_wall, peer_train, "", False))
measures.append(("training peak memory (MiB)", f"{train_rss:.0f}", f"{peer_train_rss:.0f}", train_rss, peer_train_rss, "", False))
measures.append(("single-ticket predict, in process, median (ms)", f"{predict_ms:.3f}", f"{peer_predict_ms:.3f}",
                 predict_ms, peer_predict_ms, "", False))
for concurrency in (1, 16, 64):
    t = rows(load_triage, "POST /v1/classify", concurrency)["wrk"]
    p = rows(load_peer, "POST /v1/classify", concurrency)["wrk"]
    measures.append((f"server requests/s at concurrency {concurrency}", f"{t['rps']:,.0f}", f"{p['rps']:,.0f}",
                     t["rps"], p["rps"], "", True))
    measures.append((f"p50 / p99 latency at concurrency {concurrency} (ms)", f"{t['p50_ms']:.2f} / {t['p99_ms']:.2f}",
                     f"{p['p50_ms']:.2f} / {p['p99_ms']:.2f}", t["p99_ms"], p["p99_ms"], " (p99)", False))
measures.append(("server RSS after the load (MiB)", f"{memory_triage['rss_kib'] / 1024:.0f}", f"{memory_peer['rss_kib'] / 1024:.0f}",
                 memory_triage["rss_kib"], memory_peer["rss_kib"], "", False))
health_t = rows(load_triage, "GET /healthz (baseline: HTTP only)", 16)["wrk"]["rps"]
health_p = rows(load_peer, "GET /healthz (baseline: HTTP only)", 16)["wrk"]["rps"]
measures.append(("baseline: GET /healthz requests/s at 16", f"{health_t:,.0f}", f"{health_p:,.0f}", health_t, health_p, "", True))


def better(ours, theirs, higher_is_better):
    """The system a measure favours; the peer in bold, so that its wins stand out."""
    if ours == theirs:
        return "even"
    return "triage" if (ours > theirs) == higher_is_better else "**peer**"


print("| measure | triage | peer | triage / peer | better |")
print("|---|---|---|---|---|")
for label, ours_shown, theirs_shown, ours, theirs, note, higher_is_better in measures:
    print(f"| {label} | {ours_shown} | {theirs_shown} | {ratio(ours, theirs)}{note} | {better(ours, theirs, higher_is_better)} |")
peer_wins = [label for label, _, _, ours, theirs, _, higher in measures if better(ours, theirs, higher) == "**peer**"]
print(f"\nWhere the peer wins: {'; '.join(peer_wins) if peer_wins else 'nowhere'}.")
if any(label.startswith("training") for label in peer_wins):
    print("\ntriage's training chooses each head's form and C by cross-validation (its solves are counted under "
          f"Scaling below), where the peer fits one fixed recipe once per head: `{peers['sklearn']['recipe']}`.")
for system, load_rows in (("triage", load_triage), ("peer", load_peer)):
    failed = [f"{r['wrk']['failed']} at concurrency {r['concurrency']} ({r['name']})" for r in load_rows if r.get("wrk", {}).get("failed")]
    print(f"\nFailed requests of {system} (non-2xx, socket errors, or wrk's 2 s timeout): {'; '.join(failed) if failed else 'none'}.")

c16_t = rows(load_triage, "POST /v1/classify", 16)["wrk"]
c16_p = rows(load_peer, "POST /v1/classify", 16)["wrk"]
print("\n### Targets\n")
print("| target | measured | met |")
print("|---|---|---|")
for h in HEADS:
    met = triage_quality[h]["macro_f1"] >= sklearn[h]["macro_f1"]
    print(f"| {h} macro-F1 >= scikit-learn | {triage_quality[h]['macro_f1']:.3f} vs {sklearn[h]['macro_f1']:.3f} | {'yes' if met else 'no'} |")
print(f"| >= 5x the peer's requests/s at concurrency 16 | {ratio(c16_t['rps'], c16_p['rps'])} | {'yes' if c16_t['rps'] >= 5 * c16_p['rps'] else 'no'} |")
print(f"| <= 1/3 of the peer's memory | {ratio(memory_triage['rss_kib'], memory_peer['rss_kib'])} | {'yes' if 3 * memory_triage['rss_kib'] <= memory_peer['rss_kib'] else 'no'} |")
print(f"| >= 3,000 requests/s at concurrency 16, p99 < 20 ms, RSS < 300 MB | {c16_t['rps']:,.0f}/s, p99 {c16_t['p99_ms']:.1f} ms, {memory_triage['rss_kib'] / 1024:.0f} MiB | {'yes' if c16_t['rps'] >= 3000 and c16_t['p99_ms'] < 20 and memory_triage['rss_kib'] < 300 * 1024 else 'no'} |")
print(f"| single-ticket prediction < 2 ms median | {predict_ms:.3f} ms | {'yes' if predict_ms < 2 else 'no'} |")
print(f"| evidence < 0.25x of prediction time | {(analyse_ms - predict_ms) / predict_ms:.2f}x | {'yes' if analyse_ms - predict_ms < 0.25 * predict_ms else 'no'} |")
print(f"| training the default model < 5 min | {train_wall:.0f} s | {'yes' if train_wall < 300 else 'no'} |")

print("\n## Latency in process (criterion)\n")
print("`cargo bench -p triage --bench predict` (release). The same run's table:\n")
print("```")
for line in (out / "criterion.txt").read_text().splitlines():
    if "time:" in line:
        print(line.strip())
print("```\n")
print(f"Evidence (exact per-phrase shares for three heads) adds {analyse_ms - predict_ms:.3f} ms to a "
      f"{predict_ms:.3f} ms prediction: {(analyse_ms - predict_ms) / predict_ms:.2f}x.")

print("\n## triage server: throughput by batch size\n")
print("`POST /v1/classify/batch` at concurrency 2; one request carries N tickets.\n")
print("| tickets per request | requests/s | tickets/s | p50 ms | p99 ms |")
print("|---|---|---|---|---|")
for r in load_triage:
    if r.get("name", "").startswith("POST /v1/classify/batch"):
        w = r["wrk"]
        print(f"| {r['tickets_per_request']} | {w['rps']:,.0f} | {w['rps'] * r['tickets_per_request']:,.0f} | {w['p50_ms']:.2f} | {w['p99_ms']:.2f} |")

print("\n## Scaling: training time and memory by data size\n")


def scaling_table(prefix, sizes, how_c_was_chosen):
    """Prints one row per training size from `{prefix}-{size}.txt`, with a column saying how C was
    chosen (`how_c_was_chosen`: size -> text); returns (size, wall, rss) per size."""
    columns = ["training rows", "wall (s)", "peak RSS (MiB)", "s per 1k rows", "how C was chosen"]
    print("| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    rows = []
    for size in sizes:
        wall, rss = time_v(f"{prefix}-{size}.txt")
        rows.append((size, wall, rss))
        cells = [f"{size:,}", f"{wall:.1f}", f"{rss:.0f}", f"{wall / size * 1000:.2f}", how_c_was_chosen(size)]
        print("| " + " | ".join(cells) + " |")
    return rows


print("The tickets-multilang training file resampled (with replacement, seeded) to each size, then "
      "`triage-train train` (release build) with the default recipe: every head a logistic regression, its "
      "form (multinomial or naive-Bayes one-vs-rest) and C (1 / 4 / 16) chosen together, then one fit on all "
      "rows. The embedding path (`--linear-heads none`) is no longer the default and is not timed here.\n")


def how_c_was_chosen(size):
    log = (out / f"scale-default-{size}.log").read_text()
    how = "held-out validation rows" if "held-out validation rows" in log else "3-fold cross-validation"
    samples = sorted({f"{int(kept):,} of {int(total):,}" for kept, total in
                      re.findall(r"C scored by fits on (\d+) of (\d+) training rows", log)})
    if samples:
        how += f", scored by fits on {' / '.join(samples)} training rows"
    return how


recipe = scaling_table("scale-default", default_recipe_sizes, how_c_was_chosen)
(d0, dw0, dr0), (d1, dw1, dr1) = recipe[0], recipe[-1]
print(f"\nThe default model's own training ({peers['rows']['category']['train']:,} tickets plus "
      f"{peers['rows']['sentiment']['train']:,} sentiment rows) is in the speed table: {train_wall:.0f} s. "
      f"From {d0:,} to {d1:,} rows ({d1 / d0:.0f}x the data) this recipe's time grew {dw1 / dw0:.1f}x and its "
      f"peak memory {dr1 / dr0:.1f}x. Each L-BFGS evaluation is one pass over every feature of every row, so "
      f"a solve costs iterations x rows x features per row x classes. Up to 4,999 validation rows per head, "
      f"the form and C are chosen by 3-fold cross-validation: 3 folds x 2 forms x 3 values of C, warm-started "
      f"along C, then the final fit, about 19 solves per head. The one-vs-rest form solves all its classes' "
      f"binary problems as one (one logit per class, each with its own logistic loss), so its pass costs "
      f"what a multinomial pass does and its rows are held once. From 5,000 validation rows (`--linear-holdout-rows`), the "
      f"validation rows alone score the fits on the training rows, about 7 solves per head. Past 20,000 "
      f"training rows per head (`--linear-selection-rows`) those fits learn from every n-th training "
      f"row of each class, at most 20,000, so only the shipped fit, warm-started from the chosen one, grows with the data. "
      f"A head with at most 50,000 labeled rows (`--recall-rows`) also chooses its recall "
      f"similarity: each row that scored C searches the others for its nearest neighbour through an "
      f"inverted index of word-level features, a cost that grows with rows x neighbours sharing a word, "
      f"faster than linearly; past that many rows the head remembers nothing and the step is skipped. "
      f"Each solve stops once its gradient's L2 norm is below 1e-4 (`--linear-tolerance`; scikit-learn "
      f"stops when the largest component is). The heads are fitted side by side, and each holds its rows "
      f"in tiles of consecutive rows, column by column (6 bytes per feature entry; a tile holds at most "
      f"512 KiB of logits, so they stay in cache), next to the featurised tickets (8 bytes per entry), so memory is linear "
      f"in the rows. Resampling repeats tickets, so a repeated ticket can sit in both a training and a "
      f"held-out fold: the selection scores of these runs mean nothing, only their time and memory are "
      f"reported.")

print("\n## Evidence faithfulness\n")
print("`triage-train eval` deletes each ticket's top evidence phrase and, separately, a random run "
      "of as many words, and measures how much the predicted label's calibrated score drops "
      "(mean over the dev tickets where the head had a phrase pushing towards its label).\n")
print("| dev set | head | tickets | drop, top phrase | drop, random phrase | top hurts more |")
print("|---|---|---|---|---|---|")
for name, label in (("triage-tickets.json", "tickets-multilang"), ("triage-sentiment.json", "support-sentiment")):
    for head, f in load(name)["faithfulness"].items():
        print(f"| {label} | {head} | {f['tickets']} | {f['top_phrase_drop']:.3f} | {f['random_phrase_drop']:.3f} | {100 * f['top_wins']:.0f}% |")

print()
print(priorities.section(str(out)))
