"""The labelling slideshow (driven headlessly through the figure's key callbacks) and the merge formula."""

import csv
from pathlib import Path

import matplotlib
import pytest
from PIL import Image

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.backend_bases import KeyEvent  # noqa: E402

from facegen.apps.labelling import (  # noqa: E402
    Answer,
    Slideshow,
    SlideshowWindow,
    append_answer,
    merge_answers,
    read_answers,
)
from facegen.core.errors import FacegenError  # noqa: E402
from facegen.data.labels import read_smile_labels  # noqa: E402
from tests.helpers import run_script, script_refusal  # noqa: E402


@pytest.fixture
def faces(tmp_path) -> Path:
    folder = tmp_path / "faces"
    folder.mkdir()
    for i in range(6):
        Image.new("RGB", (40, 40), (40 * i, 100, 200)).save(folder / f"face_{i}.png")
    return folder


class FakeClock:
    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def press(fig, key: str) -> None:
    fig.canvas.callbacks.process("key_press_event", KeyEvent("key_press_event", fig.canvas, key))


def open_show(faces: Path, answers: Path, n: int = 4) -> tuple[Slideshow, SlideshowWindow, FakeClock]:
    show = Slideshow(sorted(faces.iterdir()), answers, "alice", n=n, seed=0)
    clock = FakeClock()
    return show, SlideshowWindow(show, plt.figure(), clock), clock


def test_each_key_is_appended_at_once_and_a_restart_continues(faces, tmp_path):
    answers = tmp_path / "labels" / "alice.csv"
    show, window, clock = open_show(faces, answers)
    first = show.current
    clock.now += 0.8
    press(window.fig, "s")
    assert read_answers(answers) == [Answer(first.name, True, pytest.approx(0.8))]
    second = show.current
    assert second != first
    clock.now += 1.5
    press(window.fig, "x")  # ignored
    press(window.fig, "n")
    assert read_answers(answers)[1] == Answer(second.name, False, pytest.approx(1.5))
    press(window.fig, "q")
    assert show.finished and not plt.fignum_exists(window.fig.number)
    assert len(read_answers(answers)) == 2

    show, window, clock = open_show(faces, answers)  # the window was closed: a restart shows only the rest
    assert show.answered == 2 and len(show.queue) == 2
    assert {p.name for p in show.queue}.isdisjoint({first.name, second.name})
    for key in ("n", "s"):
        clock.now += 0.5
        press(window.fig, key)
    assert show.finished and not plt.fignum_exists(window.fig.number)
    names = [a.image for a in read_answers(answers)]
    assert len(names) == len(set(names)) == 4
    assert Slideshow(sorted(faces.iterdir()), answers, "alice", n=4, seed=0).finished


def test_raters_with_one_seed_see_the_same_faces_in_their_own_order(faces, tmp_path):
    a = Slideshow(sorted(faces.iterdir()), tmp_path / "a.csv", "alice", n=4, seed=3)
    b = Slideshow(sorted(faces.iterdir()), tmp_path / "b.csv", "bob", n=4, seed=3)
    assert set(a.queue) == set(b.queue) and len(a.queue) == 4
    bigger = Slideshow(sorted(faces.iterdir()), tmp_path / "a.csv", "alice", n=5, seed=3)
    assert set(a.queue) < set(bigger.queue)


def test_an_image_training_would_refuse_is_refused_before_anyone_labels_it(faces, tmp_path):
    Image.new("RGB", (1, 1)).save(faces / "face_dot.png")
    answers = tmp_path / "labels" / "alice.csv"
    with pytest.raises(FacegenError, match="face_dot.png is 1x1 px, under the minimum of 32 px"):
        Slideshow(sorted(faces.iterdir()), answers, "alice", n=10, seed=0)
    assert not answers.exists()


def test_merge_formula_on_a_hand_made_example(tmp_path):
    # alice: median reaction time 1.0 s; bob: median 2.0 s (a slower rater, normalised away)
    for rater, rows in {"alice": [("a.jpg", True, 1.0), ("b.jpg", False, 0.5), ("c.jpg", True, 2.0)],
                        "bob": [("a.jpg", True, 2.0), ("b.jpg", True, 4.0), ("c.jpg", True, 1.0)]}.items():
        for image, smiling, rt in rows:
            append_answer(tmp_path / f"{rater}.csv", Answer(image, smiling, rt))
    merged = merge_answers([tmp_path / "alice.csv", tmp_path / "bob.csv"])
    assert list(merged) == ["a.jpg", "b.jpg", "c.jpg"]
    assert merged["a.jpg"].degree == pytest.approx((2 ** -1 + 2 ** -1) / 2)  # both at their median: 1/2
    assert merged["b.jpg"].degree == pytest.approx((-(2 ** -0.5) + 2 ** -2) / 2)
    assert merged["c.jpg"].degree == pytest.approx((2 ** -2 + 2 ** -0.5) / 2)
    assert merged["a.jpg"].agreement == 1 and merged["b.jpg"].agreement == 0.5
    assert merged["b.jpg"].n_raters == 2 and merged["b.jpg"].n_smiling == 1


def test_bad_answers_file_is_one_clear_error(tmp_path):
    bad = tmp_path / "x.csv"
    bad.write_text("image,answer,reaction_time\na.jpg,maybe,1.0\n")
    with pytest.raises(FacegenError, match="line 2"):
        read_answers(bad)


def test_script_merges_into_a_label_file_a_model_reads(tmp_path):
    """Three raters: all say 0.jpg smiles and 1.jpg does not; two of three say 2.jpg smiles. The agreement file
    counts the smiling answers and the share of raters giving the majority answer."""
    for rater, rt, answers in (("r1", 0.6, (True, False, True)), ("r2", 0.9, (True, False, True)),
                               ("r3", 0.7, (True, False, False))):
        for i, smiling in enumerate(answers):
            append_answer(tmp_path / f"{rater}.csv", Answer(f"{i}.jpg", smiling, rt * (i + 1)))
    out = tmp_path / "merged.csv"
    done = run_script("label_smiles.py", "--merge", *(tmp_path / f"r{k}.csv" for k in (1, 2, 3)), "--out", out)
    assert done.returncode == 0, done.stderr
    labels = read_smile_labels(out)
    assert set(labels) == {"0.jpg", "1.jpg", "2.jpg"} and labels["1.jpg"] < 0 < labels["2.jpg"] < labels["0.jpg"]
    with open(tmp_path / "merged_agreement.csv", newline="") as f:
        rows = [(r["image"], int(r["n_raters"]), int(r["n_smiling"]), float(r["agreement"])) for r in csv.DictReader(f)]
    assert rows == [("0.jpg", 3, 3, 1.0), ("1.jpg", 3, 0, 1.0), ("2.jpg", 3, 2, pytest.approx(2 / 3, abs=1e-4))]
    script_refusal(run_script("label_smiles.py", "--images", tmp_path / "none", "--rater", "r1"))


def test_labels_from_two_simulated_raters_train_a_cvae(toy_root, tmp_path):
    """End to end: two raters answer toy faces in the window (sign from the drawn smile, faster the clearer it
    is), the merge turns their answers into degrees that follow the drawn smiles, and cvae.py trains on them."""
    from facegen.cli.training import train_main
    from facegen.data.toyfaces import make_toy_dataset

    images, truth_file = make_toy_dataset(toy_root / "toy", n=160)
    truth = read_smile_labels(truth_file)
    for rater, slowness in (("alice", 1.0), ("bob", 1.8)):
        show = Slideshow(sorted(images.iterdir()), tmp_path / "labels" / f"{rater}.csv", rater, n=40, seed=0)
        clock = FakeClock()
        window = SlideshowWindow(show, plt.figure(), clock)
        while not show.finished:
            smile = truth[show.current.name]
            clock.now += slowness * (0.4 + 1.2 * (1 - abs(smile)))
            press(window.fig, "s" if smile > 0 else "n")
    out = tmp_path / "merged.csv"
    done = run_script("label_smiles.py", "--merge", tmp_path / "labels" / "alice.csv", tmp_path / "labels" / "bob.csv",
                      "--out", out)
    assert done.returncode == 0, done.stderr
    merged = read_smile_labels(out)
    assert len(merged) == 40
    names = sorted(merged)
    pairs = [(merged[n], truth[n]) for n in names]
    assert all((m > 0) == (t > 0) for m, t in pairs)
    rank = {n: i for i, n in enumerate(sorted(names, key=lambda n: merged[n]))}
    true_rank = {n: i for i, n in enumerate(sorted(names, key=lambda n: truth[n]))}
    assert sum(abs(rank[n] - true_rank[n]) for n in names) / len(names) < 1  # the same order
    run = train_main([
        "--data", str(images), "--labels", str(out), "--resize", "32", "--cache_dir", str(toy_root / "cache"),
        "--latent_size", "4", "--batch_size", "8", "--n_epochs", "1", "--out", str(tmp_path / "run")], "cvae")
    assert (run / "checkpoints" / "last.pt").is_file()
    assert '"n_faces": 40' in (run / "flags.json").read_text()
