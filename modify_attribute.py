"""Add (or remove) an attribute by latent arithmetic: code + amount x attribute vector, decoded.

Needs RUN/attributes/attribute_vectors.npz (attribute_vectors.py). Faces: held-out faces without the attribute
(--without N), with it (--with N, for removal with negative amounts), or your photos (--images). Writes
RUN/attributes/add_<attribute>.png (remove_<attribute>.png when no amount is positive).
"""

from pathlib import Path

from facegen.analysis.attribute_study import modify_attribute
from facegen.cli.args import Parser, add_common_args, add_run_arg, guard, open_run, parse_span


def main(argv: list[str] | None = None) -> None:
    p = Parser(description=__doc__)
    add_common_args(p)
    add_run_arg(p)
    p.add_argument("--attribute", required=True, help="CelebA attribute, e.g. Smiling, Eyeglasses, Bald, Male")
    faces = p.add_mutually_exclusive_group()
    faces.add_argument("--images", type=Path, nargs="+", default=None, help="face photos to edit")
    faces.add_argument("--without", type=int, default=None, help="edit N held-out faces without the attribute")
    faces.add_argument("--with", dest="having", type=int, default=None,
                       help="edit N held-out faces with the attribute (use negative --amounts to remove it)")
    p.add_argument("--amounts", default="0:2:0.25", help="START:STOP:STEP multiples of the vector")
    args = p.parse_args(argv)
    amounts = parse_span(args.amounts, "--amounts")
    run, model = open_run(args, ("encode", "attribute edits of real faces"), ("decode", "attribute edits"))
    having = args.having is not None
    n = args.having if having else (args.without or 6)
    modify_attribute(run, model, args.attribute, args.images, n, having, amounts, args.seed)


if __name__ == "__main__":
    guard(main)
