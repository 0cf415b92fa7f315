"""Train Glow, a normalizing flow with an exact likelihood, on face crops (see --help); results go to --out.

``--dataset celeba --data DIR/img_align_celeba --attrs DIR/list_attr_celeba.txt --resize 64``, UTKFace or the toy
faces; the size must be divisible by 2**levels. ``--conditions ''`` trains it without conditions.
"""

from pathlib import Path

from facegen.cli.args import guard
from facegen.cli.training import train_main


def main(argv: list[str] | None = None) -> Path:
    return train_main(argv, "glow")


if __name__ == "__main__":
    guard(main)
