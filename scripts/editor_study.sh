#!/bin/sh
# The smile editor (docs/editor.md): mouth patches cut from UTKFace by landmarks and labelled (the human degrees,
# else a ridge regression on mouth shape), the GANimation editor trained on them, the CelebA smile judge and the
# identity net that judge it, and the study of the editor beside residual editing with the semi-supervised CVAE
# of scripts/train_default.sh, on held-out UTKFace faces and whole LFW photos. A run that is already there is
# reused. About 35 minutes of training and 15 of measuring on 2 idle CPU cores; EDITOR_EPOCHS (default 2) and
# TRAIN_FLAGS (e.g. "--device cuda") change the editor's training.
set -e
cd "$(dirname "$0")/.."
. scripts/setup_env.sh
"$PY" setup_directories.py
. scripts/find_utkface.sh
LFW="${LFW_DIR:-../shared/data/lfw}"
CELEBA="${CELEBA_DIR:-../shared/data/celeba}"
if [ -z "$real" ] || [ ! -d "$LFW" ] || [ ! -d "$CELEBA" ]; then
    echo "editor_study: needs UTKFace with smiles_dataset.txt (UTKFACE_DIR), LFW (LFW_DIR) and CelebA (CELEBA_DIR)" >&2
    exit 2
fi
U="$real"
[ -f data/mouths/labels.csv ] || "$PY" prepare_mouths.py --data "$U/UTKFace" --labels "$U/smiles_dataset.txt" \
    --n 10000 --out data/mouths
if [ ! -f results/editor/checkpoints/last.pt ]; then
    # shellcheck disable=SC2086
    "$PY" train_editor.py --n_epochs "${EDITOR_EPOCHS:-2}" --batch_size 8 --lr 2e-4 --amp --eval_every 1 \
        --out results/editor --overwrite ${TRAIN_FLAGS:-}
fi
if [ ! -f results/feature_net/attribute_net.pt ]; then
    "$PY" train_feature_net.py --data "$CELEBA/img_align_celeba" --attrs "$CELEBA/list_attr_celeba.txt" \
        --n_epochs 4 --out results/feature_net --overwrite
fi
[ -f results/feature_net/smile_judge_template.json ] || "$PY" build_smile_judge.py --feature_net results/feature_net \
    --data "$CELEBA/img_align_celeba" --attrs "$CELEBA/list_attr_celeba.txt" --utkface "$U"
if [ ! -f results/identity/verification.json ]; then
    "$PY" train_identity.py --data "$LFW" --width 16 --stem_stride 2 --batch_size 64 --n_epochs 3 --eval_every 2 \
        --out results/identity --overwrite
fi
[ -f results/default_cvae/checkpoints/last.pt ] || sh scripts/train_default.sh
"$PY" compare_smile_editors.py --editor results/editor --cvae results/default_cvae --feature_net results/feature_net \
    --identity results/identity --utkface "$U" --mouths data/mouths --lfw "$LFW/photos" --n 160 --ablations \
    --out results/editor_study
