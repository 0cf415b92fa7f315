"""The table of scripts/idle_benchmarks.sh: read the JSON files it wrote into one folder and print them as the
Markdown tables of the README's performance section.

    python benchmarks/idle_table.py benchmarks/results/idle-DATE
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def whole_run(folder: Path) -> list[str]:
    lines = ["| run | study's loop: whole s | cvae.py: whole s | whole command | training epochs only |",
             "|---|---|---|---|---|"]
    for i, path in enumerate(sorted(folder.glob("whole_run_compare_*.json")), 1):
        r = json.loads(path.read_text())["results"][0]
        lines.append(f"| {i} | {r['study_wall_s']:.1f} | {r['cvae_wall_s']:.1f} | **{r['ratio']:.1f} x** | "
                     f"{r['train_ratio']:.1f} x |")
    return lines


def thread_waiting(folder: Path) -> list[str]:
    path = folder / "thread_waiting.txt"
    if not path.is_file():
        return []
    lines = ["| idle threads | cvae.py whole command, s |", "|---|---|"]
    names = {"facegen": "facegen's choice (on an idle CPU: GOMP_SPINCOUNT=3000000, then sleep)",
             "default": "libgomp's default (GOMP_SPINCOUNT=300000, then sleep)", "ACTIVE": "spin until woken (ACTIVE)",
             "PASSIVE": "sleep at once (PASSIVE)"}
    for row in path.read_text().split("\n"):
        if row.strip():
            policy, seconds = row.split()
            lines.append(f"| {names.get(policy, policy)} | {float(seconds):.1f} |")
    return lines


def data_scale(folder: Path) -> list[str]:
    path = folder / "data_scale.json"
    if not path.is_file():
        return []
    lines = ["| faces (128 px) | where | processes | peak memory per process, MiB | training images/s | "
             "data path images/s |", "|---|---|---|---|---|---|"]
    for r in json.loads(path.read_text())["results"]:
        lines.append(f"| {r['faces']:,} | {r['mode']} | {r['processes']} | {r['peak_rss_mib_per_process']:.0f} | "
                     f"{r['train_images_per_s']:.0f} | {r['read_images_per_s']:.0f} |")
    return lines


def compile_rows(folder: Path) -> list[str]:
    lines = ["| setting | eager images/s | compiled images/s | compile s | epochs until compiling pays |",
             "|---|---|---|---|---|"]
    for name, label in (("study", "cvae 50 px, batch 8, 185 faces"), ("64px_b256", "cvae 64 px, batch 256")):
        eager, graphed = (folder / f"compile_{name}_off.json", folder / f"compile_{name}_reduce-overhead.json")
        if not (eager.is_file() and graphed.is_file()):
            continue
        e = json.loads(eager.read_text())["results"][0]
        c = json.loads(graphed.read_text())["results"][0]
        gain = e["s_per_epoch"] - c["s_per_epoch"]
        pays = f"{c['compile_s'] / gain:.0f}" if gain > 0 else "never (slower)"
        lines.append(f"| {label} | {e['images_per_s']:.0f} | {c['images_per_s']:.0f} | {c['compile_s']:.1f} | "
                     f"{pays} |")
    return lines


def main() -> None:
    folder = Path(sys.argv[1])
    load = (folder / "load.txt").read_text().strip() if (folder / "load.txt").is_file() else ""
    print(load + "\n")
    for part in (whole_run, thread_waiting, data_scale, compile_rows):
        rows = part(folder)
        if len(rows) > 2:
            print("\n".join(rows) + "\n")


if __name__ == "__main__":
    main()
