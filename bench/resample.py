"""Resamples a CSV of tickets to N rows (with replacement, seeded), for the scaling runs.
Usage: resample.py IN.csv N OUT.csv. Ids get a suffix so every row stays distinct."""
import csv
import random
import sys

source, size, target = sys.argv[1], int(sys.argv[2]), sys.argv[3]
with open(source, newline="", encoding="utf-8") as f:
    reader = csv.DictReader(f)
    fields = reader.fieldnames
    rows = list(reader)
rng = random.Random(17)
with open(target, "w", newline="", encoding="utf-8") as f:
    writer = csv.DictWriter(f, fieldnames=fields)
    writer.writeheader()
    for i in range(size):
        row = dict(rng.choice(rows))
        if "id" in row:
            row["id"] = f"{row['id']}-r{i}"
        writer.writerow(row)
