"""Train a VAE-GAN (Larsen et al. 2016; see --help: --gamma, --disc_layer, the balance gate); results go to --out.

``--conditions smile`` (on UTKFace's smile labels) trains the conditional VAE-GAN instead.
"""

from facegen.cli.args import guard
from facegen.cli.training import train_main


def main(argv: list[str] | None = None) -> None:
    train_main(argv, "vaegan", epochs=100,
               script="--conditions smile trains the conditional VAE-GAN (vaegan.py --conditions smile --help).")


if __name__ == "__main__":
    guard(main)
