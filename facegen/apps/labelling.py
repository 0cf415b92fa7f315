"""Smile labels from a timed slideshow, and turning the answers of several raters into smile degrees.

A rater sees faces one at a time in random order and presses ``s`` (smiling) or ``n`` (not smiling) as fast as
they can; ``q`` quits. Every answer is appended at once to ``labels/<rater>.csv`` (flushed and fsynced), so closing
the window loses nothing, and restarting shows only the faces not yet answered. The faces shown are the first ``n`` of
the folder in an order drawn with ``seed`` (raters with the same seed see the same faces, in an order shuffled per
rater; a larger ``n`` adds faces to a session).

Merge formula. Rater r answers face i with sign s_ri (+1 smiling, -1 not smiling) after t_ri seconds. Reaction
times are normalised per rater by m_r, the median of that rater's reaction times, and each answer gives

    d_ri = s_ri * 2 ** (-t_ri / m_r)

(an answer at the rater's median speed counts 1/2, twice as slow 1/4, an instantaneous one 1: a fast answer means
an obvious smile or an obvious lack of one, a slow one a face near the boundary). A face's degree is the mean of
d_ri over the raters who answered it, in [-1, +1]. Its agreement is the share of those raters who gave the majority
answer (1 when unanimous, 2/3 for a 2-to-1 split, 1/2 for a tie).

The answers file is a CSV with the header ``image,answer,reaction_time``: the image's file name, ``s`` or ``n``,
and the reaction time in seconds from the moment the face was drawn.
"""

from __future__ import annotations

import csv
import io
import math
import os
import random
import re
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from facegen.core.errors import FacegenError
from facegen.core.files import check_writable_file, check_writable_folder, write_csv
from facegen.core.textfile import read_text
from facegen.data.cache import check_min_side, list_images
from facegen.data.labels import write_smile_labels

if TYPE_CHECKING:
    from matplotlib.backend_bases import KeyEvent
    from matplotlib.figure import Figure

ANSWER_COLUMNS = ["image", "answer", "reaction_time"]
KEYS = {"s": True, "n": False}  # key -> smiling
QUIT = "q"
RATER_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")


@dataclass(frozen=True)
class Answer:
    image: str
    smiling: bool
    reaction_time: float  # seconds


def answers_file(labels_dir: Path, rater: str) -> Path:
    """``labels_dir/<rater>.csv``; the rater name must be usable as a file name."""
    if not RATER_NAME.match(rater) or rater.startswith("."):
        raise FacegenError(f"--rater {rater!r}: use letters, digits, '_', '-' or '.' only (e.g. --rater alice)")
    return Path(labels_dir) / f"{rater}.csv"


def read_answers(path: Path) -> list[Answer]:
    """The answers recorded in ``path``, in the order given (a missing file holds none)."""
    path = Path(path)
    if not path.exists():
        return []
    try:
        text = read_text(path)
    except OSError as e:
        raise FacegenError(f"cannot read answers file {path} ({e.strerror}): pass an answers file written by "
                           f"label_smiles.py") from None
    with io.StringIO(text, newline="") as f:
        rows = csv.reader(f)
        header = [cell.strip() for cell in next(rows, [])]
        if not header:
            return []
        if header != ANSWER_COLUMNS:
            raise FacegenError(f"{path} line 1: expected the header {','.join(ANSWER_COLUMNS)}: pass an answers file "
                               f"written by label_smiles.py")
        answers = []
        for row in rows:
            if not any(cell.strip() for cell in row):
                continue
            where = f"{path} line {rows.line_num}"
            if len(row) != len(ANSWER_COLUMNS) or row[1].strip() not in KEYS:
                raise FacegenError(f"{where}: expected image,s|n,seconds, found {','.join(row)!r}: fix or delete it")
            try:
                rt = float(row[2])
            except ValueError:
                rt = math.nan
            if not math.isfinite(rt) or rt <= 0:
                raise FacegenError(f"{where}: reaction time {row[2]!r} is not a positive number of seconds: "
                                   f"fix or delete that row")
            answers.append(Answer(row[0].strip(), KEYS[row[1].strip()], rt))
    return answers


def append_answer(path: Path, answer: Answer) -> None:
    """Append one answer (and the header to a new file), flushed and fsynced before returning."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    new = not path.exists() or path.stat().st_size == 0
    with path.open("a", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        if new:
            writer.writerow(ANSWER_COLUMNS)
        writer.writerow([answer.image, "s" if answer.smiling else "n", f"{answer.reaction_time:.4f}"])
        f.flush()
        os.fsync(f.fileno())


class Slideshow:
    """The labelling session without any window: which face is shown, what a key press does.

    Times are passed in (``now``, seconds on any monotonic clock), so the state machine is testable.
    """

    def __init__(self, images: Sequence[Path], answers: Path, rater: str, *, n: int = 200, seed: int = 0):
        if n < 1:
            raise FacegenError(f"--n {n}: show at least one face")
        names = sorted({Path(p).name: Path(p) for p in images}.items())
        random.Random(seed).shuffle(names)  # the first n of one seeded order: a larger --n extends a session
        chosen = names[:n]
        random.Random(f"{seed}:{rater}").shuffle(chosen)
        self.answers = Path(answers)
        done = {a.image for a in read_answers(self.answers)}
        self.total = len(chosen)
        self.queue = [path for name, path in chosen if name not in done]
        for path in self.queue:  # refused now, as training would refuse it, not after someone labelled it
            check_min_side(path)
        self.quit = False
        self.shown_at: float | None = None

    @property
    def current(self) -> Path | None:
        """The face to show now (None once the session is over)."""
        return None if self.finished else self.queue[0]

    @property
    def finished(self) -> bool:
        return self.quit or not self.queue

    @property
    def answered(self) -> int:
        return self.total - len(self.queue)

    def shown(self, now: float) -> None:
        """The current face has just been drawn: its reaction time starts now."""
        self.shown_at = now

    def press(self, key: str | None, now: float) -> Answer | None:
        """Handle one key: ``s`` / ``n`` record the current face's answer (appended at once), ``q`` quits;
        other keys, and keys before the face was drawn, are ignored. Returns the recorded answer, if any."""
        if self.finished:
            return None
        if key == QUIT:
            self.quit = True
            return None
        if key not in KEYS or self.shown_at is None:
            return None
        answer = Answer(self.queue[0].name, KEYS[key], max(now - self.shown_at, 1e-4))
        append_answer(self.answers, answer)
        self.queue.pop(0)
        self.shown_at = None
        return answer


class SlideshowWindow:
    """A matplotlib figure that shows a :class:`Slideshow` and feeds it the figure's key presses."""

    def __init__(self, show: Slideshow, figure: Figure, clock: Callable[[], float] = time.perf_counter):
        self.show, self.fig, self.clock = show, figure, clock
        self.ax = figure.add_axes((0.02, 0.02, 0.96, 0.86))
        self.ax.set_axis_off()
        figure.canvas.mpl_connect("key_press_event", self.on_key)
        self.draw()

    def draw(self) -> None:
        """Show the current face (and start its clock), or close the window when the session is over."""
        import matplotlib.pyplot as plt

        from facegen.data.cache import load_upright

        if self.show.finished:
            plt.close(self.fig)
            return
        pixels = load_upright(self.show.current)  # as training will see it: upright, alpha on white
        self.ax.clear()
        self.ax.set_axis_off()
        self.ax.imshow(pixels)
        self.fig.suptitle(f"{self.show.answered + 1} / {self.show.total}    s: smiling    n: not smiling    q: quit")
        self.fig.canvas.draw()
        self.show.shown(self.clock())

    def on_key(self, event: KeyEvent) -> None:
        if self.show.press(event.key, self.clock()) is not None or self.show.finished:
            self.draw()


def open_window(show: Slideshow) -> None:
    """Run the slideshow in an interactive matplotlib window until it is finished, quit or closed."""
    import matplotlib.pyplot as plt
    from matplotlib.backends import BackendFilter, backend_registry

    if plt.get_backend().lower() not in backend_registry.list_builtin(BackendFilter.INTERACTIVE):
        raise FacegenError(f"matplotlib backend {plt.get_backend()!r} cannot open a window (no display?): run "
                           f"label_smiles.py on a machine with a screen, or set MPLBACKEND=TkAgg")
    for action, keys in plt.rcParams.items():  # keep matplotlib's own shortcuts (s: save, q: quit) off our keys
        if action.startswith("keymap."):
            plt.rcParams[action] = [k for k in keys if k not in (*KEYS, QUIT)]
    SlideshowWindow(show, plt.figure(figsize=(6, 6.6)))
    plt.show()


@dataclass(frozen=True)
class MergedFace:
    degree: float  # in [-1, +1]
    n_raters: int
    n_smiling: int
    agreement: float  # share of raters giving the majority answer


def answer_degree(answer: Answer, median_time: float) -> float:
    """One answer's degree: its sign times 2 ** (-reaction time / the rater's median reaction time)."""
    return (1.0 if answer.smiling else -1.0) * 2.0 ** (-answer.reaction_time / median_time)


def merge_answers(files: Sequence[Path]) -> dict[str, MergedFace]:
    """Every answered face's merged degree and agreement (see the module docstring), sorted by file name.

    The rater is the file's stem; a face a rater answered more than once keeps the first answer, and one note
    line per file says how many faces that was.
    """
    per_face: dict[str, list[tuple[Answer, float]]] = {}
    raters = set()
    for path in files:
        path = Path(path)
        if not path.is_file():
            raise FacegenError(f"answers file {path} not found: pass --merge labels/*.csv")
        if path.stem in raters:
            raise FacegenError(f"two answers files for rater {path.stem!r}: pass each rater's file once")
        raters.add(path.stem)
        first: dict[str, Answer] = {}
        repeated: dict[str, int] = {}
        for a in read_answers(path):
            if a.image in first:
                repeated[a.image] = repeated.get(a.image, 1) + 1
            first.setdefault(a.image, a)
        if repeated:
            example = next(iter(repeated))
            print(f"note: {path} answers {len(repeated)} face(s) more than once (e.g. {example}, {repeated[example]} "
                  f"times): the first answer of each is kept", file=sys.stderr)
        answers = list(first.values())
        if not answers:
            continue
        median = statistics.median(a.reaction_time for a in answers)
        for a in answers:
            per_face.setdefault(a.image, []).append((a, answer_degree(a, median)))
    if not per_face:
        raise FacegenError(f"no answers in {', '.join(str(f) for f in files)}: label some faces first")
    merged = {}
    for image in sorted(per_face):
        votes = per_face[image]
        n_smiling = sum(a.smiling for a, _ in votes)
        merged[image] = MergedFace(degree=sum(d for _, d in votes) / len(votes), n_raters=len(votes),
                                   n_smiling=n_smiling, agreement=max(n_smiling, len(votes) - n_smiling) / len(votes))
    return merged


def write_agreement(path: Path, merged: dict[str, MergedFace]) -> None:
    """Per-face rater agreement as CSV: image, degree, n_raters, n_smiling, agreement."""
    write_csv(path, ["image", "degree", "n_raters", "n_smiling", "agreement"],
              ([image, f"{m.degree:.6f}", m.n_raters, m.n_smiling, f"{m.agreement:.4f}"]
               for image, m in merged.items()))


def label_session(images: Path, rater: str, labels_dir: Path, n: int, seed: int) -> None:
    """The rater's slideshow of ``n`` faces of the folder ``images`` (drawn with ``seed``) in a window, each answer
    appended to LABELS_DIR/<rater>.csv; a session whose faces are all answered is a one-line error."""
    check_writable_folder(labels_dir, "--labels_dir")
    path = answers_file(labels_dir, rater)
    show = Slideshow(list_images(images), path, rater, n=n, seed=seed)
    if show.finished:
        raise FacegenError(f"all {show.total} faces of this session are already answered in {path}: "
                           f"pass another --seed or a larger --n for new faces")
    print(f"{show.answered}/{show.total} answered so far; s: smiling, n: not smiling, q: quit (answers -> {path})")
    open_window(show)
    print(f"{show.answered}/{show.total} answered; saved in {path}")


def merge_labels(files: list[Path], out: Path) -> None:
    """The raters' answers ``files`` merged into smile degrees in the label file ``out`` (what training reads),
    with each face's agreement beside it in OUT_agreement.csv."""
    check_writable_file(out, "--out")
    merged = merge_answers(files)
    write_smile_labels(out, {image: m.degree for image, m in merged.items()})
    agreement = out.with_name(f"{out.stem}_agreement.csv")
    write_agreement(agreement, merged)
    multi = [m for m in merged.values() if m.n_raters > 1]
    print(f"{len(merged)} faces from {len(files)} raters -> {out}")
    if multi:
        mean = sum(m.agreement for m in multi) / len(multi)
        unanimous = sum(m.agreement == 1 for m in multi)
        print(f"{len(multi)} faces seen by 2+ raters: mean agreement {mean:.3f}, unanimous {unanimous}/{len(multi)}; "
              f"per face: {agreement}")
