"""Attribute vectors: for each of CelebA's 40 attributes, the mean latent code of faces with and without it.

Encodes every face (posterior means) and writes RUN/attributes/attribute_vectors.npz; --by Male also computes
the vectors separately among men and among women.
"""

from pathlib import Path

from facegen.analysis.directions.attribute_figures import write_attribute_vectors
from facegen.cli.args import Parser, add_common_args, add_run_arg, guard, open_run
from facegen.models.capabilities import Encoder


def main(argv: list[str] | None = None) -> None:
    p = Parser(description=__doc__)
    add_common_args(p)
    add_run_arg(p, default_model=True)
    p.add_argument("--data", type=Path, default=None, help="CelebA image folder (default: the run's own faces)")
    p.add_argument("--attrs", type=Path, default=None, help="CelebA list_attr_celeba.txt (default: the run's)")
    p.add_argument("--by", default=None, help="also compute the vectors within each value of this attribute")
    args = p.parse_args(argv)
    run, model = open_run(args, (Encoder, "attribute vectors from encoded faces"))
    write_attribute_vectors(run, model, args.data, args.attrs, args.by)


if __name__ == "__main__":
    guard(main)
