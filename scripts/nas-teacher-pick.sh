#!/usr/bin/env bash
# Draws of pm120's recipe differ by more than the rank bar's margin (README, "What limits the GTN proxy", item "Two
# learner seeds"), so make several and keep the one whose GTN proxy agrees best with MeCo on random cells that no
# teacher trained with. No ground truth enters.
#   bash scripts/nas-teacher-pick.sh SEED [SEED ...]
# Each SEED is a draw of `nas-teacher.sh pm120 SEED` (4: runs/nas-teacher-pm120; else runs/nas-teacher-pm120-sSEED),
# made here if it is not there yet (about 17 min each on 2 cores; an hour more for the first, which builds the
# earlier stages). The check: runs/nasrank/sel100.txt, 100 random networks outside every evaluation, selection and
# target list; MeCo on NB201's own network (N = 5, C = 16); each teacher's two learners (proxy seeds 0 and 1, two
# 1-thread processes) at 64 steps, N = 2, C = 8, training loss, joined by mean rank (about 7 min per teacher).
# Prints each teacher's agreement and writes the chosen run folder to runs/nasrank/sel100-pick.txt.
# Every step resumes where it stopped when the script is run again.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -eq 0 ]; then
  echo "usage: bash scripts/nas-teacher-pick.sh SEED [SEED ...]   (e.g. 4 9 10: three draws of pm120)" >&2
  exit 2
fi
for seed in "$@"; do
  [[ "$seed" =~ ^[0-9]+$ ]] || { echo "nas-teacher-pick.sh: SEED must be a whole number, got '$seed'" >&2; exit 2; }
done
GTN="node --single-threaded-gc bin/gtn.js"
for seed in "$@"; do bash scripts/nas-teacher.sh pm120 "$seed"; done

source scripts/nas-pools.sh # POOL_EXCLUDE, draw_meco_pools, pm120_name
draw_meco_pools # drawn by nas-teacher.sh already: kept as they are, and excluded below
sel=runs/nasrank/sel100
[ -f "$sel.txt" ] || $GTN nas subset --n 100 --seed 101 "${POOL_EXCLUDE[@]}" --out "$sel.txt"
$GTN nas rank --archs "$sel.txt" --proxy meco --channels 16 --cells 5 --include-seen --out "$sel-meco.jsonl" > /dev/null

teachers=()
for seed in "$@"; do
  name=$(pm120_name "$seed")
  run=runs/nas-teacher-$name
  pids=()
  for s in 0 1; do # a rerun skips the cells a log holds already
    GTN_THREADS=1 $GTN nas rank --archs "$sel.txt" --proxy "gtn:$run" --steps 64 --score train-loss --val-images 0 \
      --channels 8 --cells 2 --proxy-seed "$s" --out "$sel-$name-s$s.jsonl" > /dev/null &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p"; done # a failed log stops the script (set -e) before the check reads it
  teachers+=("$name=$sel-$name-s0.jsonl,$sel-$name-s1.jsonl")
done
report=$(python3 scripts/nas-teacher-agreement.py train-loss@64 "$sel-meco.jsonl" "${teachers[@]}")
echo "$report"
best=$(echo "$report" | tail -n 1 | sed 's/^best: //')
echo "runs/nas-teacher-$best" > "$sel-pick.txt.tmp" && mv "$sel-pick.txt.tmp" "$sel-pick.txt"
echo "picked runs/nas-teacher-$best (written to $sel-pick.txt)"
