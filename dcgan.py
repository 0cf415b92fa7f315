"""Train a DC-GAN (see --help: --loss bce|lsgan|wgan-gp, --ema, --diffaugment); results and figures go to --out.

``--conditions smile`` (or smile,gender,age; a CelebA attribute) trains the conditional GAN instead.
"""

from facegen.cli.args import guard
from facegen.cli.training import train_main


def main(argv: list[str] | None = None) -> None:
    train_main(argv, "dcgan", epochs=100,
               script="--conditions smile trains the conditional GAN (dcgan.py --conditions smile --help: its flags).")


if __name__ == "__main__":
    guard(main)
