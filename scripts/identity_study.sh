#!/bin/sh
# Issue 15's study (docs/identity.md): the project's own identity embedding on LFW, then every smile-editing
# candidate (plain decoding, residual editing, masked replacement, per-photo inversion, pivotal tuning) measured
# by it on held-out UTKFace faces, for two generators: the CVAE at the study's settings on the 185 labelled faces
# (64 px) and the semi-supervised CVAE on all UTKFace faces (scripts/semi_supervised.sh's run), and whole LFW
# photos edited by edit_photo.py. A run that is already there is reused.
# Roughly half an hour of training and a quarter of an hour of measuring on 2 idle CPU cores. Needs UTKFace with its smile labels
# and LFW (../shared/data or $UTKFACE_DIR and $LFW_DIR); extra training flags in $TRAIN_FLAGS.
set -e
cd "$(dirname "$0")/.."
. scripts/setup_env.sh
"$PY" setup_directories.py

. scripts/find_utkface.sh
LFW="${LFW_DIR:-../shared/data/lfw}"
if [ -z "$real" ] || [ ! -d "$LFW" ]; then
    echo "identity_study: needs UTKFace with smiles_dataset.txt (UTKFACE_DIR) and LFW (LFW_DIR)" >&2
    exit 2
fi
U="$real"
if [ ! -f results/identity/verification.json ]; then
    # shellcheck disable=SC2086
    "$PY" train_identity.py --data "$LFW" --width 16 --stem_stride 2 --batch_size 64 --n_epochs 3 --eval_every 2 \
        --out results/identity --overwrite ${TRAIN_FLAGS:-}
fi
if [ ! -f results/cvae64/checkpoints/last.pt ]; then
    # shellcheck disable=SC2086
    "$PY" cvae.py --data "$U/UTKFace" --labels "$U/smiles_dataset.txt" --resize 64 --n_epochs 300 \
        --out results/cvae64 --overwrite ${TRAIN_FLAGS:-}
fi
if [ ! -f results/cvae_semi/checkpoints/last.pt ]; then
    # shellcheck disable=SC2086
    "$PY" cvae.py --data "$U/UTKFace" --labels "$U/smiles_dataset.txt" --unlabeled "$U/UTKFace" --resize 64 \
        --batch_size 64 --lr 5e-4 --lr_step 100000 --conditions smile,gender --val_fraction 0.2 --seed 0 \
        --n_epochs 15 --eval_every 1 --out results/cvae_semi --overwrite ${TRAIN_FLAGS:-}
fi
for run in cvae64 cvae_semi; do
    "$PY" evaluate.py --run results/$run --identity results/identity
    "$PY" compare_edits.py --run results/$run --identity results/identity --unseen 200
    for method in residual "pivotal replace"; do
        "$PY" edit_photo.py "$LFW/photos" --run results/$run --smile=-1,1 --method "$method" \
            --identity results/identity --out "results/$run/photos_$(echo "$method" | tr ' ' _)" \
            || echo "identity_study: edit_photo.py skipped a photo (said above); the others are edited"
    done
done
