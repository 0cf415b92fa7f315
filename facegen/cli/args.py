"""Shared argparse pieces for every script, and the one-line error exit."""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable
from pathlib import Path

from facegen.core.argtypes import (
    SEED_MAX,
    degree,
    device_name,
    float_between,
    int_at_least,
    int_between,
    nonnegative_int,
    open_unit,
    seed,
)
from facegen.core.devices import pick_device
from facegen.core.errors import FacegenError, held_warnings
from facegen.core.files import check_writable_folder, remove_stale_temporaries
from facegen.core.lock import check_unlocked
from facegen.core.seeding import seed_everything
from facegen.data.utkface import GENDERS, age_condition
from facegen.models.base import Model
from facegen.models.capabilities import require
from facegen.runs import DEFAULT_MODEL, Run, outputs_folder

ROOT = DEFAULT_MODEL.parents[1]  # the repository, for short paths in messages
EXTRAPOLATE = 3.0  # how far past the training degrees [-1, +1] the flags meant for extrapolation may reach


class Parser(argparse.ArgumentParser):
    """ArgumentParser whose errors are one line on stderr and exit status 2."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", argparse.ArgumentDefaultsHelpFormatter)
        super().__init__(*args, **kwargs)
        # values such as "-3,-1.1,1.1,3", "-3:3", "-inf" or "-nan" are values, not unknown options, so they
        # reach the flag's type check
        self._negative_number_matcher = re.compile(r"^-(\.?\d|inf|nan)[\w.,:+-]*$", re.IGNORECASE)

    def error(self, message: str) -> None:  # type: ignore[override]
        print(f"{self.prog}: error: {message} (see --help)", file=sys.stderr)
        sys.exit(2)


def guard(main: Callable[[], object]) -> None:
    """Run a script's main(): a FacegenError, or an OSError the environment caused, becomes one line on stderr and
    exit status 2; Ctrl-C one line (the trainer's, saying what the run folder holds, when it came during
    training) and exit status 130. Warnings (:func:`facegen.core.errors.warn`) are printed once each after the work,
    and dropped when the script is refused, so a refusal is always one line."""
    try:
        with held_warnings() as held:
            main()
        for text in held:  # warnings come after the work, and never beside a refusal
            print(f"warning: {text}", file=sys.stderr)
    except FacegenError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    except OSError as e:  # the environment: permissions, a file where a folder should be, a full disk, ...
        where = f" {e.filename}" if e.filename else ""
        print(f"error: cannot use{where} ({e.strerror or type(e).__name__}): check that it exists and that you may "
              f"read and write it", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt as e:
        print(str(e) or "interrupted", file=sys.stderr)
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


def gender(text: str) -> float:
    """argparse type of --gender: male, female, or a number from -1 (male) to +1 (female)."""
    name = text.strip().lower()
    if name in GENDERS:
        return GENDERS[name]
    try:
        return degree()(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"expected male, female, or a number from -1 (male) to +1 (female), "
                                         f"e.g. female; got {text!r}") from None


def add_condition_args(p: argparse.ArgumentParser) -> None:
    """--gender and --age, for runs trained with --conditions smile,gender[,age]."""
    p.add_argument("--gender", type=gender, default=None,
                   help="gender condition for runs trained with it: male, female, or a number from -1 (male) to +1")
    p.add_argument("--age", type=float_between(0, 100), default=None,
                   help="age condition in years (0-100) for runs trained with it")


def condition_values(args: argparse.Namespace) -> dict[str, float]:
    """The extra conditions the user set (--gender, --age), in the model's units ([-1, +1])."""
    values = {}
    if args.gender is not None:
        values["gender"] = args.gender
    if args.age is not None:
        values["age"] = float(age_condition(args.age))
    return values


def note_extrapolation(flag: str, values: list[float] | tuple[float, ...], low: float = -1.0,
                       high: float = 1.0) -> None:
    """One line when a degree flag reaches past the training labels' range (allowed there, up to EXTRAPOLATE)."""
    outside = [v for v in values if not low <= v <= high]
    if outside:
        print(f"note: {flag} {', '.join(f'{v:g}' for v in outside)} lies outside the training degrees "
              f"[{low:g}, {high:+g}]: the model extrapolates there", file=sys.stderr)


def check_condition_range(flag: str, bounds: tuple[float, float]) -> None:
    """A condition walk's LOW:HIGH: one line beyond EXTRAPOLATE past [-1, +1], a note past [-1, +1]."""
    if max(map(abs, bounds)) > EXTRAPOLATE:
        raise FacegenError(f"{flag} {bounds[0]:g}:{bounds[1]:g}: a condition walk may reach at most "
                           f"{EXTRAPOLATE:g} past its [-1, +1] units")
    note_extrapolation(flag, bounds)


def add_run_arg(p: argparse.ArgumentParser, default_model: bool = False) -> None:
    """--run: the folder of a trained run (made by ae.py, vae.py, cvae.py, ...) or a model exported from one;
    with ``default_model`` it may be omitted, and :func:`open_run` then opens the shipped default model."""
    where = ("run folder of a trained model (holds flags.json), or a model file made by export_model.py "
             "(FILE.safetensors; outputs then go to FILE_outputs/ beside it)")
    if default_model:
        p.add_argument("--run", type=Path, default=None,
                       help=f"{where}; default: the shipped model {DEFAULT_MODEL.relative_to(ROOT)}")
    else:
        p.add_argument("--run", type=Path, required=True, help=where)


def open_run(args: argparse.Namespace, *needs: tuple[type, str], writes: bool = True) -> tuple[Run, Model]:
    """Seed everything from --seed, then the run in --run and its trained model on --device. Each of ``needs``
    is (a protocol of :mod:`facegen.models.capabilities`, what the script does with it): a run whose model does
    not implement one is refused in one line, as is a
    run another process is writing (training) and, when the script ``writes`` its figures into the run, a
    read-only run folder. Temporaries left in the run by killed processes are removed. No --run (a script that
    offers :func:`add_run_arg`'s ``default_model``): the shipped default model, said in one line."""
    seed_everything(args.seed)
    if args.run is None:
        args.run = DEFAULT_MODEL
        print(f"no --run given: using the shipped default model {DEFAULT_MODEL.relative_to(ROOT)} "
              f"(outputs in {outputs_folder(DEFAULT_MODEL).relative_to(ROOT)}/)")
    check_unlocked(args.run)
    run = Run.load(args.run)
    for capability, what in needs:
        require(run.model_class, capability, what)
    device = pick_device(args.device)
    if writes:
        check_writable_folder(run.path, "--run" if run.model_file is None else f"--run {run.model_file}: its outputs")
        if run.path.is_dir():
            remove_stale_temporaries(run.path)
    return run, run.load_model(device)
