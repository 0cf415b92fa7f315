"""Train a variational autoencoder (VAE) on face crops (see --help); results and figures go to --out."""

from facegen.cli import guard
from facegen.experiment import parse_training_args, train_from_args


def main() -> None:
    train_from_args("vae", parse_training_args("vae"))


if __name__ == "__main__":
    guard(main)
