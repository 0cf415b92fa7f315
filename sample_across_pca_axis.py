"""Walk the principal axes of a trained run's latent codes, in standard deviations (see --help); into RUN/axis."""

from facegen.analysis import explore
from facegen.cli.args import Parser, add_common_args, add_run_arg, guard, open_run
from facegen.core.argtypes import bounds, degree, int_at_least

MAX_RANGE = 10.0  # standard deviations along a principal axis: a walk beyond this only saturates


def parser() -> Parser:
    p = Parser(description="Fit PCA to the training set's posterior means and decode a walk along each principal "
                           "axis; writes RUN/axis/pca_axis_K.png and RUN/axis/pca_overview.png.")
    add_run_arg(p)
    add_common_args(p)
    p.add_argument("--range", dest="bounds", type=bounds(-MAX_RANGE, MAX_RANGE), default="-3:3",
                   help=f"LOW:HIGH of the walk, in standard deviations (at most {MAX_RANGE:g} either way)")
    p.add_argument("--steps", type=int_at_least(2), default=10, help="images along each walk (>= 2)")
    p.add_argument("--degree", type=degree(), default=0.0, help="smile degree the images are decoded with (-1 to +1)")
    return p


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    run, model = open_run(args, ("encode", "principal axes of encoded faces"), ("decode", "principal walks"))
    for path in explore.sample_across_pca_axis(run, model, bounds=args.bounds, steps=args.steps,
                                               degree=args.degree):
        print(f"wrote {path}")


if __name__ == "__main__":
    guard(main)
