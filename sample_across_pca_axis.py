"""Walk the principal axes of a trained run's latent codes, in standard deviations (see --help); into RUN/axis."""

from facegen.analysis import explore
from facegen.cli.args import Parser, add_common_args, add_run_arg, guard, open_run, parse_bounds


def parser() -> Parser:
    p = Parser(description="Fit PCA to the training set's posterior means and decode a walk along each principal "
                           "axis; writes RUN/axis/pca_axis_K.png and RUN/axis/pca_overview.png.")
    add_run_arg(p)
    add_common_args(p)
    p.add_argument("--range", dest="bounds", default="-3:3", help="LOW:HIGH of the walk, in standard deviations")
    p.add_argument("--steps", type=int, default=10, help="images along each walk")
    p.add_argument("--degree", type=float, default=0.0, help="smile degree the images are decoded with")
    return p


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    bounds = parse_bounds(args.bounds, "--range")
    run, model = open_run(args, ("encode", "principal axes of encoded faces"), ("decode", "principal walks"))
    for path in explore.sample_across_pca_axis(run, model, bounds=bounds, steps=args.steps,
                                               degree=args.degree):
        print(f"wrote {path}")


if __name__ == "__main__":
    guard(main)
