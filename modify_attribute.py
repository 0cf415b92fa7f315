"""Add (or remove) an attribute by latent arithmetic: code + amount x the attribute's direction times its step,
decoded. --method mean_diff (default) adds the attribute vector itself (the difference of the mean codes with and
without it); svm and interfacegan use those directions (edit_directions.py), scaled to their own step.

Faces: held-out faces without the attribute (--without N), with it (--with N, for removal with negative amounts), or
your photos (--images). Writes RUN/attributes/add_<attribute>[_<method>].png (remove_... when no amount is positive).
"""

from pathlib import Path

from facegen.analysis.directions.attribute_figures import modify_attribute
from facegen.analysis.directions.steering import ATTRIBUTE_METHODS
from facegen.cli.args import Parser, add_common_args, add_run_arg, guard, open_run
from facegen.cli.steering import add_judge_args, add_method_arg, judges_from, sampling_from
from facegen.core.argtypes import positive_int, span
from facegen.models.capabilities import Decoder, Encoder

MAX_AMOUNT = 10.0  # multiples of the attribute vector: beyond this an edit only saturates
N_DEFAULT = 6


def main(argv: list[str] | None = None) -> None:
    p = Parser(description=__doc__)
    add_common_args(p)
    add_run_arg(p, default_model=True)
    p.add_argument("--attribute", required=True,
                   help="attribute: a CelebA attribute (Smiling, Eyeglasses, Bald, Male, ...), smile or gender")
    add_method_arg(p, ATTRIBUTE_METHODS, "mean_diff")
    faces = p.add_mutually_exclusive_group()
    faces.add_argument("--images", type=Path, nargs="+", default=None, help="face photos to edit")
    faces.add_argument("--without", type=positive_int, default=None,
                       help=f"edit N (>= 1) held-out faces without the attribute (the default, N = {N_DEFAULT})")
    faces.add_argument("--with", dest="having", type=positive_int, default=None,
                       help="edit N (>= 1) held-out faces with the attribute (use negative --amounts to remove it)")
    p.add_argument("--amounts", type=span(-MAX_AMOUNT, MAX_AMOUNT), default="0:2:0.25",
                   help=f"START:STOP:STEP multiples of the vector (from -{MAX_AMOUNT:g} to {MAX_AMOUNT:g})")
    add_judge_args(p)
    args = p.parse_args(argv)
    run, model = open_run(args, (Encoder, "attribute edits of real faces"), (Decoder, "attribute edits"))
    having = args.having is not None
    n = args.having if having else (args.without or N_DEFAULT)
    modify_attribute(run, model, args.attribute, args.images, n, having, args.amounts, args.seed, args.method,
                     judges_from(args, run, model), sampling_from(args))


if __name__ == "__main__":
    guard(main)
