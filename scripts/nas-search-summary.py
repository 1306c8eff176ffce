#!/usr/bin/env python3
"""Reporting only: for each search folder, what the search returned and what it had seen.

  python3 scripts/nas-search-summary.py TRUTH.csv runs/nas30/search-*/

Per search: evaluations, the true 200-epoch test accuracy of the returned cell (the best-scored one), the best true
accuracy among all the cells it scored (what a perfect proxy would have returned from the same evaluations), and
the returned cell's rank by true accuracy among them. Searches never read the truth; this script does, afterwards.
A search with a vote of proxies (records with `parts`) returns the best by the members' mean rank over all it scored.
"""
import csv
import importlib.util
import json
import os
import sys

# nas-rank-analysis.py's rank_sum (the vote, up to a monotone map: same order as rankStats.ts meanRanks), loaded
# once by path (its name has a hyphen)
_spec = importlib.util.spec_from_file_location("nas_rank_analysis", os.path.join(os.path.dirname(__file__), "nas-rank-analysis.py"))
_ra = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_ra)
rank_sum = _ra.rank_sum


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
        parts = []  # (arch, members' scores) of every result, in order: the search votes over all its records
        with open(path) as f:
            for line in f:
                e = json.loads(line)
                if e.get("event") != "result":
                    continue
                if e.get("parts") is not None:
                    parts.append((e["arch"], [float("-inf") if x is None else x for x in e["parts"]]))
                elif e.get("score") is not None:
                    scored[e["arch"]] = e["score"]
        best = None
        if parts:
            v = rank_sum([list(col) for col in zip(*(p for _, p in parts))])
            at = max(range(len(v)), key=lambda i: (v[i], -i))  # the first of equal votes, as the search
            best = parts[at][0]
            scored = {a: max(v[i] for i in range(len(v)) if parts[i][0] == a) for a, _ in parts}
        if not scored:
            continue
        best = best or max(scored, key=lambda a: scored[a])
        known = sorted((truth[a] for a in scored if a in truth), reverse=True)
        acc = truth.get(best)
        rank = known.index(acc) + 1 if acc is not None else None
        print(f"{folder.rstrip('/')} | {len(scored)} | {acc} | {known[0] if known else None} | {rank} of {len(known)}")


if __name__ == "__main__":
    main()
