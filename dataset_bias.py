"""Gender of smiling and not smiling faces in a labelled UTKFace folder (see --help); into OUT/plots."""

from pathlib import Path

from facegen.analysis.evaluation import metrics
from facegen.cli.args import Parser, guard
from facegen.core.files import check_writable_folder


def parser() -> Parser:
    p = Parser(description="Pie charts of gender (from the UTKFace file names) among smiling and not smiling "
                           "labelled faces; writes OUT/plots/dataset_bias.png.")
    p.add_argument("--data", type=Path, required=True, help="image folder with UTKFace file names")
    p.add_argument("--labels", type=Path, required=True, help="smile label CSV (',stimulus_filename,avg_encode')")
    p.add_argument("--out", type=Path, default=Path("results"), help="results folder")
    return p


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    check_writable_folder(args.out, "--out")
    path, lines = metrics.dataset_bias(args.data, args.labels, args.out / "plots" / "dataset_bias.png")
    print("\n".join(lines))
    print(f"wrote {path}")


if __name__ == "__main__":
    guard(main)
