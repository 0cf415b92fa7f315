"""Walk one latent dimension (or a condition: smile, gender, age) of a trained run, the rest fixed (see --help);
into RUN/axis."""

from pathlib import Path

from facegen.analysis.latent import explore
from facegen.cli.args import (
    EXTRAPOLATE,
    Parser,
    add_common_args,
    add_condition_args,
    add_run_arg,
    check_condition_range,
    condition_values,
    guard,
    open_run,
)
from facegen.core.argtypes import bounds, degree, int_at_least, positive_int
from facegen.models.capabilities import Decoder

MAX_RANGE = 10.0  # prior standard deviations: a walk beyond this only saturates


def parser() -> Parser:
    p = Parser(description="Decode a walk along one latent dimension, other dimensions fixed; writes RUN/axis/.")
    add_run_arg(p, default_model=True)
    add_common_args(p)
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--axis", help="latent dimension K (0-based), or a condition to move instead: cond (the smile "
                                      "degree), gender or age (runs trained with --conditions smile,gender,age)")
    which.add_argument("--all", action="store_true", help="every dimension, plus an overview of the most used ones")
    p.add_argument("--range", dest="bounds", type=bounds(-MAX_RANGE, MAX_RANGE), default=None,
                   help=f"LOW:HIGH of the walk: latent dimensions in prior standard deviations (default -3:3, at most "
                        f"{MAX_RANGE:g}); conditions in their [-1, +1] units (default -1:1; up to {EXTRAPOLATE:g} "
                        f"extrapolates, and a note says so)")
    p.add_argument("--steps", type=int_at_least(2), default=10, help="images along the walk (>= 2)")
    p.add_argument("--degree", type=degree(), default=0.0, help="smile degree the images are decoded with (-1 to +1)")
    add_condition_args(p)
    p.add_argument("--n", type=positive_int, default=1,
                   help="condition walks only: rows of N codes drawn from the prior (default 1: the origin)")
    p.add_argument("--from_image", "--from-image", type=Path, default=None,
                   help="start from this photo's code instead of the origin")
    return p


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    axis = explore.parse_axis(args.axis)
    others = condition_values(args)
    if isinstance(axis, str) and args.bounds:
        check_condition_range("--range", args.bounds)
    run, model = open_run(args, (Decoder, "walking a latent axis"))
    for path in explore.sample_across_axis(run, model, axis=axis, every=args.all, bounds=args.bounds,
                                           steps=args.steps, degree=args.degree, from_image=args.from_image,
                                           n=args.n, seed=args.seed, **others):
        print(f"wrote {path}")


if __name__ == "__main__":
    guard(main)
