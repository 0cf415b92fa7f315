"""Does a smile edit keep the person? Every editing candidate, measured by an identity run.

For a conditional run: its labelled validation faces and --unseen faces of its image folder it never saw,
each forced to smile -1 and +1 by plain decoding, residual editing (photo + the model's masked change), masked
replacement, and, after per-photo inversion of the code (and pivotal tuning of a decoder copy), the same again;
the identity judge (--identity, from train_identity.py) says whether each output is still the same person,
the run's smile regressor whether the smile flipped, its gender classifier whether the gender call changed.
Writes RUN/identity/editing.json and RUN/identity/editing_*.png, and prints the table (markdown).
"""

from pathlib import Path

from facegen.analysis.evaluation import edit_identity
from facegen.analysis.judges.identity import load_judge
from facegen.cli.args import Parser, add_common_args, add_run_arg, guard, open_run
from facegen.core.argtypes import nonnegative_int
from facegen.models.capabilities import Decoder, Encoder


def parser() -> Parser:
    p = Parser(description="Plain decoding against residual editing: identity kept, smile flips, gender changes.")
    add_run_arg(p, default_model=True)
    add_common_args(p)
    p.add_argument("--identity", type=Path, required=True,
                   help="identity run (train_identity.py) that judges 'same person'")
    p.add_argument("--unseen", type=nonnegative_int, default=200,
                   help="faces of the run's image folder it never saw to measure as well (0: none)")
    p.add_argument("--inversion_steps", type=nonnegative_int, default=200,
                   help="Adam steps of per-photo code inversion (the 'inverted' candidates; 0: leave them out)")
    p.add_argument("--pivotal_steps", type=nonnegative_int, default=50,
                   help="Adam steps of pivotal tuning of a decoder copy per photo (the 'pivotal' candidates; 0: "
                        "leave them out)")
    return p


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    run, model = open_run(args, (Encoder, "editing faces"), (Decoder, "editing faces"))
    judge = load_judge(args.identity, next(model.parameters()).device)
    result = edit_identity.study(run, model, judge, args.unseen, args.seed, args.inversion_steps, args.pivotal_steps)
    print("\n".join(edit_identity.study_table(result)))
    print(f"wrote {args.run / 'identity' / 'editing.json'}")


if __name__ == "__main__":
    guard(main)
