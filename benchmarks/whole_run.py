"""Whole cvae.py runs at the original study's setting, timed end to end, with their reconstruction quality.

    python benchmarks/whole_run.py                    # widths 16, 32 (the default model), 64, 96; 30 epochs each
    python benchmarks/whole_run.py --widths 32 --epochs 30
    python benchmarks/whole_run.py --compare          # cvae.py against the study's own loop, 30 and 300 epochs

``--compare`` times two whole commands per number of epochs (``--epochs_list``, default 30,300), one after the
other on the same training faces: ``benchmarks/study_replica.py`` (the study's loop rebuilt in one file, with a
model of the study's size: see its docstring) and ``cvae.py`` with its defaults at the study's setting (lr 2e-4,
beta 0.5). Both read the same 167 training faces (the replica gets a label file of exactly the faces cvae.py
trains on); cvae.py's decoded-image cache is filled by an untimed one-epoch run first, as any second run finds
it. Printed and written to benchmarks/results/<date>-<time>-<host>-whole_run_compare.json: wall seconds of each
command, the seconds spent in training epochs, and the ratio replica / cvae.py. Run it on an idle machine (the 1-minute
load average is recorded before and after).

Each run is ``cvae.py`` in a subprocess, exactly as a user types it: 185 labelled UTKFace faces (data/UTKFace,
$UTKFACE_DIR or ../shared/data/utkface; 185 toy faces when none is present), RGB 50 px, latent 20, batch 8.
Reported per encoder/decoder width (--base_channels, channels doubling per level up to 8x): parameters,
training MFLOP per image, wall seconds of the whole command (start-up, decoding from the cache, training,
figures), seconds in the training epochs alone (training.csv), and the final validation MSE per pixel. The
study's loop ran about 2.4 s per epoch here (72 s for 30 epochs, from issue 5) with a 9 M-parameter model;
width 96 (7.7 M parameters) stands in for a model of its size. Writes
benchmarks/results/<date>-<time>-<host>-whole_run.json. Nothing here is a test.
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
# the environment as the user gave it: importing facegen below chooses how this process's OpenMP threads wait
# (facegen.core.threads) and writes that choice into os.environ, where the timed commands would inherit it; each of
# them makes its own choice instead (cvae.py), or runs with the runtime's default (the study's loop), as typed
LAUNCH_ENV = dict(os.environ)

from facegen.models.registry import build_model  # noqa: E402

STUDY_SECONDS_PER_EPOCH = 2.4  # the study's reference loop on this 2-core machine (issue 5)
SIZE, LATENT, BATCH = 50, 20, 8



def stamp() -> str:
    """Date and time of day for a result file's name, so two runs on one day do not overwrite each other."""
    return f"{dt.datetime.now():%Y-%m-%d-%H%M%S}"

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
    subprocess.run(cmd, check=True, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=LAUNCH_ENV)
    wall = time.perf_counter() - start
    with (out / "training.csv").open() as f:
        rows = list(csv.DictReader(f))
    pixels = 3 * SIZE * SIZE
    return {"wall_s": wall, "train_s": sum(float(r["seconds"]) for r in rows),
            "val_mse_per_pixel": float(rows[-1]["val_recon"]) / pixels, "command": " ".join(cmd[1:])}


def training_faces(images: Path, labels: Path, folder: Path) -> Path:
    """A label file of exactly the faces cvae.py trains on at the study's setting (its fixed split, seed 0)."""
    from facegen.data.labels import read_smile_labels, write_smile_labels
    from facegen.data.spec import DataSpec

    spec = DataSpec(data=images, labels=labels, size=SIZE, cache_dir=ROOT / "data" / "cache")
    train, _ = spec.split(spec.load())
    degrees = read_smile_labels(labels)
    path = folder / "train_labels.txt"
    write_smile_labels(path, {name: degrees[name] for name in train.names})
    return path


def timed(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=LAUNCH_ENV)
    return time.perf_counter() - start


def compare(epochs_list: list[int], out: Path | None) -> None:
    """The study's loop (benchmarks/study_replica.py) against cvae.py, whole commands, same faces and epochs."""
    found = real_data()
    if not found:
        sys.exit("--compare needs UTKFace and its smile labels (data/UTKFace, $UTKFACE_DIR or ../shared/data/utkface)")
    images, labels = found
    study = ["--resize", str(SIZE), "--latent_size", str(LATENT), "--batch_size", str(BATCH), "--lr", "2e-4",
             "--beta", "0.5", "--seed", "0"]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        data = ["--data", str(images), "--labels", str(labels)]
        timed([sys.executable, str(ROOT / "cvae.py"), *data, *study, "--n_epochs", "1", "--out", str(tmp / "warm")])
        train_labels = training_faces(images, labels, tmp)
        load_before = os.getloadavg()[0]
        print(f"1-minute load average before: {load_before:.2f}")
        print(f"{'epochs':>6} {'study s':>8} {'(epochs)':>8} {'cvae.py s':>9} {'(epochs)':>8} {'ratio':>6} "
              f"{'epochs ratio':>12}")
        for epochs in epochs_list:
            replica_out, cvae_out = tmp / f"study{epochs}", tmp / f"cvae{epochs}"
            replica = timed([sys.executable, str(ROOT / "benchmarks" / "study_replica.py"), "--data", str(images),
                             "--labels", str(train_labels), *study, "--n_epochs", str(epochs),
                             "--out", str(replica_out)])
            ours = timed([sys.executable, str(ROOT / "cvae.py"), *data, *study, "--n_epochs", str(epochs),
                          "--out", str(cvae_out)])
            replica_train = float((replica_out / "seconds.txt").read_text())
            with (cvae_out / "training.csv").open() as f:
                ours_train = sum(float(r["seconds"]) for r in csv.DictReader(f))
            r = {"epochs": epochs, "study_wall_s": replica, "study_train_s": replica_train, "cvae_wall_s": ours,
                 "cvae_train_s": ours_train, "ratio": replica / ours, "train_ratio": replica_train / ours_train}
            rows.append(r)
            print(f"{epochs:>6} {replica:>8.1f} {replica_train:>8.1f} {ours:>9.1f} {ours_train:>8.1f} "
                  f"{r['ratio']:>5.1f}x {r['train_ratio']:>11.1f}x", flush=True)
    load_after = os.getloadavg()[0]
    print(f"1-minute load average after: {load_after:.2f}")
    out = out or ROOT / "benchmarks" / "results" / f"{stamp()}-{socket.gethostname()}-whole_run_compare.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"date": str(dt.datetime.now()), "host": socket.gethostname(),
                               "data": f"UTKFace labelled faces ({labels}), the {SIZE} px training split",
                               "study_replica": "benchmarks/study_replica.py", "threads": torch.get_num_threads(),
                               "torch": torch.__version__, "load_before": load_before, "load_after": load_after,
                               "results": rows}, indent=2) + "\n")
    print(f"wrote {out}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--widths", default="16,32,64,96", help="comma list of --base_channels to compare")
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--amp", action="store_true", help="train with cvae.py --amp (bfloat16 autocast)")
    p.add_argument("--compare", action="store_true", help="cvae.py against the study's loop (study_replica.py)")
    p.add_argument("--epochs_list", default="30,300", help="with --compare: comma list of epochs to time")
    p.add_argument("--out", type=Path, default=None, help="JSON file (default benchmarks/results/...)")
    args = p.parse_args()
    if args.compare:
        compare([int(e) for e in args.epochs_list.split(",")], args.out)
        return
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
    out = args.out or ROOT / "benchmarks" / "results" / f"{stamp()}-{socket.gethostname()}-whole_run.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"date": str(dt.datetime.now()), "host": socket.gethostname(), "data": source,
                               "epochs": args.epochs, "amp": args.amp, "threads": torch.get_num_threads(),
                               "torch": torch.__version__,
                               "study_seconds_per_epoch": STUDY_SECONDS_PER_EPOCH, "results": rows}, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
