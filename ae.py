"""Train an autoencoder (AE) on face crops (see --help); results and figures go to --out."""

from facegen.cli.args import guard
from facegen.cli.training import train_main


def main(argv: list[str] | None = None) -> None:
    train_main(argv, "ae")


if __name__ == "__main__":
    guard(main)
