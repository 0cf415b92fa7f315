"""Label smiles in a timed slideshow, or merge raters' answers into smile degrees (see --help).

    label_smiles.py --images DIR --rater NAME [--n 200] [--seed 0]     s: smiling, n: not smiling, q: quit
    label_smiles.py --merge labels/*.csv --out FILE                     FILE trains a model: cvae.py --labels FILE

Each answer is saved at once to labels/<rater>.csv; restarting continues with the faces not yet answered.
A face's degree is the mean over raters of sign * 2 ** (-reaction time / the rater's median reaction time);
the formula is documented in facegen/labelling.py.
"""

from pathlib import Path

from facegen.apps.labelling import Slideshow, answers_file, merge_answers, open_window, write_agreement
from facegen.cli.args import Parser, guard
from facegen.core.argtypes import positive_int, seed
from facegen.core.errors import FacegenError
from facegen.core.files import check_writable_file, check_writable_folder
from facegen.data.cache import list_images
from facegen.data.labels import write_smile_labels


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


def merge(files: list[Path], out: Path) -> None:
    merged = merge_answers(files)
    write_smile_labels(out, {image: m.degree for image, m in merged.items()})
    agreement = out.with_name(f"{out.stem}_agreement.csv")
    write_agreement(agreement, merged)
    multi = [m for m in merged.values() if m.n_raters > 1]
    print(f"{len(merged)} faces from {len(files)} raters -> {out}")
    if multi:
        mean = sum(m.agreement for m in multi) / len(multi)
        unanimous = sum(m.agreement == 1 for m in multi)
        print(f"{len(multi)} faces seen by 2+ raters: mean agreement {mean:.3f}, unanimous {unanimous}/{len(multi)}; "
              f"per face: {agreement}")


def label(images: Path, rater: str, labels_dir: Path, n: int, seed: int) -> None:
    path = answers_file(labels_dir, rater)
    show = Slideshow(list_images(images), path, rater, n=n, seed=seed)
    if show.finished:
        raise FacegenError(f"all {show.total} faces of this session are already answered in {path}: "
                           f"pass another --seed or a larger --n for new faces")
    print(f"{show.answered}/{show.total} answered so far; s: smiling, n: not smiling, q: quit (answers -> {path})")
    open_window(show)
    print(f"{show.answered}/{show.total} answered; saved in {path}")


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.merge is not None:
        check_writable_file(args.out, "--out")
        merge(args.merge, args.out)
    else:
        check_writable_folder(args.labels_dir, "--labels_dir")
        label(args.images, args.rater, args.labels_dir, args.n, args.seed)


if __name__ == "__main__":
    guard(main)
