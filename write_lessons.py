"""Write the taught smile editor's lessons (facegen.analysis.editing.lessons): the exemplar editor's edits of a
prepare_mouths.py folder's patches to smile -1 and +1, and each patch at its own degree, as a folder that
train_taught_editor.py reads with --pairs.

Writes OUT/lessons.csv, OUT/targets/*.png and OUT/lessons.json (counts); flags in OUT/flags.json.

Example: python write_lessons.py --mouths data/mouths --bank results/mouth_bank.safetensors --out data/lessons
"""

from __future__ import annotations

from pathlib import Path

from facegen.analysis.editing.lessons import write_lessons
from facegen.cli.args import Parser, guard
from facegen.core.argtypes import int_at_least
from facegen.core.files import write_json
from facegen.data.mouth_bank import load_bank


def main(argv: list[str] | None = None) -> None:
    p = Parser(description=__doc__.split("\n\n")[0])
    p.add_argument("--mouths", type=Path, default=Path("data/mouths"), help="prepare_mouths.py output folder")
    p.add_argument("--bank", type=Path, default=Path("results/mouth_bank.safetensors"),
                   help="build_mouth_bank.py's bank of real mouths (the teacher's)")
    p.add_argument("--limit", type=int_at_least(1), default=None, help="only the first N patches (default: all)")
    p.add_argument("--seed", type=int, default=0, help="recorded with the flags (the lessons are deterministic)")
    p.add_argument("--out", type=Path, default=Path("data/lessons"))
    args = p.parse_args(argv)
    bank = load_bank(args.bank)
    args.out.mkdir(parents=True, exist_ok=True)
    write_json(args.out / "flags.json", {k: str(v) for k, v in vars(args).items()})
    counts = write_lessons(args.mouths, bank, args.out, args.limit)
    print(f"{counts['lessons']} lessons of {counts['patches']} patches ({counts['exemplars_used']} real mouths "
          f"taught) -> {args.out}")


if __name__ == "__main__":
    guard(main)
