#!/bin/sh
# The smile editor (docs/editor.md): mouth patches cut from UTKFace by landmarks and labelled (the human degrees,
# else a ridge regression on mouth shape), the bank of real mouths built from them, the CelebA smile judge and
# the identity net that judge the edits, the study of residual editing with the semi-supervised CVAE of
# scripts/train_default.sh, with and without real mouths blended in, on held-out UTKFace faces and whole LFW
# photos (the first draw, and three fresh draws never used to choose a setting), and one whole photo edited by
# edit_photo.py's default (real mouths) and by the shipped taught editor's mouths (weights/smile_mouths.safetensors).
# A run that is already there is reused. About 35 minutes on 2 idle CPU cores.
# TAUGHT=1 also writes the exemplar editor's lessons and trains the taught editor on them (about 110 minutes;
# TAUGHT_EPOCHS, default 7) and adds it and its ablations; GANIMATION=1 trains the GANimation editor (about 35
# minutes; EDITOR_EPOCHS, default 2) and adds it. TRAIN_FLAGS (e.g. "--device cuda") change both trainings.
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
[ -f results/mouth_bank.safetensors ] || "$PY" build_mouth_bank.py --mouths data/mouths \
    --out results/mouth_bank.safetensors
EDITORS=""
if [ "${GANIMATION:-0}" = 1 ]; then
    if [ ! -f results/editor/checkpoints/last.pt ]; then
        # shellcheck disable=SC2086
        "$PY" train_editor.py --n_epochs "${EDITOR_EPOCHS:-2}" --batch_size 8 --lr 2e-4 --amp --eval_every 1 \
            --out results/editor --overwrite ${TRAIN_FLAGS:-}
    fi
    EDITORS="--editor results/editor --ablations"
fi
if [ "${TAUGHT:-0}" = 1 ]; then
    [ -f data/lessons/lessons.csv ] || "$PY" write_lessons.py --mouths data/mouths \
        --bank results/mouth_bank.safetensors --out data/lessons
    if [ ! -f results/taught_editor/checkpoints/last.pt ]; then
        # shellcheck disable=SC2086
        "$PY" train_taught_editor.py --n_epochs "${TAUGHT_EPOCHS:-7}" --amp --eval_every 1 \
            --out results/taught_editor --overwrite ${TRAIN_FLAGS:-}
    fi
    EDITORS="$EDITORS --editor results/taught_editor --ablations"
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
# shellcheck disable=SC2086
"$PY" compare_smile_editors.py --bank results/mouth_bank.safetensors --cvae results/default_cvae \
    --feature_net results/feature_net --identity results/identity --utkface "$U" --mouths data/mouths \
    --lfw "$LFW/photos" --n 160 --out results/editor_study $EDITORS
for seed in 1 2 3; do  # fresh draws of held-out faces, never used to choose a setting
    # shellcheck disable=SC2086
    "$PY" compare_smile_editors.py --bank results/mouth_bank.safetensors --cvae results/default_cvae \
        --feature_net results/feature_net --identity results/identity --utkface "$U" --mouths data/mouths \
        --n 160 --seed "$seed" --out "results/editor_study_fresh$seed" $EDITORS
done
"$PY" edit_photo.py "$LFW/photos/Bill_Stapleton_0001.jpg" --run weights/smile_cvae.safetensors \
    --mouths results/mouth_bank.safetensors --smile -1,0.5,1 --out results/editor_photo
"$PY" edit_photo.py "$LFW/photos/Bill_Stapleton_0001.jpg" --run weights/smile_cvae.safetensors \
    --mouths weights/smile_mouths.safetensors --smile -1,0.5,1 --out results/shipped_mouths_photo
if [ "${TAUGHT:-0}" = 1 ]; then
    "$PY" edit_photo.py "$LFW/photos/Bill_Stapleton_0001.jpg" --run results/taught_editor --smile -1,0.5,1 \
        --out results/taught_photo
fi
