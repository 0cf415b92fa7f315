#!/bin/sh
# Issue 11's comparison: AE, VAE at KL weights 0.2 / 0.1 / 0.01, DC-GAN and VAE-GAN on LFW under one budget of
# images seen, measured by compare_models.py (docs/gan.md). The sample-quality numbers live in the feature space of
# the project's own attribute net, trained first on CelebA if results/feature_net/attribute_net.pt is missing.
# Defaults (64 px, 200,000 images per model, seeds 0,1,2) are the issue's; on 2 CPU cores that is many hours, so
# docs/gan.md's run was SIZE=32 IMAGES=48000 SEEDS=0,1,2 (36 minutes on the idle-ish 2-core machine).
# Needs LFW (../shared/data/lfw or $LFW_DIR) and, for the feature net, CelebA (../shared/data/celeba or
# $CELEBA_DIR); extra flags for compare_models.py in $EXTRA (e.g. "--device cuda").
set -e
cd "$(dirname "$0")/.."
. scripts/setup_env.sh
"$PY" setup_directories.py

LFW="${LFW_DIR:-../shared/data/lfw}"
CELEBA="${CELEBA_DIR:-../shared/data/celeba}"
NET=results/feature_net/attribute_net.pt
if [ ! -d "$LFW" ]; then
    echo "lfw_study: no LFW in $LFW: set LFW_DIR to the folder holding lfwcrop_color_64/" >&2
    exit 2
fi
if [ ! -f "$NET" ]; then
    if [ ! -d "$CELEBA" ]; then
        echo "lfw_study: no $NET and no CelebA in $CELEBA to train it: set CELEBA_DIR, or use EXTRA=\"--feature_net pixels\"" >&2
        exit 2
    fi
    "$PY" train_feature_net.py --data "$CELEBA/img_align_celeba" --attrs "$CELEBA/list_attr_celeba.txt"
fi
# shellcheck disable=SC2086
eval "\"\$PY\" compare_models.py --dataset lfw --data \"\$LFW\" --resize ${SIZE:-64} --images ${IMAGES:-200000} \
    --seeds ${SEEDS:-0,1,2} --batch_size 64 --jitter 0.05 --feature_net $NET --out results/lfw_study ${EXTRA:-}"
