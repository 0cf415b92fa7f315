"""Force smiles on real faces: encode them with their own degree, decode with the degree shifted or set (see --help).

Figures go to RUN/forcing.
"""

from pathlib import Path

from facegen.analysis.latent import explore
from facegen.cli.args import (
    Parser,
    add_common_args,
    add_condition_args,
    add_run_arg,
    condition_values,
    guard,
    open_run,
)
from facegen.core.argtypes import degree, float_list, nonnegative_int, positive_int
from facegen.models.capabilities import Decoder, Encoder

MAX_SHIFT = 2.0  # a shift of 2 takes any degree in [-1, +1] across the whole range


def parser() -> Parser:
    p = Parser(description="Change the smile of real faces with a trained CVAE; writes RUN/forcing/.")
    add_run_arg(p, default_model=True)
    add_common_args(p)
    how = p.add_mutually_exclusive_group()
    how.add_argument("--shifts", type=float_list(-MAX_SHIFT, MAX_SHIFT), default="-0.7,-0.5,0.5,0.7",
                     help=f"add each of these (from -{MAX_SHIFT:g} to {MAX_SHIFT:g}) to the face's own degree; a "
                          f"shifted degree past -1 or +1 extrapolates beyond the training labels")
    how.add_argument("--set", dest="set_to", type=float_list(-1, 1), default=None,
                     help="set the degree to each of these (-1 to +1), e.g. -1,0,1")
    p.add_argument("--images", type=Path, nargs="+", default=None,
                   help="your own face photos instead of the run's validation faces")
    p.add_argument("--own_degree", type=degree(), default=None,
                   help="smile degree of faces without a label (--images, unlabelled validation faces); default: "
                        "the degree q(y|x) predicts on semi-supervised runs, else 0 (-1 to +1)")
    add_condition_args(p)
    p.add_argument("--n", type=positive_int, default=10, help="number of validation faces (columns), >= 1")
    p.add_argument("--face", type=nonnegative_int, default=0,
                   help="which face (column, from 0) forcing_smiles_one.png follows")
    return p


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    set_to = args.set_to
    shifts = None if set_to else args.shifts
    others = condition_values(args)
    run, model = open_run(args, (Encoder, "forcing smiles on real faces"), (Decoder, "forcing smiles"))
    for path in explore.changing_smiles(run, model, shifts=shifts, set_to=set_to, n=args.n,
                                        images=args.images, own_degree=args.own_degree, face=args.face, **others):
        print(f"wrote {path}")


if __name__ == "__main__":
    guard(main)
