"""What any scorer can reach on the tickets-multilang dev split against its machine urgency labels.

The priority targets (dangerous misses at most 5%, over-escalation at most 10%) are measured on
dev against labels a generator assigned: high accepts P1/P2, low P3/P4, medium either. So for
those two rates only the order in which a scorer ranks the high and the low tickets matters:
placing every ticket above a threshold at P1/P2 is the best any policy can do with that score.
This script sweeps every threshold of several scorers and reports the fewest dangerous misses
reachable at over-escalation <= 10%, the fewest over-escalations at dangerous misses <= 5%, and
the area under the high-vs-low ROC curve. It must not tune anything: it only measures.

    python3 bench/dev_ceiling.py OUT     # DATA=../shared/data TRIAGE=target/release/triage

Writes OUT/dev-ceiling.json (read by bench/priorities.py) and prints the same rows.
"""
import csv
import json
import os
import pathlib
import subprocess
import sys

import numpy as np
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict

# The peer's recipe and the text it reads are bench/peers/quality.py's, not a copy of them.
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent / "peers"))
import quality as peers  # noqa: E402

LEVEL_RANK = {"P1": 1, "P2": 2, "P3": 3, "P4": 4}
MAX_OVER, MAX_MISSES = 0.10, 0.05


def reachable(score, labels):
    """Best rates over every threshold 'score above t goes to P1/P2'; higher score = more severe."""
    high, low = score[labels == "high"], score[labels == "low"]
    best_misses, best_over = 1.0, 1.0
    for t in np.unique(np.r_[score, np.inf]):
        misses, over = (high < t).mean(), (low >= t).mean()
        if over <= MAX_OVER:
            best_misses = min(best_misses, misses)
        if misses <= MAX_MISSES:
            best_over = min(best_over, over)
    auc = roc_auc_score(np.r_[np.ones(len(high)), np.zeros(len(low))], np.r_[high, low])
    return {"auc": round(float(auc), 3), "misses_at_max_over": round(float(best_misses), 3),
            "over_at_max_misses": round(float(best_over), 3)}


def high_minus_low(probabilities, classes):
    classes = list(classes)
    return probabilities[:, classes.index("high")] - probabilities[:, classes.index("low")]


def triage_scores(dev_path, dev_ids, triage, out):
    """triage's urgency head (p(high) - p(low)) and its final priority, from `triage classify`
    on the same rows the peer reads (those with text and a label), in the same order."""
    rows = {row["id"]: row for row in csv.DictReader(open(dev_path, newline="", encoding="utf-8"))}
    requests = os.path.join(out, "dev-classify-requests.jsonl")
    with open(requests, "w") as f:
        for row in (rows[i] for i in dev_ids):
            f.write(json.dumps({"subject": row.get("subject") or "", "body": row.get("body") or ""}) + "\n")
    lines = subprocess.run([triage, "classify", requests], check=True, capture_output=True, text=True).stdout.splitlines()
    head, final = [], []
    for response in map(json.loads, lines):
        top = {t["label"]: t["score"] for t in response["predictions"]["urgency"]["top"]}
        head.append(top.get("high", 0.0) - top.get("low", 0.0))
        final.append(-LEVEL_RANK[response["priority"]["level"]])
    return np.array(head), np.array(final, dtype=float)


def main(out):
    data = os.environ.get("DATA", "../shared/data")
    triage = os.environ.get("TRIAGE", "target/release/triage")
    train_x, train_y, _, _ = peers.load(f"{data}/tickets-multilang/train.csv", "priority")
    dev_path = f"{data}/tickets-multilang/dev.csv"
    dev_x, dev_y, dev_ids, _ = peers.load(dev_path, "priority")
    labels = np.array(dev_y)
    head, final = triage_scores(dev_path, dev_ids, triage, out)
    rows = [("triage's final priority (default model and policy)", reachable(final, labels)),
            ("triage's urgency head, p(high) - p(low)", reachable(head, labels))]
    peer = peers.sklearn_pipeline().fit(train_x, train_y)
    rows.append(("the peer (TF-IDF, logistic regression) trained on train",
                 reachable(high_minus_low(peer.predict_proba(dev_x), peer.classes_), labels)))
    pooled_x, pooled_y = train_x + dev_x, train_y + dev_y
    folds = StratifiedKFold(5, shuffle=True, random_state=0)
    cross_validated = cross_val_predict(peers.sklearn_pipeline(), pooled_x, pooled_y, cv=folds, method="predict_proba")
    score = high_minus_low(cross_validated, sorted(set(pooled_y)))[len(train_x):]
    rows.append(("the same, 5-fold cross-validated on train and dev together (dev rows' out-of-fold scores)",
                 reachable(score, labels)))
    report = [{"scorer": name, **numbers} for name, numbers in rows]
    json.dump(report, open(os.path.join(out, "dev-ceiling.json"), "w"), indent=1)
    for r in report:
        print(r)


if __name__ == "__main__":
    main(sys.argv[1])
