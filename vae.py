"""Train a variational autoencoder (VAE) on face crops (see --help); results and figures go to --out.

``--loss perceptual`` trains the DFC-VAE instead (see ``vae.py --loss perceptual --help`` for its flags).
"""

from facegen.cli.args import guard
from facegen.cli.training import train_main


def main(argv: list[str] | None = None) -> None:
    train_main(argv, "vae",
               script="--loss perceptual trains the DFC-VAE (vae.py --loss perceptual --help shows its flags).")


if __name__ == "__main__":
    guard(main)
