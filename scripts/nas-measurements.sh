#!/usr/bin/env bash
# The architecture-search measurements of the README, end to end (hours on a 2-core machine). Every step logs
# its results as it goes and resumes where it stopped when run again. Ground truth is read only by the steps
# that report (--truth) and by `gtn nas subset`, which picks the cells to measure; proxies and searches never
# see it.
#   bash scripts/nas-measurements.sh [teacher|subsets|rank|search|all]   (default all)
set -euo pipefail
cd "$(dirname "$0")/.."
TRUTH=${TRUTH:-../shared/data/nas-bench-201/cifar10-dev.csv}
OUT=${OUT:-runs/nas}
TEACHER=${TEACHER:-runs/nas-teacher}
GTN="node bin/gtn.js"
mkdir -p "$OUT"
step=${1:-all}

if [[ $step == teacher || $step == all ]]; then
  # A GTN whose learners are NB201 networks (C=8, N=1) with a random cell every outer iteration.
  [[ -f $TEACHER/checkpoints/last.gtnckpt ]] && $GTN train --resume "$TEACHER" --quiet || $GTN train --dataset cifar10 --preset nas --out "$TEACHER" --quiet
fi

if [[ $step == subsets || $step == all ]]; then
  # 200 cells spread over the accuracy range that the teacher never trained with (the rank measurements), and
  # the 2,000 cells with known accuracy as the search space (a search's result can then be looked up).
  [[ -f $OUT/eval200.txt ]] || $GTN nas subset --from "$TRUTH" --n 200 --seed 0 --exclude-teacher "$TEACHER" --out "$OUT/eval200.txt"
  [[ -f $OUT/pool.txt ]] || $GTN nas subset --from "$TRUTH" --n 2000 --seed 0 --out "$OUT/pool.txt"
fi

if [[ $step == rank || $step == all ]]; then
  R="$GTN nas rank --archs $OUT/eval200.txt --truth $TRUTH --json"
  $R --proxy "gtn:$TEACHER" --steps 16,32,64,128 --out "$OUT/rank-gtn.jsonl" > "$OUT/rank-gtn.json"
  $R --proxy real --steps 128,256,512,1200 --workers 2 --out "$OUT/rank-real.jsonl" > "$OUT/rank-real.json"
  for p in params synflow nwot; do $R --proxy $p --channels 16 --cells 1 --out "$OUT/rank-$p.jsonl" > "$OUT/rank-$p.json"; done
fi

if [[ $step == search || $step == all ]]; then
  # Random search and regularised evolution with the GTN and the real-data proxy, 30 minutes each on one core
  # (two searches at a time), three seeds, candidates restricted to the pool.
  for seed in 0 1 2; do
    for strategy in evolution random; do
      S="$GTN nas search --strategy $strategy --budget-minutes 30 --seed $seed --pool $OUT/pool.txt --truth $TRUTH --json"
      GTN_THREADS=1 $S --proxy "gtn:$TEACHER" --out "$OUT/search-$strategy-gtn-$seed" > "$OUT/search-$strategy-gtn-$seed.json" &
      GTN_THREADS=1 $S --proxy real --steps 512 --out "$OUT/search-$strategy-real-$seed" > "$OUT/search-$strategy-real-$seed.json" &
      wait
    done
  done
fi
