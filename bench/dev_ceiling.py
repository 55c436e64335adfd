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
import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
from scipy.sparse import hstack
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict

LEVEL_RANK = {"P1": 1, "P2": 2, "P3": 3, "P4": 4}
MAX_OVER, MAX_MISSES = 0.10, 0.05


def texts(frame):
    return (frame.subject.fillna("") + "\n" + frame.body.fillna("")).tolist()


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


def peer_features(fit_rows, *other):
    """The data README's baseline features: word 1-2-grams and char_wb 3-5-grams, sublinear tf."""
    vectorisers = [TfidfVectorizer(analyzer="word", ngram_range=(1, 2), sublinear_tf=True, min_df=2),
                   TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True, min_df=2)]
    fitted = hstack([v.fit_transform(texts(fit_rows)) for v in vectorisers]).tocsr()
    return [fitted] + [hstack([v.transform(texts(o)) for v in vectorisers]).tocsr() for o in other]


def high_minus_low(probabilities, classes):
    classes = list(classes)
    return probabilities[:, classes.index("high")] - probabilities[:, classes.index("low")]


def triage_scores(dev, triage, out):
    """triage's urgency head (p(high) - p(low)) and its final priority, from `triage classify`."""
    requests = os.path.join(out, "dev-classify-requests.jsonl")
    with open(requests, "w") as f:
        for row in dev.itertuples():
            f.write(json.dumps({"subject": row.subject if isinstance(row.subject, str) else "", "body": row.body}) + "\n")
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
    train = pd.read_csv(f"{data}/tickets-multilang/train.csv")
    dev = pd.read_csv(f"{data}/tickets-multilang/dev.csv")
    labels = dev.priority.to_numpy()
    head, final = triage_scores(dev, triage, out)
    rows = [("triage's final priority (default model and policy)", reachable(final, labels)),
            ("triage's urgency head, p(high) - p(low)", reachable(head, labels))]
    x_train, x_dev = peer_features(train, dev)
    peer = LogisticRegression(C=4, class_weight="balanced", max_iter=3000).fit(x_train, train.priority)
    rows.append(("the peer (TF-IDF, logistic regression) trained on train",
                 reachable(high_minus_low(peer.predict_proba(x_dev), peer.classes_), labels)))
    pooled = pd.concat([train, dev], ignore_index=True)
    (x_pooled,) = peer_features(pooled)
    folds = StratifiedKFold(5, shuffle=True, random_state=0)
    cross_validated = cross_val_predict(LogisticRegression(C=4, class_weight="balanced", max_iter=3000),
                                        x_pooled, pooled.priority, cv=folds, method="predict_proba")
    score = high_minus_low(cross_validated, sorted(pooled.priority.unique()))[len(train):]
    rows.append(("the same, 5-fold cross-validated on train and dev together (dev rows' out-of-fold scores)",
                 reachable(score, labels)))
    report = [{"scorer": name, **numbers} for name, numbers in rows]
    json.dump(report, open(os.path.join(out, "dev-ceiling.json"), "w"), indent=1)
    for r in report:
        print(r)


if __name__ == "__main__":
    main(sys.argv[1])
