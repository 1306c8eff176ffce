#!/usr/bin/env bash
# A NAS teacher taught by its own vote (README, "What limits the GTN proxy"): each round draws a fresh pool of
# random networks, scores it with the vote of the current teacher's GTN proxy (N = 2, 128 steps, training loss)
# and nwot, and meta-trains the next teacher from the current one with the pairwise order term on that pool.
# No ground truth and no real-data training enter: the targets are the teacher's own proxy and a zero-cost one.
#   bash scripts/nas-bootstrap-teacher.sh START_RUN ROUNDS [OUT_PREFIX]
# e.g. bash scripts/nas-bootstrap-teacher.sh runs/nas-teacher-p500t 3 runs/nas-teacher-pv
# (this README's rounds: pv1, pv1b, pv1c). Every step resumes where it stopped when run again.
set -euo pipefail
cd "$(dirname "$0")/.."
START=${1:?start teacher run}
ROUNDS=${2:?number of rounds}
PREFIX=${3:-runs/nas-teacher-pv}
GTN="node --single-threaded-gc bin/gtn.js"
SEEDS=(41 43 47 53 59 61)
NAMES=(pool240 poolb240 poolc240 poold240 poole240 poolf240)
SUFFIX=("1" "1b" "1c" "1d" "1e" "1f")
if ! [[ "$ROUNDS" =~ ^[1-9][0-9]*$ ]] || ((ROUNDS > ${#SEEDS[@]})); then
  echo "nas-bootstrap-teacher.sh: ROUNDS must be 1-${#SEEDS[@]} (one pool seed and name per round), got '$ROUNDS'" >&2
  exit 2
fi
[ -f "$START/config.json" ] || { echo "nas-bootstrap-teacher.sh: $START is not a teacher run folder (no config.json)" >&2; exit 2; }
source scripts/nas-pools.sh # HOLDOUT, draw_pool
teacher=$START
for ((r = 0; r < ROUNDS; r++)); do
  draw_pool "${NAMES[r]}" "${SEEDS[r]}"
  pool=runs/nasrank/${NAMES[r]}
  head -n 120 "$pool.txt" > "$pool-A.txt"
  tail -n +121 "$pool.txt" > "$pool-B.txt"
  log=$pool-vote
  pids=()
  for h in A B; do # two 1-thread processes
    GTN_THREADS=1 $GTN nas rank --archs "$pool-$h.txt" --proxy "gtn:$teacher,cells=2+nwot" --steps 128 --score train-loss \
      --val-images 0 --channels 8 --cells 1 --include-seen --out "$log-$h.jsonl" > /dev/null &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p"; done # a half that failed stops the script (set -e) before its log is used
  cat "$log-A.jsonl" "$log-B.jsonl" > "$log.jsonl"
  next=$PREFIX${SUFFIX[r]}
  if [ -f "$next/config.json" ]; then resume=(--resume "$next"); else
    resume=(--dataset cifar10 --preset nas --iterations 60 --eval-every 60 --meta-lr 0.002 --hold-out "$HOLDOUT"
      --init-from "$teacher" --rank-targets "$log.jsonl" --rank-loss pairwise --rank-weight 1 --rank-top 0.25
      --seed $((r + 3)) --out "$next"); fi
  $GTN train "${resume[@]}"
  teacher=$next
done
echo "last teacher: $teacher"
