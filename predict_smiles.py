"""Smile degrees predicted by a semi-supervised run's q(y|x) (see --help).

    predict_smiles.py --run DIR --images DIR --out FILE    degrees of any folder of faces, in the label-file format
    predict_smiles.py --run DIR --heldout                  q(y|x)'s error on the run's held-out labelled faces,
                                                           against predicting the mean degree (RUN/smile_head.json)
"""

import argparse
from pathlib import Path

from facegen.analysis.latent import smile_head
from facegen.cli.args import Parser, add_common_args, add_run_arg, guard, open_run
from facegen.core.files import check_writable_file
from facegen.data.labels import write_smile_labels
from facegen.models.capabilities import SmilePredictor
from facegen.runs import write_json


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = Parser(description=__doc__.splitlines()[0])
    add_run_arg(p, default_model=True)
    add_common_args(p)
    p.add_argument("--images", type=Path, help="folder of face images to predict")
    p.add_argument("--out", type=Path, help="label file to write (',stimulus_filename,avg_encode')")
    p.add_argument("--heldout", action="store_true", help="measure q(y|x) on the run's held-out labelled faces")
    args = p.parse_args(argv)
    if not args.heldout and (args.images is None or args.out is None):
        p.error("pass --images DIR --out FILE, or --heldout")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.out is not None:
        check_writable_file(args.out, "--out")
    run, model = open_run(args, (SmilePredictor, "predicting smile degrees"), writes=args.heldout)
    if args.images is not None and args.out is not None:
        degrees = smile_head.predict_folder(model, run, args.images)
        write_smile_labels(args.out, degrees)
        print(f"{len(degrees)} predicted smile degrees -> {args.out}")
    if args.heldout:
        m = smile_head.heldout_error(model, *run.faces())
        write_json(args.run / "smile_head.json", m)
        print(f"q(y|x) on {m['n_heldout']} held-out labelled faces: MAE {m['mae']:.3f}, RMSE {m['rmse']:.3f}, "
              f"r {m['correlation']:.2f}; predicting the mean {m['mean_degree']:+.2f}: MAE "
              f"{m['mae_mean_predictor']:.3f}, RMSE {m['rmse_mean_predictor']:.3f} -> {args.run / 'smile_head.json'}")


if __name__ == "__main__":
    guard(main)
