#!/usr/bin/env python3
"""Reporting only: for each search folder, what the search returned and what it had seen.

  python3 scripts/nas-search-summary.py TRUTH.csv runs/nas30/search-*/

Per search: evaluations, the true 200-epoch test accuracy of the returned cell (the best-scored one), the best true
accuracy among all the cells it scored (what a perfect proxy would have returned from the same evaluations), and
the returned cell's rank by true accuracy among them. Searches never read the truth; this script does, afterwards.
"""
import csv
import json
import os
import sys


def main() -> None:
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    truth = {}
    with open(sys.argv[1], newline="") as f:
        for row in csv.DictReader(f):
            truth[row["arch_str"]] = float(row["test_accuracy_200ep"])
    print("search | evaluations | returned cell (true test acc) | best cell it scored | rank of returned")
    for folder in sys.argv[2:]:
        path = os.path.join(folder, "evaluations.jsonl")
        if not os.path.exists(path):
            continue
        scored = {}
        with open(path) as f:
            for line in f:
                e = json.loads(line)
                if e.get("event") == "result" and e.get("score") is not None:
                    scored[e["arch"]] = e["score"]
        if not scored:
            continue
        best = max(scored, key=lambda a: scored[a])
        known = sorted((truth[a] for a in scored if a in truth), reverse=True)
        acc = truth.get(best)
        rank = known.index(acc) + 1 if acc is not None else None
        print(f"{folder.rstrip('/')} | {len(scored)} | {acc} | {known[0] if known else None} | {rank} of {len(known)}")


if __name__ == "__main__":
    main()
