"""Walk one latent dimension (or the smile degree) of a trained run, the rest fixed (see --help); into RUN/axis."""

from pathlib import Path

from facegen import explore
from facegen.cli import Parser, add_common_args, add_run_arg, guard, parse_bounds, pick_device
from facegen.errors import FacegenError
from facegen.run import load_trained
from facegen.train import seed_everything


def parser() -> Parser:
    p = Parser(description="Decode a walk along one latent dimension, other dimensions fixed; writes RUN/axis/.")
    add_run_arg(p)
    add_common_args(p)
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--axis", help="latent dimension K (0-based), or 'cond' to move the smile degree instead")
    which.add_argument("--all", action="store_true", help="every dimension, plus an overview of the most used ones")
    p.add_argument("--range", dest="bounds", default=None, help="LOW:HIGH of the walk (default -3:3; -1:1 for cond)")
    p.add_argument("--steps", type=int, default=10, help="images along the walk")
    p.add_argument("--degree", type=float, default=0.0, help="smile degree the images are decoded with")
    p.add_argument("--from_image", "--from-image", type=Path, default=None,
                   help="start from this photo's code instead of the origin")
    return p


def parse_axis(text: str | None) -> int | str | None:
    """An integer dimension, 'cond', or None (with --all)."""
    if text is None or text == "cond":
        return text
    try:
        return int(text)
    except ValueError:
        raise FacegenError(f"--axis {text!r} is neither a latent dimension (0, 1, ...) nor 'cond'") from None


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    axis = parse_axis(args.axis)
    bounds = parse_bounds(args.bounds, "--range") if args.bounds else None
    seed_everything(args.seed)
    model, flags = load_trained(args.run, pick_device(args.device))
    for path in explore.sample_across_axis(args.run, model, flags, axis=axis, every=args.all, bounds=bounds,
                                           steps=args.steps, degree=args.degree, from_image=args.from_image):
        print(f"wrote {path}")


if __name__ == "__main__":
    guard(main)
