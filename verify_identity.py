"""Verify an identity run on its held-out people and calibrate it (see facegen.analysis.judges.identity).

Writes RUN/verification.json (10-fold accuracy, the "same person" threshold, the calibration table),
RUN/mean_face.png (the framing template) and RUN/plots/verification.png, and prints a table. train_identity.py
runs this at the end of training; evaluate.py --identity RUN reads what it wrote.
"""

from facegen.analysis.judges import identity
from facegen.cli.args import Parser, add_common_args, add_run_arg, guard
from facegen.core.devices import pick_device
from facegen.core.seeding import seed_everything
from facegen.runs import Run


def parser() -> Parser:
    p = Parser(description="10-fold verification of an identity run on people it never saw, its 'same person' "
                           "threshold and a calibration table; writes RUN/verification.json.")
    add_run_arg(p)
    add_common_args(p)
    return p


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    seed_everything(args.seed)
    run = Run.load(args.run)
    result = identity.report(run, pick_device(args.device), args.seed)
    print("\n".join(identity.summary(result)))
    print(f"wrote {run.path / identity.VERIFICATION}")


if __name__ == "__main__":
    guard(main)
