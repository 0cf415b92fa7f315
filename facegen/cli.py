"""Shared argparse pieces for every script, and the one-line error exit."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

import torch

from facegen.errors import FacegenError


class Parser(argparse.ArgumentParser):
    """ArgumentParser whose errors are one line on stderr and exit status 2."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", argparse.ArgumentDefaultsHelpFormatter)
        super().__init__(*args, **kwargs)

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
    p.add_argument("--seed", type=int, default=0, help="random seed (data split, initialisation, sampling)")
    p.add_argument("--device", default="auto", help="auto (cuda if present, else cpu), cpu, cuda or cuda:N")


def add_data_args(p: argparse.ArgumentParser) -> None:
    """Where the faces come from and how they are prepared."""
    g = p.add_argument_group("data")
    g.add_argument("--dataset", default="auto", choices=["auto", "utkface", "celeba", "toy"],
                   help="auto: --data if given, else data/UTKFace with its label file, else the toy faces")
    g.add_argument("--data", type=Path, default=None, help="image folder (e.g. data/UTKFace)")
    g.add_argument("--labels", type=Path, default=None,
                   help="smile label CSV (',stimulus_filename,avg_encode', degree in [-1, 1])")
    g.add_argument("--attrs", type=Path, default=None, help="CelebA list_attr_celeba.txt (with --dataset celeba)")
    g.add_argument("--toy_dir", type=Path, default=Path("data/toyfaces"),
                   help="where the procedural toy faces are generated when no real data is given")
    g.add_argument("--toy_n", type=int, default=3000, help="number of toy faces to generate")
    g.add_argument("--resize", type=int, default=50, help="square image size in pixels (32-128)")
    g.add_argument("--grayscale", action="store_true", help="1 channel instead of RGB")
    g.add_argument("--val_fraction", type=float, default=0.1, help="share of faces held out for validation")
    g.add_argument("--cache_dir", type=Path, default=Path("data/cache"),
                   help="where decoded image tensors are cached")
    g.add_argument("--num_workers", type=int, default=0, help="threads that decode images (0: one per core)")


def check_resize(size: int) -> None:
    if not 32 <= size <= 128:
        raise FacegenError(f"--resize {size} is outside 32-128: pick a size in that range (e.g. 50 or 64)")


def pick_device(name: str) -> torch.device:
    """``auto`` -> cuda if present, else cpu; a cuda request without a GPU is a clear error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise FacegenError("--device cuda was asked for but no CUDA GPU is visible: use --device cpu")
    return device
