#!/usr/bin/env python3
"""Reporting only: what a proxy's rank logs say against the ground truth, beyond `gtn nas rank --truth`.

  python3 scripts/nas-rank-analysis.py TRUTH.csv LOG.jsonl [LOG2.jsonl ...] [--bias STEPS:SCORE] [--vote KEY1,KEY2,...]

LOG is a `gtn nas rank --out` log (one JSON line per cell, with its scores per step count). For every log and every
score it holds (e.g. train-loss@128): Spearman and Kendall against the 200-epoch test accuracy, top-10% precision,
and the mean true accuracy of the 10% best-scored cells (what decides a search). With several logs of the same cells
(e.g. one per --proxy-seed): how well the logs agree with each other, and the ranking of their mean rank (an
ensemble). --bias KEY: how the proxy's error (its rank minus the true rank, as fractions of n) correlates with each
op's count in the cell and with an input->output skip; for the first log. --vote: the mean rank of one score per
log, in the logs' order (e.g. `--vote train-loss@128,score` for a GTN log and a zero-cost log), on the cells where
every one of them has its score. No proxy or search reads the truth.
"""
import csv
import json
import sys
from itertools import combinations


def ranks(xs):
    order = sorted(range(len(xs)), key=lambda i: xs[i])
    r = [0.0] * len(xs)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and xs[order[j + 1]] == xs[order[i]]:
            j += 1
        for k in range(i, j + 1):
            r[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return r


def pearson(a, b):
    n = len(a)
    ma, mb = sum(a) / n, sum(b) / n
    cov = sum((x - ma) * (y - mb) for x, y in zip(a, b))
    va = sum((x - ma) ** 2 for x in a) ** 0.5
    vb = sum((y - mb) ** 2 for y in b) ** 0.5
    return cov / (va * vb) if va and vb else float("nan")


def rank_sum(score_lists):
    """One score per cell from several: the sum of each list's ranks (the mean rank, up to a constant)."""
    return [sum(r) for r in zip(*(ranks(s) for s in score_lists))]


def spearman(a, b):
    return pearson(ranks(a), ranks(b))


def kendall(a, b):  # tau-b
    conc = disc = ta = tb = 0
    for i, j in combinations(range(len(a)), 2):
        da, db = a[i] - a[j], b[i] - b[j]
        if da == 0 and db == 0:
            continue
        if da == 0:
            ta += 1
        elif db == 0:
            tb += 1
        elif (da > 0) == (db > 0):
            conc += 1
        else:
            disc += 1
    d = ((conc + disc + ta) * (conc + disc + tb)) ** 0.5
    return (conc - disc) / d if d else float("nan")


def top(score, acc):
    k = max(1, len(acc) // 10)
    best = sorted(range(len(acc)), key=lambda i: -score[i])[:k]
    truth_best = set(sorted(range(len(acc)), key=lambda i: -acc[i])[:k])
    return len(truth_best.intersection(best)) / k, sum(acc[i] for i in best) / k


def load(path):
    cells = {}
    with open(path) as f:
        for line in f:
            e = json.loads(line)
            if "arch" not in e:
                continue
            steps = e.get("bySteps") or e.get("by_steps") or []
            scores = {f"{s}@{b['steps']}": v for b in steps for s, v in b["scores"].items() if v is not None}
            if not steps and e.get("score") is not None:  # a zero-cost proxy: one score
                scores["score"] = e["score"]
            cells[e["arch"]] = scores
    return cells


def features(cell):
    ops = [edge.split("~")[0] for node in cell.strip("|").split("|+|") for edge in node.strip("|").split("|")]
    counts = {op: ops.count(op) for op in ("nor_conv_3x3", "nor_conv_1x1", "skip_connect", "avg_pool_3x3", "none")}
    counts["input->output skip"] = int(ops[3] == "skip_connect")  # edges: 1<-0; 2<-0, 2<-1; 3<-0, 3<-1, 3<-2
    return counts


def main() -> None:
    args = sys.argv[1:]
    bias = None
    if "--bias" in args:
        i = args.index("--bias")
        bias = args[i + 1]
        del args[i : i + 2]
    vote = None
    if "--vote" in args:
        i = args.index("--vote")
        vote = args[i + 1].split(",")
        del args[i : i + 2]
    if len(args) < 2:
        sys.exit(__doc__)
    with open(args[0], newline="") as f:
        truth = {r["arch_str"]: float(r["test_accuracy_200ep"]) for r in csv.DictReader(f)}
    logs = [(p, load(p)) for p in args[1:]]
    if vote and len(vote) != len(logs):
        sys.exit(f"--vote names {len(vote)} score(s) for {len(logs)} log(s): give one per log, in their order")
    common = set.intersection(*(set(c) for _, c in logs)) & set(truth)
    archs = sorted(common)
    acc = [truth[a] for a in archs]
    keys = sorted(set.union(*(set(c[a]) for _, c in logs for a in archs)), key=lambda k: (int(k.split("@")[1]) if "@" in k else 0, k))
    print(f"{len(archs)} cells in every log and in the truth; best true accuracy among them {max(acc):.2f}%")
    for path, cells in logs:
        print(path)
        for k in keys:
            scored = [a for a in archs if k in cells[a]]  # a proxy that failed on a cell (e.g. nwot on an empty network) has no score
            if len(scored) < 2:
                continue
            s = [cells[a][k] for a in scored]
            t = [truth[a] for a in scored]
            p, m = top(s, t)
            print(f"  {k:16s} spearman {spearman(s, t):6.3f}  kendall {kendall(s, t):6.3f}  top-10% precision {p:.2f}  mean true acc of its top 10% {m:.2f}%  n={len(scored)}")
    if len(logs) > 1:
        print(f"agreement between the {len(logs)} logs, and their mean rank as one score:")
        for k in keys:
            if any(k not in c[a] for _, c in logs for a in archs):
                continue
            scores = [[c[a][k] for a in archs] for _, c in logs]
            agree = [spearman(x, y) for x, y in combinations(scores, 2)]
            mean_rank = rank_sum(scores)
            p, m = top(mean_rank, acc)
            print(f"  {k:16s} log vs log spearman {sum(agree) / len(agree):.3f}  mean rank: spearman {spearman(mean_rank, acc):.3f}  top-10% precision {p:.2f}  mean true acc of its top 10% {m:.2f}%")
    if vote:
        for (path, c), k in zip(logs, vote):
            if not any(k in c[a] for a in archs):
                sys.exit(f"--vote {k}: {path} has no such score")
        voted = [a for a in archs if all(k in c[a] for (_, c), k in zip(logs, vote))]
        t = [truth[a] for a in voted]
        mean_rank = rank_sum([[c[a][k] for a in voted] for (_, c), k in zip(logs, vote)])
        p, m = top(mean_rank, t)
        print(f"vote {' + '.join(vote)}: spearman {spearman(mean_rank, t):.3f}  kendall {kendall(mean_rank, t):.3f}  top-10% precision {p:.2f}  mean true acc of its top 10% {m:.2f}%  n={len(voted)}")
    if bias:
        cells = logs[0][1]
        if not any(bias in cells[a] for a in archs):
            sys.exit(f"--bias {bias}: {logs[0][0]} has no such score; it has {', '.join(keys)}")
        archs = [a for a in archs if bias in cells[a]]
        acc = [truth[a] for a in archs]
        n = len(archs)
        err = [(p - t) / n for p, t in zip(ranks([cells[a][bias] for a in archs]), ranks(acc))]
        feats = [features(a) for a in archs]
        print(f"{logs[0][0]} {bias}: correlation of (proxy rank - true rank) with, and Spearman of the truth with:")
        for name in feats[0]:
            v = [f[name] for f in feats]
            print(f"  {name:18s} error {pearson(v, err):+.2f}   truth {spearman(v, acc):+.2f}")


if __name__ == "__main__":
    main()
