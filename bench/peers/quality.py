"""Peers of triage's text model, trained and evaluated on the same train / dev splits.

    bench/.venv/bin/python bench/peers/quality.py [--data-dir ../shared/data] [--out peers.json]
        [--save-model DIR] [--latency-calls 1000] [--skip-fasttext]

Heads and files (the splits triage's default model is trained and evaluated on):
  urgency   = column `priority`   of tickets-multilang/{train,dev}.csv
  category  = column `queue`      of tickets-multilang/{train,dev}.csv
  sentiment = column `sentiment`  of support-sentiment/{train,dev}.csv
Text = the non-empty, trimmed `subject` and `body` joined by "\\n" (as triage's trainer and server
build it); rows with no text or no label are skipped, as triage's trainer skips them.

Systems (one model per head, each trained on that head's train file only):
  majority  the most frequent training label, predicted for every row.
  sklearn   the data READMEs' baseline recipe: TF-IDF word 1-2 grams + TF-IDF char_wb 3-5 grams
            (each sublinear tf, min_df 2, concatenated) -> LogisticRegression(C=4,
            class_weight="balanced"); max_iter 1000 (the README does not say; the default 100
            stops before convergence).
  fasttext  supervised, the READMEs' settings: dim 64, word bigrams, subwords 3-5, 25 epochs,
            no class weighting; lr 0.5 (the README does not say: fastText's default 0.1 at 25
            epochs never leaves the majority class on the 3.6k ticket rows); text lowercased on one
            line; one thread and a fixed seed, so runs repeat exactly.

Metrics: accuracy and macro-F1 over the classes present in the dev truth (the definition of
triage's training/src/metrics.rs), and fit seconds per head. For sklearn also: peak RSS of this
process after training the three pipelines (fastText runs later, so it is not counted) and the
median latency of single-ticket predict_proba calls, in process, after a warm-up: per head and
for all three heads of one ticket (what triage's `predict_single_ticket` bench measures).

--save-model DIR writes DIR/{urgency,sentiment,category}.joblib (the fitted pipelines) and
DIR/manifest.json, which bench/peers/service.py serves.
"""
import argparse
import collections
import csv
import json
import os
import pathlib
import platform
import resource
import statistics
import sys
import tempfile
import time

import joblib
import numpy as np
import scipy
import sklearn
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score
from sklearn.pipeline import FeatureUnion, Pipeline

REPO = pathlib.Path(__file__).resolve().parents[2]
# head -> (data set directory, label column); the order is the order of BENCHMARKS.md's columns.
HEADS = {
    "urgency": ("tickets-multilang", "priority"),
    "sentiment": ("support-sentiment", "sentiment"),
    "category": ("tickets-multilang", "queue"),
}
# The dev numbers the data READMEs publish for their baseline (macro-F1, accuracy), to show
# whether the recipe was reproduced.
README_BASELINE = {"urgency": (0.453, 0.481), "sentiment": (0.777, 0.821), "category": (0.431, 0.454)}
# The 3-sentence ticket of triage's benches/predict.rs, so both latencies are for the same text.
LATENCY_TICKET = ("Checkout down\nSince 9:00 every payment fails with error 502 for all our users. "
                  "We lose orders every minute, please escalate. Order 48213, account ops@example.com.")
FASTTEXT_PARAMS = dict(dim=64, wordNgrams=2, minn=3, maxn=5, epoch=25, lr=0.5, loss="softmax",
                       thread=1, seed=0, verbose=0)


def log(message):
    print(f"[{time.monotonic() - STARTED:6.1f}s] {message}", file=sys.stderr, flush=True)


def model_text(subject, body):
    """subject and body as triage's model reads them: non-empty trimmed parts joined by a newline."""
    return "\n".join(part.strip() for part in (subject or "", body or "") if part and part.strip())


def load(path, label_column):
    texts, labels, ids, skipped = [], [], [], 0
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            text = model_text(row.get("subject"), row.get("body"))
            label = (row.get(label_column) or "").strip()
            if not text or not label:
                skipped += 1
                continue
            texts.append(text)
            labels.append(label)
            ids.append(row.get("id"))
    return texts, labels, ids, skipped


def scores(truth, predicted):
    present = sorted(set(truth))
    return {
        "macro_f1": float(f1_score(truth, predicted, labels=present, average="macro", zero_division=0)),
        "accuracy": float(accuracy_score(truth, predicted)),
    }


def sklearn_pipeline():
    """The data READMEs' baseline: TF-IDF word 1-2 + char_wb 3-5 grams -> balanced LR, C=4."""
    return Pipeline([
        ("features", FeatureUnion([
            ("word", TfidfVectorizer(analyzer="word", ngram_range=(1, 2), sublinear_tf=True, min_df=2)),
            ("char", TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True, min_df=2)),
        ])),
        ("classifier", LogisticRegression(C=4, class_weight="balanced", max_iter=1000)),
    ])


def peak_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def median_ms(call, calls, warmup):
    for _ in range(warmup):
        call()
    times = []
    for _ in range(calls):
        start = time.perf_counter_ns()
        call()
        times.append(time.perf_counter_ns() - start)
    return statistics.median(times) / 1e6


def run_majority(data):
    results = {}
    for head, (train_x, train_y, dev_x, dev_y) in data.items():
        start = time.perf_counter()
        label = collections.Counter(train_y).most_common(1)[0][0]
        seconds = time.perf_counter() - start
        results[head] = {**scores(dev_y, [label] * len(dev_y)), "train_seconds": seconds, "label": label}
        log(f"majority  {head:9s} macro-F1 {results[head]['macro_f1']:.3f} accuracy {results[head]['accuracy']:.3f} ({label})")
    return results


def run_sklearn(data, latency_calls):
    results, pipelines = {}, {}
    for head, (train_x, train_y, dev_x, dev_y) in data.items():
        pipeline = sklearn_pipeline()
        start = time.perf_counter()
        pipeline.fit(train_x, train_y)
        seconds = time.perf_counter() - start
        predicted = pipeline.predict(dev_x)
        features = pipeline.named_steps["features"]
        results[head] = {**scores(dev_y, predicted), "train_seconds": seconds,
                         "features": sum(len(v.vocabulary_) for _, v in features.transformer_list),
                         "n_iter": int(pipeline.named_steps["classifier"].n_iter_.max()),
                         "readme_baseline": dict(zip(("macro_f1", "accuracy"), README_BASELINE[head])),
                         "dev_predicted": [str(label) for label in predicted]}
        pipelines[head] = pipeline
        log(f"sklearn   {head:9s} macro-F1 {results[head]['macro_f1']:.3f} accuracy {results[head]['accuracy']:.3f} "
            f"(README {README_BASELINE[head][0]:.3f} / {README_BASELINE[head][1]:.3f}); fit {seconds:.1f}s, "
            f"{results[head]['features']:,} features, {results[head]['n_iter']} LR iterations")
    train_peak = peak_rss_mib()

    warmup = max(1, latency_calls // 10)
    one = [LATENCY_TICKET]
    per_head = {}
    for head, pipeline in pipelines.items():
        per_head[head] = median_ms(lambda p=pipeline: p.predict_proba(one), latency_calls, warmup)
        results[head]["predict_latency_ms_median"] = per_head[head]
    all_heads = median_ms(lambda: [p.predict_proba(one) for p in pipelines.values()], latency_calls, warmup)
    log(f"sklearn   single-ticket predict_proba, median of {latency_calls}: all three heads {all_heads:.3f} ms "
        f"({', '.join(f'{h} {ms:.3f}' for h, ms in per_head.items())}); peak RSS after training {train_peak:.0f} MiB")
    summary = {
        "train_peak_rss_mib": train_peak,
        "predict_latency_ms_median": all_heads,
        "predict_latency_ms_median_per_head": per_head,
        "latency_calls": latency_calls,
        "latency_warmup_calls": warmup,
        "latency_what": "predict_proba([ticket]) of the three pipelines in turn, one 3-sentence ticket "
                        "(the text of triage's benches/predict.rs), in this process",
        "recipe": "FeatureUnion(TfidfVectorizer(word, 1-2, sublinear_tf, min_df=2), "
                  "TfidfVectorizer(char_wb, 3-5, sublinear_tf, min_df=2)) -> "
                  "LogisticRegression(C=4, class_weight=balanced, max_iter=1000)",
    }
    return results, pipelines, summary


def fasttext_line(text):
    """fastText reads one example per line and splits on whitespace: lowercase, one line."""
    return " ".join(text.lower().split())


def fasttext_label(label):
    return "__label__" + label.replace(" ", "_")


def run_fasttext(data):
    import fasttext  # fasttext-wheel; absent -> the caller records why

    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for head, (train_x, train_y, dev_x, dev_y) in data.items():
            names = {fasttext_label(label): label for label in set(train_y)}
            train_file = os.path.join(tmp, f"{head}.txt")
            with open(train_file, "w", encoding="utf-8") as f:
                for text, label in zip(train_x, train_y):
                    f.write(f"{fasttext_label(label)} {fasttext_line(text)}\n")
            start = time.perf_counter()
            model = fasttext.train_supervised(input=train_file, **FASTTEXT_PARAMS)
            seconds = time.perf_counter() - start
            # A list goes through multilinePredict; predict() on one string breaks under NumPy 2.
            labels, _ = model.predict([fasttext_line(t) for t in dev_x], k=1)
            predicted = [names[row[0]] for row in labels]
            results[head] = {**scores(dev_y, predicted), "train_seconds": seconds}
            log(f"fasttext  {head:9s} macro-F1 {results[head]['macro_f1']:.3f} accuracy {results[head]['accuracy']:.3f}; "
                f"fit {seconds:.1f}s")
    return results


def save(pipelines, directory, data_dir):
    directory.mkdir(parents=True, exist_ok=True)
    for head, pipeline in pipelines.items():
        joblib.dump(pipeline, directory / f"{head}.joblib")
    manifest = {
        "heads": {head: {"labels": [str(c) for c in p.classes_], "file": f"{head}.joblib",
                         "trained_on": f"{HEADS[head][0]}/train.csv", "label_column": HEADS[head][1]}
                  for head, p in pipelines.items()},
        "text": "non-empty trimmed subject and body joined by \\n",
        "data_dir": str(data_dir),
        "versions": versions(),
    }
    (directory / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    log(f"saved the pipelines to {directory}")


def versions():
    found = {"python": platform.python_version(), "scikit-learn": sklearn.__version__,
             "numpy": np.__version__, "scipy": scipy.__version__, "joblib": joblib.__version__}
    try:
        from importlib.metadata import version
        found["fasttext-wheel"] = version("fasttext-wheel")
    except Exception:  # noqa: BLE001 - not installed
        pass
    return found


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", type=pathlib.Path, default=REPO.parent / "shared" / "data",
                        help="folder with tickets-multilang/ and support-sentiment/ (default: ../shared/data "
                             "relative to the repository root)")
    parser.add_argument("--out", type=pathlib.Path, help="write the results here as JSON (default: stdout)")
    parser.add_argument("--save-model", type=pathlib.Path, help="save the fitted sklearn pipelines here")
    parser.add_argument("--latency-calls", type=int, default=1000)
    parser.add_argument("--skip-fasttext", action="store_true")
    args = parser.parse_args()

    data, rows, dev_ids = {}, {}, {}
    for head, (dataset, column) in HEADS.items():
        train_x, train_y, _, train_skipped = load(args.data_dir / dataset / "train.csv", column)
        dev_x, dev_y, dev_ids[head], dev_skipped = load(args.data_dir / dataset / "dev.csv", column)
        data[head] = (train_x, train_y, dev_x, dev_y)
        rows[head] = {"train": len(train_y), "dev": len(dev_y), "skipped_train": train_skipped,
                      "skipped_dev": dev_skipped, "file": f"{dataset}/{{train,dev}}.csv", "column": column}
        log(f"{head}: {len(train_y)} train / {len(dev_y)} dev rows from {dataset} ({column}); "
            f"skipped {train_skipped} / {dev_skipped}")
    rss_after_load = peak_rss_mib()

    systems = {"majority": run_majority(data)}
    systems["sklearn"], pipelines, sklearn_summary = run_sklearn(data, args.latency_calls)
    sklearn_summary["peak_rss_mib_before_training"] = rss_after_load
    if args.save_model:
        save(pipelines, args.save_model, args.data_dir)
    if args.skip_fasttext:
        systems["fasttext"] = {"error": "skipped (--skip-fasttext)"}
    else:
        try:
            systems["fasttext"] = run_fasttext(data)
        except ImportError as e:
            systems["fasttext"] = {"error": f"the fasttext package does not import ({e}); see bench/peers/README.md"}
            log(systems["fasttext"]["error"])

    result = {
        "systems": systems,
        "sklearn": sklearn_summary,
        "fasttext_params": {k: v for k, v in FASTTEXT_PARAMS.items() if k != "verbose"},
        "rows": rows,
        "dev_rows": {head: {"ids": dev_ids[head], "truth": data[head][3]} for head in data},
        "data_dir": str(args.data_dir),
        "versions": versions(),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "seconds_total": time.monotonic() - STARTED,
        "peak_rss_mib_process": peak_rss_mib(),
    }
    text = json.dumps(result, indent=2) + "\n"
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)
    else:
        sys.stdout.write(text)
    log(f"done in {result['seconds_total']:.0f}s")


STARTED = time.monotonic()
if __name__ == "__main__":
    main()
