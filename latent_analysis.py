"""Histograms of a trained run's latent codes, their PCA, and interpolations between faces (see --help).

Figures go to RUN/plots and RUN/interp.
"""

from facegen.analysis.latent import explore
from facegen.cli.args import Parser, add_common_args, add_run_arg, guard, open_run
from facegen.core.argtypes import int_at_least, nonnegative_int, positive_int
from facegen.models.capabilities import Decoder, Encoder


def parser() -> Parser:
    p = Parser(description="Latent histograms (before / after PCA), explained variance, and interpolations "
                           "between validation faces; writes RUN/plots/ and RUN/interp/.")
    add_run_arg(p, default_model=True)
    add_common_args(p)
    p.add_argument("--pair", type=nonnegative_int, nargs=2, metavar=("A", "B"), default=None,
                   help="interpolate between validation faces A and B (indices); default: random pairs")
    p.add_argument("--n_pairs", type=positive_int, default=5, help="number of random pairs (>= 1)")
    p.add_argument("--steps", type=int_at_least(2), default=10, help="images along each interpolation (>= 2)")
    return p


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    run, model = open_run(args, (Encoder, "latent analysis of the encoded faces"), (Decoder, "interpolations"))
    for path in explore.latent_analysis(run, model, seed=args.seed, pair=args.pair,
                                        n_pairs=args.n_pairs, steps=args.steps):
        print(f"wrote {path}")


if __name__ == "__main__":
    guard(main)
