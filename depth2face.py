"""Train a depth map -> face translator: ``python depth2face.py --mode supervised|gan|pix2pix|semi|cycle``.

Every mode is a model of the image-to-image family (``--mode gan --help`` lists its flags); ``--mode
face2depth`` trains the face -> depth network that evaluate_depth2face.py uses to judge correspondence. With
no --pairs the toy pairs are used. ``--resume --out DIR`` continues a run in its own mode.
"""

import argparse
import sys
from pathlib import Path

from facegen.cli.args import Parser, guard
from facegen.cli.training import train_main
from facegen.core.errors import FacegenError
from facegen.runs import FLAGS, Run

MODES = ("supervised", "gan", "pix2pix", "semi", "cycle", "face2depth")
MODEL = {mode: mode if mode == "face2depth" else f"d2f_{mode}" for mode in MODES}
DEFAULTS = {"--resize": "64", "--batch_size": "16"}


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else list(argv)
    pre = Parser(description="Train a depth map -> face translator (or the face2depth judge); --mode MODE --help "
                             "lists that mode's flags", add_help=False, formatter_class=argparse.HelpFormatter)
    pre.add_argument("--mode", choices=MODES, default=None, help="what to train (default: supervised)")
    pre.add_argument("--out", type=Path, default=None, help="run folder (default: results/MODEL)")
    known, rest = pre.parse_known_args(argv)
    mode = known.mode
    if "--resume" in rest and mode is None and known.out is not None and (known.out / FLAGS).is_file():
        name = Run.load(known.out).model_name
        mode = next((m for m, model in MODEL.items() if model == name), None)
        if mode is None:
            raise FacegenError(f"{known.out} holds a {name} run, which depth2face.py does not train")
    if mode is None:
        if "--help" in rest or "-h" in rest:
            pre.print_help()
            return
        mode = "supervised"
    out = ["--out", str(known.out)] if known.out is not None else []
    train_main(rest + out, MODEL[mode], defaults=DEFAULTS)


if __name__ == "__main__":
    guard(main)
