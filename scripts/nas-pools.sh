# Sourced by nas-teacher.sh and nas-bootstrap-teacher.sh (which set GTN first): the lists no teacher may train on,
# and the pools of random networks drawn around them for the order term's targets; and the name of a draw of pm120.
HOLDOUT=runs/nas/holdout.txt # the evaluation lists: held out of meta-training (`gtn train --hold-out`)
mkdir -p runs/nas runs/nasrank
cat docs/nas/eval100.txt docs/nas/dev40.txt > "$HOLDOUT"
# No pool holds a network of the evaluation or selection lists, nor of an earlier pool.
POOL_EXCLUDE=(--exclude docs/nas/eval100.txt --exclude docs/nas/dev40.txt --exclude docs/nas/dev100.txt --exclude docs/nas/pool300.txt)

# draw_pool NAME SEED: runs/nasrank/NAME.txt, 240 random networks (kept if it is there); later pools exclude it.
# The same NAME and SEED in the same order give the same pool in both scripts.
draw_pool() {
  local pool=runs/nasrank/$1.txt
  [ -f "$pool" ] || $GTN nas subset --n 240 --seed "$2" "${POOL_EXCLUDE[@]}" --out "$pool"
  POOL_EXCLUDE+=(--exclude "$pool")
}

# draw_meco_pools: the three pools whose MeCo order teaches pm120 (nas-teacher.sh), in their order; the pick's
# selection list (nas-teacher-pick.sh) is drawn outside them.
draw_meco_pools() {
  draw_pool pool240 41
  draw_pool poolb240 43
  draw_pool poolc240 47
}

# pm120_name SEED [REDUCTION [TARGETS]]: the name of nas-teacher.sh's last stage drawn with SEED (runs/nas-teacher-NAME):
# seed 4 is pm120; with learners of pool reductions, pm120pool[-sSEED]; taught real-data targets instead of MeCo's,
# pr120pool[-sSEED].
pm120_name() {
  local base=pm120
  if [ "${3:-meco}" = real ]; then base=pr120; fi
  if [ "${2:-resnet}" = pool ]; then base=${base}pool; fi
  if [ "$1" = 4 ]; then echo $base; else echo "$base-s$1"; fi
}
