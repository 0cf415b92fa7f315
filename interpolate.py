"""Interpolate between two faces in latent space: two photos, two face ids, or pairs picked for you
(random, with and without an attribute, same gender, different gender). Figures go to RUN/interp/."""

from pathlib import Path

from facegen.analysis.latent.interpolation import MODES, write_interpolations
from facegen.cli.args import Parser, add_common_args, add_run_arg, guard, open_run
from facegen.core.argtypes import int_at_least, positive_int
from facegen.models.capabilities import Decoder, Encoder


def main(argv: list[str] | None = None) -> None:
    p = Parser(description=__doc__)
    add_common_args(p)
    add_run_arg(p, default_model=True)
    which = p.add_mutually_exclusive_group()
    which.add_argument("--images", type=Path, nargs="+", default=None, help="two face photos: A B")
    which.add_argument("--ids", nargs="+", default=None, help="two face ids of the run's data, e.g. 000042 001234")
    which.add_argument("--pairs", choices=MODES, default="random",
                       help="held-out pairs: random, attribute (A with --attribute, B without), same_gender, "
                            "different_gender (A a man, B a woman)")
    p.add_argument("--attribute", default=None, help="the attribute of --pairs attribute, e.g. Smiling")
    p.add_argument("--n_pairs", type=positive_int, default=6, help="pairs to draw (>= 1)")
    p.add_argument("--steps", type=int_at_least(2), default=8, help="points on each path, both ends included (>= 2)")
    args = p.parse_args(argv)
    run, model = open_run(args, (Encoder, "interpolating between encoded faces"), (Decoder, "interpolations"))
    write_interpolations(run, model, images=args.images, ids=args.ids, mode=args.pairs,
                         attribute=args.attribute, n_pairs=args.n_pairs, steps=args.steps, seed=args.seed)


if __name__ == "__main__":
    guard(main)
