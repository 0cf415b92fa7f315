"""Train the taught smile editor (facegen/models/editor/taught.py): GANimation's networks learning to draw the
exemplar editor's edits of mouth patches, from write_lessons.py's folder.

Defaults (docs/editor.md): --pairs data/lessons at 96 px, batch 8, lr 2e-4, results in results/taught_editor.
Any training flag overrides them (see --help).
"""

from facegen.cli.args import guard
from facegen.cli.training import train_main

DEFAULTS = {"--pairs": "data/lessons", "--resize": "96", "--batch_size": "8", "--lr": "2e-4",
            "--lr_step": "100000", "--out": "results/taught_editor"}


def main(argv: list[str] | None = None) -> None:
    train_main(argv, "ganimation_taught", defaults=DEFAULTS, epochs=2)


if __name__ == "__main__":
    guard(main)
