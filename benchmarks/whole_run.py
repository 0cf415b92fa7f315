"""Whole cvae.py runs at the original study's setting, timed end to end, with their reconstruction quality.

    python benchmarks/whole_run.py                    # widths 16, 32 (the default model), 64, 96; 30 epochs each
    python benchmarks/whole_run.py --widths 32 --epochs 30

Each run is ``cvae.py`` in a subprocess, exactly as a user types it: 185 labelled UTKFace faces (data/UTKFace,
$UTKFACE_DIR or ../shared/data/utkface; 185 toy faces when none is present), RGB 50 px, latent 20, batch 8.
Reported per encoder/decoder width (--base_channels, channels doubling per level up to 8x): parameters,
training MFLOP per image, wall seconds of the whole command (start-up, decoding from the cache, training,
figures), seconds in the training epochs alone (training.csv), and the final validation MSE per pixel. The
study's loop ran about 2.4 s per epoch here (72 s for 30 epochs, from issue 5) with a 9 M-parameter model;
width 96 (7.7 M parameters) stands in for a model of its size. Writes
benchmarks/results/<date>-<host>-whole_run.json. Nothing here is a test.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from facegen.models.registry import build_model  # noqa: E402

STUDY_SECONDS_PER_EPOCH = 2.4  # the study's reference loop on this 2-core machine (issue 5)
SIZE, LATENT, BATCH = 50, 20, 8


def real_data() -> tuple[Path, Path] | None:
    """(images, labels) of UTKFace with the smile label file, wherever the project looks for it."""
    roots = [ROOT / "data", *([Path(os.environ["UTKFACE_DIR"])] if os.environ.get("UTKFACE_DIR") else []),
             ROOT.parent / "shared" / "data" / "utkface"]
    for root in roots:
        images, labels = root / "UTKFace", root / "smiles_dataset.txt"
        if images.is_dir() and labels.is_file():
            return images, labels
    return None


def model_cost(width: int) -> tuple[float, float]:
    """(parameters, training FLOPs per image) of the CVAE of that width at the study's setting."""
    net = build_model("cvae", dict(size=SIZE, channels=3, latent_size=LATENT, cond_dim=1, base_channels=width,
                                   max_channels=8 * width))
    x, y = torch.rand(BATCH, 3, SIZE, SIZE), torch.rand(BATCH, 1) * 2 - 1
    with FlopCounterMode(display=False) as counter:
        net.loss(x, y)["loss"].backward()
    return sum(p.numel() for p in net.parameters()), counter.get_total_flops() / BATCH


def run(width: int, epochs: int, data: list[str], out: Path, seed: int, amp: bool) -> dict:
    """Time one whole cvae.py command; read its training.csv."""
    cmd = [sys.executable, str(ROOT / "cvae.py"), *data, "--resize", str(SIZE), "--latent_size", str(LATENT),
           "--batch_size", str(BATCH), "--base_channels", str(width), "--max_channels", str(8 * width),
           "--n_epochs", str(epochs), "--seed", str(seed), "--out", str(out), "--overwrite"]
    cmd += ["--amp"] if amp else []
    start = time.perf_counter()
    subprocess.run(cmd, check=True, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    with (out / "training.csv").open() as f:
        rows = list(csv.DictReader(f))
    pixels = 3 * SIZE * SIZE
    return {"wall_s": wall, "train_s": sum(float(r["seconds"]) for r in rows),
            "val_mse_per_pixel": float(rows[-1]["val_recon"]) / pixels, "command": " ".join(cmd[1:])}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--widths", default="16,32,64,96", help="comma list of --base_channels to compare")
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--amp", action="store_true", help="train with cvae.py --amp (bfloat16 autocast)")
    p.add_argument("--out", type=Path, default=None, help="JSON file (default benchmarks/results/...)")
    args = p.parse_args()
    found = real_data()
    if found:
        data, source = ["--data", str(found[0]), "--labels", str(found[1])], f"UTKFace labelled faces ({found[1]})"
    else:
        data, source = ["--dataset", "toy", "--toy_n", "185"], "185 toy faces"
    study = STUDY_SECONDS_PER_EPOCH * args.epochs
    print(f"{source}; {args.epochs} epochs{'; --amp' if args.amp else ''}; the study: {study:.0f} s of training")
    print(f"{'width':>5} {'params':>8} {'MFLOP/img':>9} {'wall s':>7} {'train s':>7} {'x study':>7} {'val MSE/px':>10}")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for width in (int(w) for w in args.widths.split(",")):
            params, flops = model_cost(width)
            r = {"width": width, "params": params, "mflop_per_image": flops / 1e6,
                 **run(width, args.epochs, data, Path(tmp) / f"w{width}", args.seed, args.amp)}
            r["speedup_vs_study"] = STUDY_SECONDS_PER_EPOCH * args.epochs / r["train_s"]
            rows.append(r)
            print(f"{width:>5} {params / 1e6:>7.2f}M {r['mflop_per_image']:>9.0f} {r['wall_s']:>7.1f} "
                  f"{r['train_s']:>7.1f} {r['speedup_vs_study']:>7.1f} {r['val_mse_per_pixel']:>10.4f}", flush=True)
    out = args.out or ROOT / "benchmarks" / "results" / f"{dt.date.today()}-{socket.gethostname()}-whole_run.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"date": str(dt.datetime.now()), "host": socket.gethostname(), "data": source,
                               "epochs": args.epochs, "amp": args.amp, "threads": torch.get_num_threads(),
                               "torch": torch.__version__,
                               "study_seconds_per_epoch": STUDY_SECONDS_PER_EPOCH, "results": rows}, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
