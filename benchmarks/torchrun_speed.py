"""One process at the global batch against torchrun with several processes, timed end to end (docs/distributed.md).

    python benchmarks/torchrun_speed.py                       # 1,000 toy faces, 64 px, 3 epochs, global batch 128
    python benchmarks/torchrun_speed.py --procs 2 --batch 64 --faces 1000 --size 64 --epochs 3 --repeats 2

Each run is ``cvae.py`` as a user types it: ``python cvae.py --batch_size P*B`` (with torch's threads, and with
``OMP_NUM_THREADS=1``: what one core does) and ``torchrun ... --nproc-per-node P cvae.py --batch_size B`` (the
multi-machine form on one machine; one thread per process), on the same toy faces (drawn and cached first,
untimed). Reported per run: wall seconds of the whole command (start-up, data, training, figures) and seconds in
the training epochs alone (training.csv's ``seconds``, validation included), with the load average before it.
Nothing here is a test.
"""

from __future__ import annotations

import argparse
import csv
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def timed(cmd: list[str], out: Path, env: dict[str, str]) -> dict:
    load = os.getloadavg()[0]
    start = time.perf_counter()
    subprocess.run(cmd, cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   env={**os.environ, "PYTHONPATH": str(ROOT), **env})
    wall = time.perf_counter() - start
    with open(out / "training.csv") as f:
        epochs = sum(float(row["seconds"]) for row in csv.DictReader(f))
    return {"wall_s": wall, "epochs_s": epochs, "load_before": load}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--procs", type=int, default=2)
    p.add_argument("--batch", type=int, default=64, help="per process; one process gets procs x batch")
    p.add_argument("--faces", type=int, default=1000)
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--repeats", type=int, default=1, help="time each setting this often, alternating them")
    args = p.parse_args()
    from facegen.data.spec import DataSpec

    tmp = Path(tempfile.mkdtemp(prefix="torchrun_speed_"))
    data = ["--dataset", "toy", "--toy_dir", str(tmp / "toy"), "--toy_n", str(args.faces), "--resize",
            str(args.size), "--cache_dir", str(tmp / "cache"), "--n_epochs", str(args.epochs)]
    DataSpec(dataset="toy", toy_dir=tmp / "toy", toy_n=args.faces, size=args.size, cache_dir=tmp / "cache").load()
    one = [sys.executable, "cvae.py", "--batch_size", str(args.procs * args.batch)]
    settings = {f"1 process, batch {args.procs * args.batch}": (one, {}),
                f"1 process, batch {args.procs * args.batch}, 1 thread": (one, {"OMP_NUM_THREADS": "1"}),
                f"{args.procs} processes, batch {args.batch} each":
                ([sys.executable, "-m", "torch.distributed.run", "--nnodes", "1", "--node-rank", "0",
                  "--rdzv-backend", "c10d", "--rdzv-endpoint", "127.0.0.1:PORT", "--nproc-per-node",
                  str(args.procs), "cvae.py", "--batch_size", str(args.batch)], {})}
    results: dict[str, list[dict]] = {name: [] for name in settings}
    for i in range(args.repeats):
        for j, (name, (cmd, env)) in enumerate(settings.items()):
            out = tmp / f"run{i}_{j}"
            cmd = [c.replace("PORT", str(free_port())) for c in cmd] + [*data, "--out", str(out)]
            results[name].append(timed(cmd, out, env))
    print(f"{os.cpu_count()} cores; {args.faces} toy faces at {args.size} px, {args.epochs} epochs, global batch "
          f"{args.procs * args.batch}")
    for name, runs in results.items():
        for r in runs:
            print(f"{name:40s} whole command {r['wall_s']:6.1f} s   training epochs {r['epochs_s']:6.1f} s   "
                  f"(load before {r['load_before']:.2f})")


if __name__ == "__main__":
    main()
