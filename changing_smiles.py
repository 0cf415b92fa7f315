"""Force smiles on real faces: encode them with their own degree, decode with the degree shifted or set (see --help).

Figures go to RUN/forcing.
"""

from pathlib import Path

from facegen.analysis import explore
from facegen.cli.args import (
    Parser,
    add_common_args,
    add_condition_args,
    add_run_arg,
    condition_values,
    guard,
    open_run,
    parse_floats,
)


def parser() -> Parser:
    p = Parser(description="Change the smile of real faces with a trained CVAE; writes RUN/forcing/.")
    add_run_arg(p)
    add_common_args(p)
    how = p.add_mutually_exclusive_group()
    how.add_argument("--shifts", default="-0.7,-0.5,0.5,0.7", help="add each of these to the face's own degree")
    how.add_argument("--set", dest="set_to", default=None, help="set the degree to each of these, e.g. -1,0,1")
    p.add_argument("--images", type=Path, nargs="+", default=None,
                   help="your own face photos instead of the run's validation faces")
    p.add_argument("--own_degree", type=float, default=None,
                   help="smile degree of faces without a label (--images, unlabelled validation faces); default: "
                        "the degree q(y|x) predicts on semi-supervised runs, else 0")
    add_condition_args(p)
    p.add_argument("--n", type=int, default=10, help="number of validation faces (columns)")
    p.add_argument("--face", type=int, default=0, help="which face (column) forcing_smiles_one.png follows")
    return p


def main(argv: list[str] | None = None) -> None:
    p = parser()
    args = p.parse_args(argv)
    if args.n < 1:
        p.error(f"--n {args.n}: need at least one face")
    set_to = parse_floats(args.set_to, "--set") if args.set_to else None
    shifts = None if set_to else parse_floats(args.shifts, "--shifts")
    others = condition_values(args)
    run, model = open_run(args, ("encode", "forcing smiles on real faces"), ("decode", "forcing smiles"))
    for path in explore.changing_smiles(run, model, shifts=shifts, set_to=set_to, n=args.n,
                                        images=args.images, own_degree=args.own_degree, face=args.face, **others):
        print(f"wrote {path}")


if __name__ == "__main__":
    guard(main)
