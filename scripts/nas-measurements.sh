#!/usr/bin/env bash
# The architecture-search measurements of the README, end to end (hours on a 2-core machine). Every step logs
# its results as it goes and resumes where it stopped when run again. Ground truth is read only by the steps
# that report (--truth) and by `gtn nas subset`, which picked the cells to measure; proxies and searches never
# see it.
#   bash scripts/nas-measurements.sh [rank|search|all]   (default all)
# The teacher is the CIFAR-10 cpu preset's (README, "Meta-training on CIFAR-10"):
#   npx gtn train --dataset cifar10 --preset cpu --out runs/cifar10-cpu
# The cell lists are in docs/nas/: dev40.txt (40 cells on which the proxies' settings were looked at) and
# eval100.txt (100 other cells, the measurement), made by
#   gtn nas subset --from $TRUTH --n 100 --seed 1 --exclude docs/nas/dev40.txt --out eval100.txt
# and put in a fixed random order (shuf --random-source=<(yes)) so that any prefix spans the accuracy range.
set -euo pipefail
cd "$(dirname "$0")/.."
TRUTH=${TRUTH:-../shared/data/nas-bench-201/cifar10-dev.csv}
OUT=${OUT:-runs/nas}
TEACHER=${TEACHER:-runs/cifar10-cpu}
EVAL=${EVAL:-docs/nas/eval100.txt}
GTN="./bin/gtn.js"
mkdir -p "$OUT"
step=${1:-all}
# Every proxy trains or scores the same network: NB201 with C = 8 channels and N = 1 cell per stage. The GTN
# proxy's N can be set apart (GTN_CELLS=2: deeper networks on the same teacher data rank better; README).
NET="--channels 8 --cells 1"
GTN_NET="--channels 8 --cells ${GTN_CELLS:-1}"

if [[ $step == rank || $step == all ]]; then
  R="$GTN nas rank --archs $EVAL --truth $TRUTH --json $NET"
  $R $GTN_NET --proxy "gtn:$TEACHER" --steps 16,32,64,128 --out "$OUT/rank-gtn.jsonl" > "$OUT/rank-gtn.json"
  for p in params synflow nwot meco; do $R --proxy $p --out "$OUT/rank-$p.jsonl" > "$OUT/rank-$p.json"; done
  # MeCo on NB201's own network (C = 16, N = 5), as its authors score it: under a second per cell
  $GTN nas rank --archs $EVAL --truth $TRUTH --json --channels 16 --cells 5 --proxy meco --out "$OUT/rank-meco-full.jsonl" > "$OUT/rank-meco-full.json"
  # The most expensive: ~80 s per cell on one core. The README's figure covers the cells it had scored.
  $R --proxy real --steps 128,256,512,1200 --out "$OUT/rank-real.jsonl" > "$OUT/rank-real.json"
fi

if [[ $step == search || $step == all ]]; then
  # Regularised evolution and random search with the GTN proxy (128 steps, training-loss score) and the real-data
  # proxy (512 steps, validation accuracy) at equal wall time, one core each, two searches at a time, over
  # the 2,000 cells of known accuracy (so that what a search finds can be looked up).
  MIN=${MIN:-10}
  [[ -f $OUT/pool.txt ]] || $GTN nas subset --from "$TRUTH" --n 2000 --seed 0 --out "$OUT/pool.txt"
  for seed in ${SEEDS:-0 1 2}; do
    for strategy in ${STRATEGIES:-evolution random}; do
      S="$GTN nas search --strategy $strategy --budget-minutes $MIN --seed $seed --pool $OUT/pool.txt --truth $TRUTH --json $NET"
      GTN_THREADS=1 $S $GTN_NET --proxy "gtn:$TEACHER" --steps 128 --score train-loss --out "$OUT/search-$strategy-gtn-$seed" > "$OUT/search-$strategy-gtn-$seed.json" &
      GTN_THREADS=1 $S --proxy real --steps 512 --out "$OUT/search-$strategy-real-$seed" > "$OUT/search-$strategy-real-$seed.json" &
      wait
    done
  done
fi
