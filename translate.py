"""Translate your own images with a trained run: depth maps -> faces (or, with a face2depth run, photos -> depth).

``python translate.py --run results/d2f_supervised --images MY_DEPTH_MAPS --out faces/`` writes one PNG per
input, under the input's name, at the run's size. Depth maps must be what the run was trained on: 8-bit grey
(near = bright, 0 = no depth), square crops; anything else is refused in one line.
"""

import argparse
from pathlib import Path

from facegen.analysis.editing.translate_files import translate_files
from facegen.cli.args import Parser, add_common_args, add_run_arg, guard, open_run
from facegen.models.capabilities import Translator


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = Parser(description=__doc__.splitlines()[0])
    add_common_args(p)
    add_run_arg(p)
    p.add_argument("--images", type=Path, required=True,
                   help="a folder of depth maps (photos for a face2depth run), or one such image")
    p.add_argument("--out", type=Path, required=True, help="folder for the translations (one PNG per input)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    run, model = open_run(args, (Translator, "translating images"))
    print(translate_files(run, model, args.images, args.out))


if __name__ == "__main__":
    guard(main)
