"""Train an autoencoder (AE) on face crops (see --help); results and figures go to --out."""

from facegen.cli import guard
from facegen.experiment import train_from_args, training_parser


def main() -> None:
    train_from_args("ae", training_parser("ae").parse_args())


if __name__ == "__main__":
    guard(main)
