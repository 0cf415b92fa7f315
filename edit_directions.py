"""Edit directions by linear classifiers in latent space (InterFaceGAN).

Fits a linear SVM that tells faces with an attribute from faces without it, reports its held-out accuracy and
saves the unit normal of its boundary as the edit direction. With --fixed, the other attributes'
directions are projected out, so the edit leaves them alone; the figure compares plain and conditioned edits.
Everything goes to RUN/attributes/directions/.
"""

from facegen.analysis.attribute_study import write_directions
from facegen.cli.args import Parser, add_common_args, add_run_arg, guard, open_run
from facegen.core.argtypes import positive_int, span

MAX_AMOUNT = 10.0  # lengths of the mean difference along the direction: beyond this an edit only saturates


def main(argv: list[str] | None = None) -> None:
    p = Parser(description=__doc__)
    add_common_args(p)
    add_run_arg(p)
    p.add_argument("--attribute", required=True, help="CelebA attribute to edit, e.g. Smiling")
    p.add_argument("--fixed", default="", help="comma-separated attributes to keep fixed, e.g. Male,Young")
    p.add_argument("--n", type=positive_int, default=4,
                   help="held-out faces (without the attribute) in the figure (>= 1)")
    p.add_argument("--amounts", type=span(-MAX_AMOUNT, MAX_AMOUNT), default="0:3:0.75",
                   help="START:STOP:STEP, in units of the distance between the mean codes with and without the "
                        f"attribute along the direction (from -{MAX_AMOUNT:g} to {MAX_AMOUNT:g})")
    args = p.parse_args(argv)
    fixed = [c.strip() for c in args.fixed.split(",") if c.strip()]
    run, model = open_run(args, ("encode", "edit directions from encoded faces"), ("decode", "attribute edits"))
    write_directions(run, model, args.attribute, fixed, args.n, args.amounts, args.seed)


if __name__ == "__main__":
    guard(main)
