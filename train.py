"""Train any registered model: ``python train.py --model NAME [flags]`` (``--model NAME --help`` lists its flags).

The family scripts (ae.py, vae.py, cvae.py, ...) are this with their model chosen; a new model registered in
``facegen/models/FAMILY/`` trains here with no other change.
"""

import sys

from facegen.cli.args import Parser, guard
from facegen.cli.training import train_main
from facegen.models.registry import discover


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else list(argv)
    pre = Parser(add_help=False)
    pre.add_argument("--model", choices=sorted(discover()), required="--help" not in argv and "-h" not in argv)
    known, rest = pre.parse_known_args(argv)
    if known.model is None:
        pre.print_help()
        return
    train_main(rest, known.model)


if __name__ == "__main__":
    guard(main)
