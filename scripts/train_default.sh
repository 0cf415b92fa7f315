#!/bin/sh
# The shipped default model from scratch: weights/smile_cvae.safetensors (exported by export_model.py) and its card
# weights/smile_cvae.json (write_model_card.py: provenance, photo template, principal directions). The model is the
# semi-supervised CVAE of scripts/identity_study.sh (all 23,707 UTKFace faces, the 185 smile labels; 64 px,
# conditions smile and gender), trained $EPOCHS epochs: 10 by default, what fitted 20 minutes of this project's
# shared 2-core CPU (identity_study.sh trains 15). The learning rate is constant, so N epochs here equal the first N
# of a longer run. Needs UTKFace with smiles_dataset.txt (data/, $UTKFACE_DIR or ../shared/data/utkface).
set -e
cd "$(dirname "$0")/.."
. scripts/setup_env.sh
"$PY" setup_directories.py
. scripts/find_utkface.sh
if [ -z "$real" ]; then
    echo "train_default: needs UTKFace with smiles_dataset.txt (data/, UTKFACE_DIR or ../shared/data/utkface)" >&2
    exit 2
fi
U="$real"
EPOCHS="${EPOCHS:-10}"
# shellcheck disable=SC2086
"$PY" cvae.py --data "$U/UTKFace" --labels "$U/smiles_dataset.txt" --unlabeled "$U/UTKFace" --resize 64 \
    --batch_size 64 --lr 5e-4 --lr_step 100000 --conditions smile,gender --val_fraction 0.2 --seed 0 \
    --n_epochs "$EPOCHS" --eval_every 1 --out results/default_cvae --overwrite ${TRAIN_FLAGS:-}
"$PY" export_model.py --run results/default_cvae --out weights/smile_cvae.safetensors --overwrite
"$PY" write_model_card.py --run results/default_cvae --model weights/smile_cvae.safetensors \
    --note "${CARD_NOTE:-$EPOCHS epochs (scripts/identity_study.sh trains 15): what fitted 20 minutes of a shared 2-core CPU}"
