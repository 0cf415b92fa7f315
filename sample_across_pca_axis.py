"""Walk the principal directions of a trained run, in standard deviations (see --help); into RUN/axis."""

from facegen.analysis.directions import walks
from facegen.analysis.directions.principal import PRINCIPAL
from facegen.cli.args import Parser, add_common_args, add_run_arg, guard, open_run
from facegen.cli.steering import add_method_arg
from facegen.core.argtypes import bounds, degree, int_at_least
from facegen.models.capabilities import Decoder

MAX_RANGE = 10.0  # standard deviations along a principal axis: a walk beyond this only saturates


def parser() -> Parser:
    p = Parser(description="Find the principal directions of a run (--method pca: PCA of the training set's "
                           "posterior means; ganspace: PCA of a generator activation, regressed back to the latent "
                           "code; sefa: eigenvectors of the first generator layer's A^T A) and decode a walk along "
                           "each; writes RUN/axis/<method>_axis_K.png and RUN/axis/<method>_overview.png.")
    add_run_arg(p, default_model=True)
    add_common_args(p)
    add_method_arg(p, PRINCIPAL, "pca")
    p.add_argument("--k", type=int_at_least(1), default=None, help="walk the top K directions (default: all)")
    p.add_argument("--range", dest="bounds", type=bounds(-MAX_RANGE, MAX_RANGE), default="-3:3",
                   help=f"LOW:HIGH of the walk, in standard deviations (at most {MAX_RANGE:g} either way)")
    p.add_argument("--steps", type=int_at_least(2), default=10, help="images along each walk (>= 2)")
    p.add_argument("--degree", type=degree(), default=0.0, help="smile degree the images are decoded with (-1 to +1)")
    p.add_argument("--samples", type=int_at_least(20), default=2000, help="prior samples GANSpace analyses")
    p.add_argument("--start", choices=walks.WALK_STARTS, default="auto",
                   help="where the walks start: the directions' centre (mean: the mean code for pca, z = 0 for "
                        "ganspace and sefa), one prior sample drawn with --seed (sample), or auto: sample for a "
                        "model without an encoder (a GAN, whose z = 0 decodes to a grey average face), else mean")
    return p


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    run, model = open_run(args, (Decoder, "principal walks"))
    for path in walks.sample_across_pca_axis(run, model, bounds=args.bounds, steps=args.steps, degree=args.degree,
                                               method=args.method, k=args.k, n_samples=args.samples, seed=args.seed,
                                               start=args.start):
        print(f"wrote {path}")


if __name__ == "__main__":
    guard(main)
