"""Create the folders the scripts write into (data/, data/cache/, results/); safe to run again."""

import argparse
from pathlib import Path

FOLDERS = ("data", "data/cache", "results", "labels")


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--root", type=Path, default=Path("."), help="project root")
    args = p.parse_args(argv)
    for name in FOLDERS:
        (args.root / name).mkdir(parents=True, exist_ok=True)
    print("folders ready: " + ", ".join(FOLDERS))


if __name__ == "__main__":
    main()
