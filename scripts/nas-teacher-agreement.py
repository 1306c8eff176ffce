#!/usr/bin/env python3
"""Choosing among teachers without ground truth: how well each teacher's GTN proxy agrees with a zero-cost proxy on
cells no teacher has seen (README, "What limits the GTN proxy": two learner seeds at 64 steps).

  python3 scripts/nas-teacher-agreement.py KEY REFERENCE.jsonl NAME=LOG[,LOG...] [NAME=LOG[,LOG...] ...]

KEY is the score to read from the teachers' logs (e.g. train-loss@64); REFERENCE a zero-cost proxy's `gtn nas rank
--out` log of the same cells (e.g. MeCo); each NAME=LOGS one teacher, its logs (one per learner seed) joined by their
mean rank. For every teacher: Spearman of that mean rank against the reference, and of each log alone, on the cells
every log scored (a teacher skips the cells it was meta-trained with). The last line names the teacher that agrees
best (`best: NAME`; scripts/nas-teacher-pick.sh reads it). Reads no truth.
"""
import importlib.util
import sys
from pathlib import Path

# ranks, Spearman and the log reader live in nas-rank-analysis.py (one place); its name has a hyphen, so load it by path.
_spec = importlib.util.spec_from_file_location("rank_analysis", Path(__file__).with_name("nas-rank-analysis.py"))
ra = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ra)


def main() -> None:
    args = sys.argv[1:]
    if len(args) < 3 or any("=" not in a for a in args[2:]):
        sys.exit(__doc__)
    key, reference = args[0], ra.load(args[1])
    teachers = {}
    for a in args[2:]:
        name, logs = a.split("=", 1)
        teachers[name] = [(p, ra.load(p)) for p in logs.split(",")]
    common = {c for c, s in reference.items() if "score" in s}
    for name, logs in teachers.items():
        for path, cells in logs:
            have = {c for c, s in cells.items() if key in s}
            if not have:
                sys.exit(f"nas-teacher-agreement.py: {path} has no score {key}")
            common &= have
    cells = sorted(common)
    if len(cells) < 3:
        sys.exit(f"nas-teacher-agreement.py: only {len(cells)} cells are scored in every log")
    ref = [reference[c]["score"] for c in cells]
    print(f"{len(cells)} cells scored in every log; Spearman against {args[1]}:")
    agreement = {}
    for name, logs in teachers.items():
        scores = [[cells_[c][key] for c in cells] for _, cells_ in logs]
        alone = " / ".join(f"{ra.spearman(s, ref):.3f}" for s in scores)
        agreement[name] = ra.spearman(ra.rank_sum(scores), ref)
        print(f"  {name:12s} mean rank of {len(logs)} log(s) {agreement[name]:.3f}   each alone {alone}")
    print(f"best: {max(agreement, key=lambda n: agreement[n])}")


if __name__ == "__main__":
    main()
