"""What many test files share: where the repository and the shared data are, running a script as its command line
does (in a fresh process or in this one), a script's one-line refusal, and a figure that was written and shows
something."""

from __future__ import annotations

import importlib
import re
import runpy
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from facegen.cli.args import guard

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"  # the real faces; tests marked `data` skip when it is absent
PROGRESS = re.compile(r"\d+%\|")  # a tqdm progress-bar line, not a message
PAGE = 250  # a pixel with every channel at or above this is the white page or a grid's frame
ONE_COLOUR = 0.9  # a figure whose drawn pixels are this much of one colour shows nothing


def run_script(script: str, *args: object, cwd: Path = ROOT, timeout: float = 300) -> subprocess.CompletedProcess:
    """``python SCRIPT ARGS`` in a fresh process, run from ``cwd``, its output captured as text."""
    return subprocess.run([sys.executable, str(ROOT / script), *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout)


def run_in_process(script: str, *args: object) -> None:
    """Run a top-level script in this process as ``python SCRIPT ARGS`` would (``__main__``, ``sys.argv``)."""
    argv = sys.argv
    sys.argv = [script, *map(str, args)]
    try:
        runpy.run_path(str(ROOT / script), run_name="__main__")
    finally:
        sys.argv = argv


def call(script: str, argv: list, capsys) -> tuple[int, str, str]:
    """Run SCRIPT.py's main(argv) in this process as its command line does (through guard); returns (exit status,
    stdout, stderr)."""
    main = importlib.import_module(script).main
    capsys.readouterr()
    try:
        guard(lambda: main([str(a) for a in argv]))
        code = 0
    except SystemExit as e:
        code = e.code
    out, err = capsys.readouterr()
    return code, out, err


def message_lines(err: str) -> list[str]:
    """The lines of stderr that carry a message (blank lines and progress bars aside)."""
    return [ln for ln in err.replace("\r", "\n").splitlines() if ln.strip() and not PROGRESS.search(ln)]


def refusal(code: int | None, err: str, *needles: str) -> str:
    """A refusal is exit status 2, no traceback and exactly one message line naming each of ``needles``; returns
    that line."""
    lines = message_lines(err)
    assert code == 2, (code, err)
    assert "Traceback" not in err, err
    assert len(lines) == 1, err
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


def script_refusal(proc: subprocess.CompletedProcess, *needles: str) -> str:
    """``refusal`` of a script run by ``run_script``."""
    return refusal(proc.returncode, proc.stderr, *needles)


def written(folder: Path, *names: str) -> None:
    """Each figure exists and shows something: a readable image in which at least 1 % of the pixels are drawn
    (not the white page or a grid's white frame) and no one colour covers 90 % of the drawn pixels (as it does
    in a grid of black or grey squares)."""
    for name in names:
        assert (folder / name).is_file(), f"{name} was not written"
        with Image.open(folder / name) as im:
            pixels = np.asarray(im.convert("RGB")).reshape(-1, 3)
        drawn = pixels[(pixels < PAGE).any(1)]
        assert len(drawn) >= 0.01 * len(pixels), f"{name} is blank"
        most = np.unique(drawn, axis=0, return_counts=True)[1].max() / len(drawn)
        assert most <= ONE_COLOUR, f"{name} is {most:.0%} one colour"
