"""The slider window: a face with sliders for the run's top principal directions (in standard deviations, ordered
by variance), its conditions (smile, gender, age) and chosen attribute directions; buttons for a random face,
reset, loading a photo (runs with an encoder) and saving the face as PNG with a JSON of the slider values.

    python face_sliders.py --run results/cvae
    python face_sliders.py --run results/cvae --set pc0=2,pc3=-1,smile=0.5 --save face.png     (no window)
"""

import argparse
from pathlib import Path

from facegen.analysis.directions.principal import PRINCIPAL
from facegen.analysis.directions.steering import ATTRIBUTE_METHODS
from facegen.apps.sliders import parse_settings
from facegen.cli.args import Parser, add_common_args, add_run_arg, guard, open_run
from facegen.cli.sliders import build_state, show_sliders
from facegen.cli.steering import add_judge_args, judges_from, sampling_from
from facegen.core.argtypes import int_at_least
from facegen.models.capabilities import Decoder, Encoder, require


def main(argv: list[str] | None = None) -> None:
    p = Parser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_args(p)
    add_run_arg(p, default_model=True)
    p.add_argument("--method", default="auto", choices=("auto", *PRINCIPAL),
                   help="principal directions: pca (encoder runs), ganspace or sefa; auto picks the first the run "
                        "supports, in that order")
    p.add_argument("--k", type=int_at_least(1), default=8, help="sliders for the top K principal directions")
    p.add_argument("--attributes", default="", help="comma-separated attributes with a direction slider "
                                                    "(dir_<attribute>), e.g. smile,Eyeglasses")
    p.add_argument("--attribute_method", default="interfacegan", choices=ATTRIBUTE_METHODS,
                   help="how the attribute directions are found")
    p.add_argument("--set", dest="settings", default="", help="slider values NAME=VALUE,..., e.g. pc0=2,smile=0.5")
    p.add_argument("--photo", type=Path, default=None, help="start from this photo (runs with an encoder)")
    p.add_argument("--save", type=Path, default=None,
                   help="write the face to this PNG (and the slider values to the same-stem .json) without a window")
    p.add_argument("--screenshot", type=Path, default=None,
                   help="open the window, apply --set through its sliders, write the window's pixels to this PNG "
                        "and close it")
    add_judge_args(p)
    args = p.parse_args(argv)
    if args.save is not None and args.screenshot is not None:
        p.error("--save renders without a window and --screenshot photographs the window: pass one")
    settings = parse_settings(args.settings)
    run, model = open_run(args, (Decoder, "the slider window"))
    if args.photo is not None:
        require(model, Encoder, "--photo (encoding a photo)")
    attributes = [a.strip() for a in args.attributes.split(",") if a.strip()]
    state = build_state(run, model, method=args.method, k=args.k, attributes=attributes,
                        attribute_method=args.attribute_method, judges=judges_from(args, run, model),
                        sampling=sampling_from(args))
    if args.photo is not None:
        state.load_photo(args.photo)
    show_sliders(state, settings, args.save, args.screenshot, args.seed)


if __name__ == "__main__":
    guard(main)
