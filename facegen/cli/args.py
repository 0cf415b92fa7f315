"""Shared argparse pieces for every script, and the one-line error exit."""

from __future__ import annotations

import argparse
import math
import re
import sys
from collections.abc import Callable
from pathlib import Path

from facegen.core.argtypes import SEED_MAX, device_name, int_at_least, int_between, nonnegative_int, open_unit, seed
from facegen.core.devices import pick_device
from facegen.core.errors import FacegenError
from facegen.core.seeding import seed_everything
from facegen.data.utkface import GENDERS, age_condition
from facegen.models.base import Model
from facegen.runs import Run


class Parser(argparse.ArgumentParser):
    """ArgumentParser whose errors are one line on stderr and exit status 2."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", argparse.ArgumentDefaultsHelpFormatter)
        super().__init__(*args, **kwargs)
        # values such as "-3,-1.1,1.1,3" or "-3:3" are values, not unknown options
        self._negative_number_matcher = re.compile(r"^-\.?\d[\d.,:eE+-]*$")

    def error(self, message: str) -> None:  # type: ignore[override]
        print(f"{self.prog}: error: {message} (see --help)", file=sys.stderr)
        sys.exit(2)


def guard(main: Callable[[], object]) -> None:
    """Run a script's main(): a FacegenError becomes one line on stderr and exit status 2."""
    try:
        main()
    except FacegenError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("interrupted: the last finished epoch is saved; continue with --resume", file=sys.stderr)
        sys.exit(130)


def add_common_args(p: argparse.ArgumentParser) -> None:
    """--seed and --device, which every script takes."""
    p.add_argument("--seed", type=seed, default=0,
                   help=f"random seed (data split, initialisation, sampling), 0 to {SEED_MAX}")
    p.add_argument("--device", type=device_name, default="auto",
                   help="auto (cuda if present, else cpu), cpu, cuda, cuda:N or mps")


def add_data_args(p: argparse.ArgumentParser) -> None:
    """Where the faces come from and how they are prepared."""
    g = p.add_argument_group("data")
    g.add_argument("--dataset", default="auto", choices=["auto", "utkface", "celeba", "lfw", "toy"],
                   help="auto: --data if given, else data/UTKFace with its label file, else the toy faces; lfw: "
                        "Labeled Faces in the Wild crops (no labels; split by person)")
    g.add_argument("--data", type=Path, default=None,
                   help="image folder (e.g. data/UTKFace; for lfw the folder holding lfwcrop_color_64/)")
    g.add_argument("--labels", type=Path, default=None,
                   help="smile label CSV (',stimulus_filename,avg_encode', degree in [-1, 1])")
    g.add_argument("--attrs", type=Path, default=None, help="CelebA list_attr_celeba.txt (with --dataset celeba)")
    g.add_argument("--toy_dir", type=Path, default=Path("data/toyfaces"),
                   help="where the procedural toy faces are generated when no real data is given")
    g.add_argument("--toy_n", type=int_at_least(4), default=3000, help="number of toy faces to generate (>= 4)")
    g.add_argument("--resize", type=int_between(32, 128), default=None,
                   help="square image size in pixels, 32-128 (default: 50, the study's size; 64 for CelebA and LFW)")
    g.add_argument("--grayscale", action="store_true", help="1 channel instead of RGB")
    g.add_argument("--val_fraction", type=open_unit, default=0.1,
                   help="share of faces held out for validation, strictly between 0 and 1")
    g.add_argument("--cache_dir", type=Path, default=Path("data/cache"),
                   help="where decoded image tensors are cached")
    g.add_argument("--num_workers", type=nonnegative_int, default=0,
                   help="threads that decode images (0: one per core)")


def resolve_resize(args: argparse.Namespace) -> None:
    """Fill in the default --resize: 64 for CelebA and LFW (their crops are 64-px faces), else the study's 50."""
    if args.resize is None:
        args.resize = 64 if args.dataset in ("celeba", "lfw") else 50


def check_resize(size: int) -> None:
    if not 32 <= size <= 128:
        raise FacegenError(f"--resize {size} is outside 32-128: pick a size in that range (e.g. 50 or 64)")


def add_condition_args(p: argparse.ArgumentParser) -> None:
    """--gender and --age, for runs trained with --conditions smile,gender[,age]."""
    p.add_argument("--gender", default=None,
                   help="gender condition for runs trained with it: male, female, or a number from -1 (male) to +1")
    p.add_argument("--age", type=float, default=None, help="age condition in years (0-100) for runs trained with it")


def condition_values(args: argparse.Namespace) -> dict[str, float]:
    """The extra conditions the user set (--gender, --age), in the model's units ([-1, +1])."""
    values = {}
    if args.gender is not None:
        text = args.gender.strip().lower()
        try:
            values["gender"] = GENDERS[text] if text in GENDERS else float(text)
        except ValueError:
            raise FacegenError(f"--gender {args.gender!r}: use male, female, or a number from -1 to +1") from None
        if not -1 <= values["gender"] <= 1:
            raise FacegenError(f"--gender {args.gender}: outside -1 (male) to +1 (female)")
    if args.age is not None:
        if not 0 <= args.age <= 100:
            raise FacegenError(f"--age {args.age:g}: give an age in years from 0 to 100")
        values["age"] = float(age_condition(args.age))
    return values


def add_run_arg(p: argparse.ArgumentParser) -> None:
    """--run: the folder of a trained run (made by ae.py, vae.py or cvae.py)."""
    p.add_argument("--run", type=Path, required=True, help="run folder of a trained model (holds flags.json)")


def parse_floats(text: str, flag: str) -> list[float]:
    """A comma-separated list of numbers, e.g. "-3,-1.1,1.1,3"."""
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        values = []
    if not values or not all(math.isfinite(v) for v in values):
        raise FacegenError(f"{flag} {text!r} is not a comma-separated list of numbers (e.g. -0.5,0,0.5)")
    return values


def parse_span(text: str, flag: str) -> list[float]:
    """START:STOP:STEP, both ends included, e.g. "0.25:2.0:0.25" -> 0.25, 0.5, ..., 2.0."""
    parts = text.split(":")
    try:
        start, stop, step = (float(v) for v in parts)
    except ValueError:
        raise FacegenError(f"{flag} {text!r} is not START:STOP:STEP (e.g. 0.25:2.0:0.25)") from None
    if not all(map(math.isfinite, (start, stop, step))) or step <= 0 or stop < start:
        raise FacegenError(f"{flag} {text!r}: need finite numbers, STEP > 0 and STOP >= START")
    n = math.floor((stop - start) / step + 1e-9) + 1
    if n > 1000:
        raise FacegenError(f"{flag} {text!r} gives {n} values: use a larger STEP")
    return [round(start + i * step, 10) for i in range(n)]


def parse_bounds(text: str, flag: str) -> tuple[float, float]:
    """LOW:HIGH, e.g. "-3:3"."""
    try:
        low, high = (float(v) for v in text.split(":"))
    except ValueError:
        raise FacegenError(f"{flag} {text!r} is not LOW:HIGH (e.g. -3:3)") from None
    if not (math.isfinite(low) and math.isfinite(high)) or high <= low:
        raise FacegenError(f"{flag} {text!r}: need finite numbers with HIGH larger than LOW")
    return low, high


def open_run(args: argparse.Namespace, *needs: tuple[str, str]) -> tuple[Run, Model]:
    """Seed everything from --seed, then the run in --run and its trained model on --device. Each of ``needs``
    is (capability, what the script does with it): a run whose model lacks one is refused in one line."""
    seed_everything(args.seed)
    run = Run.load(args.run)
    for capability, what in needs:
        run.require(capability, what)
    return run, run.load_model(pick_device(args.device))
