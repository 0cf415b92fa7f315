"""Attribute vectors: for each of CelebA's 40 attributes, the mean latent code of faces with and without it.

Encodes every face (posterior means) and writes RUN/attributes/attribute_vectors.npz; --by Male also computes
the vectors separately among men and among women.
"""

from pathlib import Path

from facegen.attribute_study import write_attribute_vectors
from facegen.cli import Parser, add_common_args, add_run_arg, guard, pick_device
from facegen.run import load_trained


def main() -> None:
    p = Parser(description=__doc__)
    add_common_args(p)
    add_run_arg(p)
    p.add_argument("--data", type=Path, default=None, help="CelebA image folder (default: the run's own faces)")
    p.add_argument("--attrs", type=Path, default=None, help="CelebA list_attr_celeba.txt (default: the run's)")
    p.add_argument("--by", default=None, help="also compute the vectors within each value of this attribute")
    args = p.parse_args()
    model, flags = load_trained(args.run, pick_device(args.device))
    write_attribute_vectors(args.run, model, flags, args.data, args.attrs, args.by)


if __name__ == "__main__":
    guard(main)
