#!/bin/sh
# Issue 14's comparison: the depth -> face modes on the same pairs, split by subject, one seed, then
# evaluate_depth2face.py with a face2depth judge trained on the same training pairs (docs/depth2face.md).
#
#   PAIRS   folder of pairs (default ../shared/data/rap3df; "toy" for the toy pairs)
#   EPOCHS  epochs per run (default 20)      SIZE  pixels (default 64)      OUT  runs (default results/d2f)
#   NET     network flags of every run (default: a small U-Net and PatchGAN that train on a CPU)
#   LOSSES=1  also the LSGAN and WGAN-GP variants of the unpaired GAN
#   LOCK    a lock file: each training waits for it (flock) and runs at nice 5, e.g. LOCK=/work/wt/heavy.lock
#   PARALLEL=1  start every training at once (one GPU serves them all; never on a small CPU)
#   LIMIT   seconds after which a training is stopped (its last finished epoch is kept and evaluated)
#   PY      python to use (default: the project's .venv, set up by scripts/setup_env.sh)
#   TRAIN_FLAGS  extra flags for every training (e.g. "--device cuda")
set -e
cd "$(dirname "$0")/.."
if [ -z "${PY:-}" ]; then . scripts/setup_env.sh; fi
PAIRS=${PAIRS:-../shared/data/rap3df}
EPOCHS=${EPOCHS:-20}
SIZE=${SIZE:-64}
OUT=${OUT:-results/d2f}
NET=${NET:---base_channels 16 --max_channels 128}
D_NET=${D_NET:---d_base_channels 32}
if [ "$PAIRS" = toy ]; then DATA="--toy_n ${TOY_N:-3000}"; else DATA="--pairs $PAIRS"; fi
COMMON="$DATA --resize $SIZE --batch_size 16 --val_fraction 0.15 --seed 0 --eval_every 1 --n_epochs $EPOCHS
        $NET --overwrite ${TRAIN_FLAGS:-}"
mkdir -p "$OUT"
if [ "${PARALLEL:-0}" = 1 ]; then  # fill the image cache (data/cache) once, before the trainings start together
    "$PY" -c "from facegen.data.spec import DataSpec; import sys
DataSpec(paired=True, pairs=None if sys.argv[1] == 'toy' else sys.argv[1], size=int(sys.argv[2]),
         toy_n=int(sys.argv[3])).load()" "$PAIRS" "$SIZE" "${TOY_N:-3000}"
fi

train() {  # train NAME MODE FLAGS...
    name=$1; shift
    cmd="$PY depth2face.py --mode $* $COMMON --out $OUT/$name"
    if [ -n "${LIMIT:-}" ]; then cmd="timeout ${LIMIT} $cmd"; fi
    if [ -n "${LOCK:-}" ]; then cmd="flock $LOCK nice -n 5 $cmd"; fi
    echo "depth2face_compare: $name"
    if [ "${PARALLEL:-0}" = 1 ]; then
        # shellcheck disable=SC2086
        (OMP_NUM_THREADS=2 $cmd > "$OUT/$name.log" 2>&1 || echo "$name stopped (status $?)" >> "$OUT/$name.log") &
    else
        # shellcheck disable=SC2086
        $cmd > "$OUT/$name.log" 2>&1 || echo "$name stopped (status $?)" >> "$OUT/$name.log"
    fi
}
NAMES="supervised gan gan_replay pix2pix semi_10 semi_50 semi_all cycle"
train face2depth face2depth
train supervised supervised
train gan gan $D_NET
train gan_replay gan --replay 50 $D_NET
train pix2pix pix2pix $D_NET
train semi_10 semi --paired_count 10 $D_NET
train semi_50 semi --paired_count 50 $D_NET
train semi_all semi $D_NET
train cycle cycle $D_NET
if [ "${LOSSES:-0}" = 1 ]; then
    train gan_lsgan gan --loss lsgan $D_NET
    train gan_wgan gan --loss wgan-gp $D_NET
    NAMES="$NAMES gan_lsgan gan_wgan"
fi
wait

RUNS=""
for name in $NAMES; do
    if [ -f "$OUT/$name/checkpoints/last.pt" ]; then RUNS="$RUNS --run $OUT/$name"; fi
done
# shellcheck disable=SC2086
"$PY" evaluate_depth2face.py $RUNS --face2depth "$OUT/face2depth" --table "$OUT/table.md" ${EVAL_FLAGS:-}
for name in face2depth $NAMES; do
    if [ -f "$OUT/$name/training.csv" ]; then
        echo "$name: $(tail -1 "$OUT/$name/training.csv" | cut -d, -f1) epochs"
    fi
done
