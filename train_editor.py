"""Train the GANimation smile editor (facegen/models/editor) on the mouth patches of prepare_mouths.py.

Defaults (docs/editor.md): data/mouths/images with data/mouths/labels.csv at 96 px, batch 16, lr 1e-4,
results in results/editor. Any training flag overrides them (see --help); with --dataset (e.g. toy) no default
data folder is added.
"""

from facegen.cli.args import guard
from facegen.cli.training import train_main

DEFAULTS = {"--data": "data/mouths/images", "--labels": "data/mouths/labels.csv", "--resize": "96",
            "--batch_size": "16", "--lr": "1e-4", "--lr_step": "100000", "--out": "results/editor"}


def main(argv: list[str] | None = None) -> None:
    # another --dataset (e.g. the toy faces) takes no default data folder
    train_main(argv, "ganimation", defaults=DEFAULTS, implied={"--dataset": ("--data", "--labels")}, epochs=10)


if __name__ == "__main__":
    guard(main)
