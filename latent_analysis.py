"""Histograms of a trained run's latent codes, their PCA, and interpolations between faces (see --help).

Figures go to RUN/plots and RUN/interp.
"""

from facegen.analysis import explore
from facegen.cli.args import Parser, add_common_args, add_run_arg, guard, open_run


def parser() -> Parser:
    p = Parser(description="Latent histograms (before / after PCA), explained variance, and interpolations "
                           "between validation faces; writes RUN/plots/ and RUN/interp/.")
    add_run_arg(p)
    add_common_args(p)
    p.add_argument("--pair", type=int, nargs=2, metavar=("A", "B"), default=None,
                   help="interpolate between validation faces A and B (indices); default: random pairs")
    p.add_argument("--n_pairs", type=int, default=5, help="number of random pairs")
    p.add_argument("--steps", type=int, default=10, help="images along each interpolation")
    return p


def main(argv: list[str] | None = None) -> None:
    p = parser()
    args = p.parse_args(argv)
    if args.steps < 2 or args.n_pairs < 1:
        p.error("--steps must be at least 2 and --n_pairs at least 1")
    run, model = open_run(args, ("encode", "latent analysis of the encoded faces"), ("decode", "interpolations"))
    for path in explore.latent_analysis(run, model, seed=args.seed, pair=args.pair,
                                        n_pairs=args.n_pairs, steps=args.steps):
        print(f"wrote {path}")


if __name__ == "__main__":
    guard(main)
