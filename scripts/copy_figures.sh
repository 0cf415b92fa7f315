#!/bin/sh
# Copy the figures the README shows into docs/figures/: those of `sh scripts/run_all.sh` (results/cvae, ...),
# of `sh scripts/semi_supervised.sh` (results/cvae_semi), of `sh scripts/lfw_study.sh` (results/lfw_study, or the
# folder in $LFW_STUDY; docs/gan.md) and its 64 px run (results/lfw64), of the Glow runs of docs/glow.md
# (results/glow_celeba32), of `sh scripts/depth2face_compare.sh` (results/d2f), of docs/steering.md's commands
# (results/cvae/steering) and of `sh scripts/identity_study.sh` (docs/identity.md), each set when its runs are
# there; `sh scripts/copy_figures.sh steering` (or lfw64, identity, editor: scripts/editor_study.sh, docs/editor.md;
# app: benchmarks/app_times.py, the README's demo screenshots)
# copies only that set.
set -e
cd "$(dirname "$0")/.."
mkdir -p docs/figures
copy() {  # copy SRC NAME: fail loudly if run_all.sh has not made SRC
    if [ ! -f "results/$1" ]; then
        echo "copy_figures: results/$1 is missing: rerun the script that makes it (see the README)" >&2
        exit 2
    fi
    cp "results/$1" "docs/figures/$2"
}
last_iter() {  # last_iter MODEL: the newest reconstruction grid of results/MODEL
    ls "results/$1/iterations" | sed -n 's/^iter_\([0-9]*\)\.png$/\1/p' | sort -n | tail -1
}
steering() {  # made by the commands of docs/steering.md on results/cvae
    copy cvae/steering/edits.md cvae_edits.md
    copy cvae/steering/edits.csv cvae_edits.csv
    copy cvae/steering/cosines.csv cvae_cosines.csv
    copy cvae/attributes/directions/smile_given_gender_interfacegan.png cvae_interfacegan_smile.png
    copy cvae/attributes/directions/gender_interfacegan.png cvae_interfacegan_gender.png
    copy cvae/axis/pca_overview.png cvae_walk_pca.png
    copy cvae/axis/ganspace_overview.png cvae_walk_ganspace.png
    copy cvae/axis/sefa_overview.png cvae_walk_sefa.png
    copy cvae/steering/face.png cvae_slider_face.png
    copy cvae/steering/sliders.png sliders.png
    for m in dcgan vaegan; do  # the LFW study's seed-0 GANs, when they are there
        run="${STUDY#results/}/seed0/$m"
        if [ -d "results/$run/steering" ]; then
            copy "$run/steering/edits.md" "lfw_${m}_edits.md"
            copy "$run/attributes/directions/Smiling_interfacegan.png" "lfw_${m}_interfacegan_Smiling.png"
            copy "$run/axis/sefa_overview.png" "lfw_${m}_walk_sefa.png"
            copy "$run/axis/ganspace_overview.png" "lfw_${m}_walk_ganspace.png"
        fi
    done
}
lfw64() {  # made by docs/gan.md's 64 px compare_models.py command (results/lfw64)
    for f in table.md results.json samples.png reconstructions.png prior_sd_dcgan.png prior_sd_vaegan.png \
            prior_sd_vae_b2.png; do
        copy "lfw64/$f" "lfw64_$f"
    done
    copy lfw64/seed0/vaegan/plots/training.png lfw64_vaegan_training.png
}
editor() {  # made by TAUGHT=1 sh scripts/editor_study.sh (docs/editor.md)
    for f in table.md study.json utkface_photos.png utkface_mouths.png lfw_photos.png lfw_mouths.png; do
        copy "editor_study/$f" "editor_$f"
    done
    for seed in 1 2 3; do
        for f in table.md study.json utkface_mouths.png; do
            copy "editor_study_fresh$seed/$f" "editor_fresh${seed}_$f"
        done
    done
    copy editor_photo/Bill_Stapleton_0001_strip.png editor_photo_strip.png
    copy taught_editor/plots/training.png editor_taught_training.png
    copy taught_photo/Bill_Stapleton_0001_strip.png editor_taught_photo_strip.png
    copy shipped_mouths_photo/Bill_Stapleton_0001_strip.png editor_shipped_mouths_photo_strip.png
}
app() {  # made by python benchmarks/app_times.py results/app_times --mouths weights/smile_mouths.safetensors
    copy app_times/app_edit.png app_edit.png
    copy app_times/app_prior.png app_prior.png
}
identity() {  # made by sh scripts/identity_study.sh (docs/identity.md)
    copy identity/plots/verification.png identity_verification.png
    copy cvae64/identity/editing.json identity_cvae64_editing.json
    copy cvae64/identity/editing_unseen_residual.png identity_cvae64_unseen_residual.png
    copy cvae_semi/identity/editing.json identity_cvae_semi_editing.json
    for m in plain residual pivotal_replace; do
        copy "cvae_semi/identity/editing_unseen_$m.png" "identity_cvae_semi_unseen_$m.png"
    done
    copy cvae_semi/photos_pivotal_replace/identity_strip.png identity_cvae_semi_lfw_pivotal_replace.png
    for m in residual pivotal_replace; do
        copy "cvae_semi/photos_$m/Audrey_Lacroix_0001_strip.png" "identity_cvae_semi_photo_audrey_$m.png"
    done
    copy cvae_semi/photos_residual/Aaron_Eckhart_0001_strip.png identity_cvae_semi_photo_aaron_residual.png
}
STUDY="${LFW_STUDY:-results/lfw_study}"
case "$1" in  # sh scripts/copy_figures.sh steering|lfw64|identity|editor|app: only that set
    steering|lfw64|identity|editor|app)
        "$1"
        echo "copy_figures: docs/figures/ updated with the $1 figures"
        exit 0 ;;
esac
if [ ! -d results/cvae ] && [ ! -d results/cvae_semi ] && [ ! -d "$STUDY" ] && [ ! -d results/glow_celeba32 ] \
        && [ ! -d results/d2f ]; then
    echo "copy_figures: no results/cvae, results/cvae_semi, $STUDY, results/glow_celeba32 or results/d2f: run sh scripts/run_all.sh first" >&2
    exit 2
fi
if [ -d results/cvae ]; then  # made by sh scripts/run_all.sh
    copy cvae/iterations/original.png cvae_original.png
    copy cvae/iterations/iter_$(last_iter cvae).png cvae_reconstruction.png
    copy cvae/plots/training.png cvae_training.png
    copy cvae/plots/latent_var.png cvae_latent_var.png
    copy cvae/sampled/all_synthetic.png cvae_all_synthetic.png
    copy cvae/forcing/forcing_smiles_all.png cvae_forcing_all.png
    copy cvae/forcing/forcing_smiles_one.png cvae_forcing_one.png
    copy cvae/axis/axis_cond.png cvae_axis_cond.png
    copy cvae/axis/axis_overview.png cvae_axis_overview.png
    copy cvae/axis/pca_overview.png cvae_pca_overview.png
    copy cvae/plots/smile_response.png cvae_smile_response.png
    copy cvae/plots/bias_by_degree.png cvae_bias_by_degree.png
    copy vae/iterations/original.png vae_original.png
    copy ae/iterations/iter_$(last_iter ae).png ae_reconstruction.png
    copy vae/iterations/iter_$(last_iter vae).png vae_reconstruction.png
    copy plots/dataset_bias.png dataset_bias.png
    cp results/cvae/metrics.json docs/figures/cvae_metrics.json
fi
if [ -d results/cvae_semi/sampled ]; then  # made by sh scripts/semi_supervised.sh (identity_study.sh makes no sampled/)
    copy cvae_semi/sampled/degrees_-1_-0.5_0_0.5_1_gender-1.png semi_degrees_male.png
    copy cvae_semi/sampled/degrees_-1_-0.5_0_0.5_1_gender1.png semi_degrees_female.png
    copy cvae_semi/forcing/forcing_smiles_all.png semi_forcing_all.png
    copy cvae_semi/forcing/forcing_photos_set_-1_-0.5_0_0.5_1.png semi_forcing_photos.png
    for run in cvae_semi cvae_labelled cvae_semi_s1 cvae_labelled_s1; do  # the _s1 pair: --seed 1, if made
        for f in metrics smile_head; do
            if [ -f "results/$run/$f.json" ]; then cp "results/$run/$f.json" "docs/figures/${run}_$f.json"; fi
        done
    done
fi
if [ -d "$STUDY" ]; then  # made by sh scripts/lfw_study.sh (docs/gan.md)
    for f in table.md results.json samples.png reconstructions.png; do
        copy "${STUDY#results/}/$f" "lfw_$f"
    done
    for m in ae vae_b0.1 dcgan vaegan; do
        copy "${STUDY#results/}/prior_sd_$m.png" "lfw_prior_sd_$m.png"
    done
    for m in dcgan vaegan; do
        copy "${STUDY#results/}/seed0/$m/plots/training.png" "lfw_${m}_training.png"
    done
fi
if [ -d results/lfw64 ]; then  # the 64 px comparison (its compare_models.py command is in docs/gan.md)
    lfw64
fi
if [ -f results/cvae_semi/identity/editing.json ]; then  # made by sh scripts/identity_study.sh (docs/identity.md)
    identity
fi
if [ -d results/glow_celeba32 ]; then  # made by the commands of docs/glow.md
    copy glow_celeba32/iterations/original.png glow32_original.png
    copy glow_celeba32/plots/training.png glow32_training.png
    copy glow_celeba32/sampled/sampled_0_t0.7.png glow32_samples_t0.7.png
    copy glow_celeba32/sampled/temperatures_0.png glow32_temperatures.png
    for a in Smiling Male Bangs; do copy glow_celeba32/attributes/add_$a.png glow32_add_$a.png; done
    copy glow_celeba32/interp/random.png glow32_interp.png
    cp results/glow_celeba32/metrics.json docs/figures/glow32_metrics.json
    if [ -f results/glow_celeba32/attributes/evaluation.md ]; then
        cp results/glow_celeba32/attributes/evaluation.md docs/figures/glow32_attribute_evaluation.md
    fi
fi
if [ -d results/glow_celeba64 ]; then  # made by the commands of docs/glow.md
    copy glow_celeba64/sampled/temperatures_0.png glow64_temperatures.png
    copy glow_celeba64/attributes/add_Smiling.png glow64_add_Smiling.png
fi
if [ -d results/celeba32_dfcvae ] && [ -f results/celeba32_dfcvae/attributes/evaluation.md ]; then
    cp results/celeba32_dfcvae/attributes/evaluation.md docs/figures/dfcvae32_attribute_evaluation.md
fi
if [ -d results/d2f ]; then  # made by sh scripts/depth2face_compare.sh (docs/depth2face.md)
    for run in supervised gan gan_replay pix2pix semi_10 semi_50 semi_all cycle gan_lsgan gan_wgan; do
        if [ ! -d "results/d2f/$run" ]; then continue; fi  # the LSGAN and WGAN-GP runs need LOSSES=1
        copy d2f/$run/plots/depth2face_heldout.png d2f_${run}_heldout.png
        copy d2f/$run/plots/training.png d2f_${run}_training.png
        cp results/d2f/$run/depth2face_metrics.json docs/figures/d2f_${run}_metrics.json
    done
    copy d2f/face2depth/iterations/iter_$(last_iter d2f/face2depth).png d2f_face2depth_heldout.png
    copy d2f/table.md d2f_table.md
fi
if [ -d results/d2f60 ]; then  # the 60-epoch runs of docs/depth2face.md
    for run in supervised semi_all pix2pix; do copy d2f60/$run/plots/depth2face_heldout.png d2f60_${run}_heldout.png; done
    copy d2f60/table.md d2f60_table.md
fi
if [ -d results/cvae/steering ]; then  # made by the commands of docs/steering.md
    steering
fi
echo "copy_figures: docs/figures/ updated from results/"
