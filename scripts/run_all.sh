#!/bin/sh
# The main job end to end: set-up (venv, requirements, folders), data, AE / VAE / CVAE training,
# then every exploration figure and the metrics, and a short depth -> face run on the toy pairs, all into results/. 344 s on an idle 2-core machine with
# UTKFace (venv already installed; a first install adds about a minute and a half).
#
# Data: data/UTKFace + data/smiles_dataset.txt if present, else $UTKFACE_DIR (a folder holding
# UTKFace/ and smiles_dataset.txt), else ../shared/data/utkface, else the procedural toy faces.
# Extra flags for every training script can be passed in $TRAIN_FLAGS (e.g. TRAIN_FLAGS="--device cuda").
set -e
cd "$(dirname "$0")/.."
. scripts/setup_env.sh
"$PY" setup_directories.py

. scripts/find_utkface.sh
if [ -n "$real" ]; then
    echo "run_all: real faces from $real"
    DATA="--data $real/UTKFace --labels $real/smiles_dataset.txt"
    AE_EPOCHS=150; VAE_EPOCHS=150; CVAE_EPOCHS=300; EVAL_EVERY=10
else
    echo "run_all: no UTKFace found, using the procedural toy faces (data/toyfaces)"
    DATA="--dataset toy"
    AE_EPOCHS=12; VAE_EPOCHS=12; CVAE_EPOCHS=25; EVAL_EVERY=1
fi
COMMON="$DATA --resize 50 --latent_size 20 --batch_size 8 --lr 2e-4 --eval_every $EVAL_EVERY --seed 0 --overwrite ${TRAIN_FLAGS:-}"

"$PY" ae.py   $COMMON --n_epochs $AE_EPOCHS --out results/ae
"$PY" vae.py  $COMMON --n_epochs $VAE_EPOCHS --beta 0.5 --out results/vae
"$PY" cvae.py $COMMON --n_epochs $CVAE_EPOCHS --beta 0.5 --out results/cvae

# Explore and measure the CVAE (and the VAE's latent space).
RUN=results/cvae
"$PY" sample_prior.py --run $RUN --degree 0.6
"$PY" sample_prior.py --run $RUN --degree -0.6
"$PY" sample_prior.py --run $RUN --sweep
"$PY" sample_prior.py --run $RUN --degrees -3,-1.1,1.1,3
"$PY" sample_prior.py --run $RUN --temperatures 0.25:2.0:0.25
"$PY" changing_smiles.py --run $RUN
"$PY" sample_across_axis.py --run $RUN --all
"$PY" sample_across_axis.py --run $RUN --axis cond
"$PY" sample_across_pca_axis.py --run $RUN
"$PY" latent_analysis.py --run $RUN
"$PY" latent_analysis.py --run results/vae
if [ -n "$real" ]; then
    "$PY" dataset_bias.py --data "$real/UTKFace" --labels "$real/smiles_dataset.txt" --out results
else
    "$PY" dataset_bias.py --data data/toyfaces/images --labels data/toyfaces/labels.csv --out results
fi
"$PY" evaluate.py --run $RUN

# Depth -> face on the toy pairs (drawn into data/toypairs: each toy face with its depth map), a short
# supervised run and its face2depth judge, the measures, and faces made from the toy depth maps.
D2F="--toy_dir data/toypairs --toy_n 600 --resize 64 --n_epochs 6 --eval_every 1 --seed 0 --overwrite ${TRAIN_FLAGS:-}"
"$PY" depth2face.py --mode supervised $D2F --out results/d2f_toy/supervised
"$PY" depth2face.py --mode face2depth $D2F --out results/d2f_toy/face2depth
"$PY" evaluate_depth2face.py --run results/d2f_toy/supervised --face2depth results/d2f_toy/face2depth
"$PY" translate.py --run results/d2f_toy/supervised --images data/toypairs/depth --out results/d2f_toy/translated

echo "run_all: done; every figure is under results/ (ae, vae, cvae, plots)"
