"""Request bodies for the load scripts, from the sample tickets (written for this project):
single.jsonl (one classify request per line), batch-N.jsonl for N in 1, 8, 32, 128 (batch
requests) and empty.jsonl. Usage: python3 bench/bodies.py OUT_DIR"""
import csv
import json
import sys

out = sys.argv[1]
rows = list(csv.DictReader(open("data/sample/tickets.csv", encoding="utf-8")))
tickets = [{"id": r["id"], "subject": r["subject"], "body": r["body"], "language": r["language"],
            "customer": {"plan": ["free", "standard", "premium", "enterprise"][i % 4], "vip": i % 10 == 0}}
           for i, r in enumerate(rows)]
with open(f"{out}/single.jsonl", "w") as f:
    for t in tickets:
        f.write(json.dumps(t) + "\n")
for size in (1, 8, 32, 128):
    with open(f"{out}/batch-{size}.jsonl", "w") as f:
        for start in range(0, len(tickets), size):
            chunk = (tickets + tickets)[start:start + size]
            f.write(json.dumps({"tickets": chunk}) + "\n")
with open(f"{out}/empty.jsonl", "w") as f:
    f.write("{}\n")
