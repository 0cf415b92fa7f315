"""Train a conditional VAE (CVAE) on smile-labelled faces (see --help); results and figures go to --out."""

from facegen.cli import guard
from facegen.experiment import parse_training_args, train_from_args


def main() -> None:
    train_from_args("cvae", parse_training_args("cvae"))


if __name__ == "__main__":
    guard(main)
