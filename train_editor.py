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
    import sys

    argv = sys.argv[1:] if argv is None else list(argv)
    given = {a.split("=")[0] for a in argv}
    if "--dataset" in given:  # another dataset (e.g. the toy faces): no default data folder
        given |= {"--data", "--labels"}
    extra = [] if "--resume" in given else [v for k, d in DEFAULTS.items() if k not in given for v in (k, d)]
    train_main(extra + argv, "ganimation", epochs=10)


if __name__ == "__main__":
    guard(main)
