#!/bin/sh
# Copy the figures the README shows into docs/figures/: those of `sh scripts/run_all.sh` (results/cvae, ...)
# of `sh scripts/semi_supervised.sh` (results/cvae_semi) and of docs/steering.md's commands (results/cvae/steering),
# each set when its run is there; `sh scripts/copy_figures.sh steering` copies only the last set.
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
}
if [ "$1" = steering ]; then  # sh scripts/copy_figures.sh steering: only these
    steering
    echo "copy_figures: docs/figures/ updated from results/cvae/steering and its figures"
    exit 0
fi
if [ ! -d results/cvae ] && [ ! -d results/cvae_semi ]; then
    echo "copy_figures: no results/cvae or results/cvae_semi: run sh scripts/run_all.sh first" >&2
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
if [ -d results/cvae_semi ]; then  # made by sh scripts/semi_supervised.sh
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
if [ -d results/cvae/steering ]; then  # made by the commands of docs/steering.md
    steering
fi
echo "copy_figures: docs/figures/ updated from results/"
