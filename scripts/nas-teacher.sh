#!/usr/bin/env bash
# Rebuilds from nothing the NAS teachers that the README's architecture-search figures use (README, "What limits
# the GTN proxy"): h500 (the `nas` preset, 500 iterations, the evaluation lists held out) -> p500a (+60 pairs of
# the order term on 300 random cells ranked by nwot) -> p500t (+60 pairs, one cell of each from the pool's best
# quarter; the teacher of the vote searches) -> pm120 (+120 pairs on 720 random cells ranked by MeCo; the best GTN
# proxy alone). No ground truth enters, and no real-data training unless asked for (`real`, below): the targets are
# zero-cost proxies.
#   bash scripts/nas-teacher.sh [LAST [SEED [pool [real]]]]   LAST: h500 | p500a | p500t | pm120 (default), where to stop
#   SEED (pm120 only): another draw of the last stage, its outer loop seeded SEED instead of 4, in
#   runs/nas-teacher-pm120-sSEED (the README's pm120b and pm120c are seeds 5 and 6)
#   pool (pm120 only): the last stage's learners have parameter-free reductions (gtn train --reduction pool), the
#   teacher of `gtn nas rank --reduction pool`, in runs/nas-teacher-pm120pool[-sSEED]
#   real (after pool): the last stage's order term ranks by real data instead of MeCo: 120 of the 720 networks trained
#   512 real-data steps on the pool network the proxy scores (N = 2, C = 8; about 2 hours of one core, scored once
#   and kept), in runs/nas-teacher-pr120pool[-sSEED]
# About an hour on 2 cores (63 min on 2026-12-06). Every step resumes where it stopped when the script is run again.
set -euo pipefail
cd "$(dirname "$0")/.."
LAST=${1:-pm120}
case "$LAST" in h500 | p500a | p500t | pm120) ;; *)
  echo "nas-teacher.sh: LAST must be h500, p500a, p500t or pm120, got '$LAST'" >&2
  exit 2
  ;;
esac
SEED=${2:-4}
if ! [[ "$SEED" =~ ^[0-9]+$ ]] || { [ -n "${2:-}" ] && [ "$LAST" != pm120 ]; }; then
  echo "nas-teacher.sh: SEED must be a whole number and comes only after pm120, got '${2:-}' after '$LAST'" >&2
  exit 2
fi
REDUCTION=${3:-resnet}
if [ "$REDUCTION" != resnet ] && [ "$REDUCTION" != pool ]; then
  echo "nas-teacher.sh: the third argument must be pool (or resnet, the default), got '$REDUCTION'" >&2
  exit 2
fi
TARGETS=${4:-meco}
if { [ "$TARGETS" != meco ] && [ "$TARGETS" != real ]; } || { [ "$TARGETS" = real ] && [ "$REDUCTION" != pool ]; }; then
  echo "nas-teacher.sh: the fourth argument must be real (or meco, the default) and real comes only after pool, got '$TARGETS' after '$REDUCTION'" >&2
  exit 2
fi
GTN="node --single-threaded-gc bin/gtn.js"
source scripts/nas-pools.sh # HOLDOUT, draw_pool, draw_meco_pools, pm120_name
PM=$(pm120_name "$SEED" "$REDUCTION" "$TARGETS")

# train NAME ARGS...: meta-train runs/nas-teacher-NAME, or resume it if it has a checkpoint.
train() {
  local out=runs/nas-teacher-$1
  shift
  if [ -f "$out/checkpoints/last.gtnckpt" ]; then
    $GTN train --resume "$out"
  else
    rm -rf "$out" # a run killed before its first checkpoint holds nothing to keep
    $GTN train --dataset cifar10 --preset nas --hold-out "$HOLDOUT" "$@" --out "$out"
  fi
}
# pairs N SEED START TARGETS [ARGS...]: N outer iterations of the pairwise order term from START's teacher.
pairs() {
  local name=$1 n=$2 seed=$3 start=$4 targets=$5
  shift 5
  train "$name" --iterations "$n" --eval-every "$n" --meta-lr 0.002 --init-from "runs/nas-teacher-$start" \
    --rank-targets "$targets" --rank-loss pairwise --rank-weight 1 --seed "$seed" "$@"
}

train h500
[ "$LAST" = h500 ] && exit 0

# targets OUT ARGS...: score a pool into OUT once. The log grows in OUT.tmp (a rerun resumes it) and takes its
# name, with its sidecar, only when complete, so that no teacher trains on a partial ranking.
targets() {
  local out=$1
  shift
  [ -f "$out" ] && return 0
  $GTN nas rank "$@" --out "$out.tmp" > /dev/null
  mv "$out.tmp" "$out"
  if [ -f "$out.tmp.meta.json" ]; then mv "$out.tmp.meta.json" "$out.meta.json"; fi
}

nwot=runs/nasrank/pool300-nwot.jsonl
targets "$nwot" --archs docs/nas/pool300.txt --proxy nwot
pairs p500a 60 1 h500 "$nwot"
[ "$LAST" = p500a ] && exit 0
pairs p500t 60 2 p500a "$nwot" --rank-top 0.25
[ "$LAST" = p500t ] && exit 0

# 720 random networks, none of them a network of the evaluation or selection lists (the first three pools of
# nas-bootstrap-teacher.sh), ranked by MeCo on NB201's own network.
draw_meco_pools
cat runs/nasrank/pool{,b,c}240.txt > runs/nasrank/pool720.txt
if [ "$TARGETS" = meco ]; then
  order=runs/nasrank/pool720-meco.jsonl
  targets "$order" --archs runs/nasrank/pool720.txt --proxy meco --channels 16 --cells 5 --include-seen
else
  # 120 of the same networks (lines 1-60 and 101-160: the two halves scored side by side when measured), ranked by
  # their training loss after 512 real-data steps on the network that `gtn nas rank --reduction pool` scores: the
  # scored network's own order under real data (eval100 0.90) in place of a zero-cost proxy's on another network.
  sed -n '1,60p;101,160p' runs/nasrank/pool720.txt > runs/nasrank/pool120.txt
  order=runs/nasrank/pool120-real512pool.jsonl
  targets "$order" --archs runs/nasrank/pool120.txt --proxy real --reduction pool --steps 128,256,512 --score train-loss \
    --channels 8 --cells 2
fi
pairs "$PM" 120 "$SEED" p500t "$order" --rank-top 0.25 --reduction "$REDUCTION"
echo "teachers: runs/nas-teacher-{h500,p500a,p500t,$PM}"
