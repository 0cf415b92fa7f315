"""Label smiles in a timed slideshow, or merge raters' answers into smile degrees (see --help).

    label_smiles.py --images DIR --rater NAME [--n 200] [--seed 0]     s: smiling, n: not smiling, q: quit
    label_smiles.py --merge labels/*.csv --out FILE                     FILE trains a model: cvae.py --labels FILE

Each answer is saved at once to labels/<rater>.csv; restarting continues with the faces not yet answered.
A face's degree is the mean over raters of sign * 2 ** (-reaction time / the rater's median reaction time);
the formula is documented in facegen/apps/labelling.py.
"""

from pathlib import Path

from facegen.apps.labelling import label_session, merge_labels
from facegen.cli.args import Parser, guard
from facegen.core.argtypes import positive_int, seed


def parse_args(argv: list[str] | None = None):
    p = Parser(description=__doc__.splitlines()[0])
    p.add_argument("--images", type=Path, help="folder of face images to label")
    p.add_argument("--rater", help="your name: answers go to LABELS_DIR/<rater>.csv")
    p.add_argument("--n", type=positive_int, default=200,
                   help="faces in the session, >= 1 (drawn from the folder with --seed)")
    p.add_argument("--seed", type=seed, default=0, help="which faces are drawn (raters with one seed see the same)")
    p.add_argument("--labels_dir", type=Path, default=Path("labels"), help="folder of the answers files")
    p.add_argument("--merge", type=Path, nargs="+", help="answers files to merge into smile degrees")
    p.add_argument("--out", type=Path, help="with --merge: the label file to write (the agreement goes beside it)")
    args = p.parse_args(argv)
    if args.merge is None and (args.images is None or args.rater is None):
        p.error("pass --images DIR --rater NAME to label, or --merge FILES --out FILE to merge")
    if args.merge is not None and args.out is None:
        p.error("--merge needs --out FILE")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.merge is not None:
        merge_labels(args.merge, args.out)
    else:
        label_session(args.images, args.rater, args.labels_dir, args.n, args.seed)


if __name__ == "__main__":
    guard(main)
