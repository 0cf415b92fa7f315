#!/bin/sh
# Issue 4's comparison: the semi-supervised CVAE on every UTKFace face against the same model trained on the
# labelled faces only, for the same number of images (15 epochs x 393 steps x 64 faces = 377k each), then
# evaluate.py and q(y|x)'s held-out error for both, and the figures of the semi-supervised run.
# The README's second seed: SEED=1 SUFFIX=_s1 sh scripts/semi_supervised.sh (results/cvae_semi_s1, ...).
# About 15 + 18 minutes of training on 2 idle CPU cores. Needs UTKFace with its smile labels (data/, $UTKFACE_DIR or
# ../shared/data/utkface, as run_all.sh); extra training flags in $TRAIN_FLAGS (e.g. "--device cuda --amp").
set -e
cd "$(dirname "$0")/.."
. scripts/setup_env.sh
"$PY" setup_directories.py

. scripts/find_utkface.sh
if [ -z "$real" ]; then
    echo "semi_supervised: needs UTKFace: put UTKFace/ and smiles_dataset.txt in data/ or set UTKFACE_DIR" >&2
    exit 2
fi
U="$real"
COMMON="--data $U/UTKFace --labels $U/smiles_dataset.txt --unlabeled $U/UTKFace --resize 64 --batch_size 64
        --lr 5e-4 --lr_step 100000 --conditions smile,gender --val_fraction 0.2 --seed ${SEED:-0} --overwrite ${TRAIN_FLAGS:-}"
# shellcheck disable=SC2086
"$PY" cvae.py $COMMON --n_epochs 15 --eval_every 1 --out results/cvae_semi${SUFFIX:-}
# The labelled-only baseline: --max_unlabeled 0 keeps the same model (with its q(y|x)) and the same held-out
# labelled faces; 2540 epochs of its 148 training faces = the semi-supervised run's 377k images.
# shellcheck disable=SC2086
"$PY" cvae.py $COMMON --max_unlabeled 0 --n_epochs 2540 --eval_every 127 --out results/cvae_labelled${SUFFIX:-}

# both runs scored by the judges fitted on the semi-supervised run's faces
"$PY" evaluate.py --run results/cvae_semi${SUFFIX:-}
"$PY" evaluate.py --run results/cvae_labelled${SUFFIX:-} --judges results/cvae_semi${SUFFIX:-}
for RUN in results/cvae_semi${SUFFIX:-} results/cvae_labelled${SUFFIX:-}; do
    "$PY" predict_smiles.py --run $RUN --heldout
done
RUN=results/cvae_semi${SUFFIX:-}
for g in male female; do
    "$PY" sample_prior.py --run $RUN --sweep --gender $g   # sampled/all_synthetic_gender-1.png (male), ..._gender1.png
    "$PY" sample_prior.py --run $RUN --degrees -1,-0.5,0,0.5,1 --gender $g
done
"$PY" sample_across_axis.py --run $RUN --axis gender
"$PY" sample_across_axis.py --run $RUN --axis cond
"$PY" changing_smiles.py --run $RUN
# eight unlabelled photos, each given the degree q(y|x) predicts, then set to -1 ... +1
PHOTOS=$(ls "$U/UTKFace" | awk 'NR % 2900 == 7' | head -8 | sed "s|^|$U/UTKFace/|")
# shellcheck disable=SC2086
"$PY" changing_smiles.py --run $RUN --images $PHOTOS --set=-1,-0.5,0,0.5,1
"$PY" predict_smiles.py --run $RUN --images "$U/UTKFace" --out results/predicted_smiles.csv
echo "semi_supervised: done; results/cvae_semi, results/cvae_labelled (metrics.json, smile_head.json each)"
