"""Train a conditional VAE (CVAE) on smile-labelled faces (see --help); results and figures go to --out.

``--unlabeled DIR`` trains the semi-supervised CVAE instead (see ``cvae.py --unlabeled DIR --help``).
"""

from facegen.cli.args import guard
from facegen.cli.training import train_main


def main(argv: list[str] | None = None) -> None:
    train_main(argv, "cvae", epochs=1000,
               script="--unlabeled DIR trains the semi-supervised CVAE (cvae.py --unlabeled DIR --help: its flags).")


if __name__ == "__main__":
    guard(main)
