"""The training flags for data and steps at scale: faces read from shards (``--shards DIR``, written by
``prepare_data.py``), checkpoints within an epoch, and the compiled step."""

from __future__ import annotations

import argparse
from pathlib import Path

from facegen.core.argtypes import nonnegative_int
from facegen.core.errors import FacegenError
from facegen.data.shards import read_manifest
from facegen.train.compiled import MODES

SHUFFLE_BUFFER = 10_000  # faces: the default buffer that mixes a rank's own shards


def add_scale_args(p: argparse.ArgumentParser) -> None:
    """--shards, --shuffle_buffer, --checkpoint_steps and --compile."""
    g = p.add_argument_group("faces on disk (datasets larger than memory)")
    g.add_argument("--shards", type=Path, default=None,
                   help="a folder written by prepare_data.py: the faces are read from disk a batch at a time, so "
                        "memory does not grow with the data (replaces --data / --labels / --dataset / --resize)")
    g.add_argument("--shuffle_buffer", type=nonnegative_int, default=SHUFFLE_BUFFER,
                   help="with --shards: each process reads its own shards and a buffer of N faces mixes them "
                        "(0: one shuffle over every face, the order of faces held in memory)")
    g.add_argument("--checkpoint_steps", type=nonnegative_int, default=0,
                   help="also write checkpoints/last.pt every N steps within an epoch, so --resume continues at the "
                        "step where it stopped (0: off; for epochs too long to lose)")
    g.add_argument("--compile", default="off", choices=MODES,
                   help="torch.compile the whole training step, optimizer included (reduce-overhead: CUDA graphs on "
                        "a GPU); off by default: on this project's CPU it was slower, compile time included (README, "
                        "Performance)")


def resolve_shards(args: argparse.Namespace) -> None:
    """With --shards: the size and channels come from its manifest; --data, --labels, --attrs and a --resize or
    --grayscale that contradicts the shards are refused in one line. Without it, --shuffle_buffer is kept as
    given (it only matters for shards)."""
    if args.shards is None:
        return
    given = [flag for flag, value in (("--data", args.data), ("--labels", args.labels), ("--attrs", args.attrs))
             if value is not None]
    if given:
        raise FacegenError(f"--shards {args.shards} holds its faces and labels: drop {' '.join(given)}")
    manifest = read_manifest(args.shards)
    if args.resize not in (None, manifest.size):
        raise FacegenError(f"--resize {args.resize}: the shards in {args.shards} are {manifest.size} px; drop "
                           f"--resize, or write shards of that size with prepare_data.py --resize {args.resize}")
    if args.grayscale and manifest.channels != 1:
        raise FacegenError(f"--grayscale: the shards in {args.shards} are RGB; drop --grayscale, or write grey "
                           f"shards with prepare_data.py --grayscale")
    args.resize, args.grayscale = manifest.size, manifest.channels == 1
