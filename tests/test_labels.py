"""The smile label CSV: reading, writing and the errors for broken files."""

from __future__ import annotations

import pytest

from facegen.core.errors import FacegenError
from facegen.data.labels import read_smile_labels, write_smile_labels

GOOD = (
    ",stimulus_filename,avg_encode\n185,me.png,-0.10\n"
    "0,18_0_0_2017.jpg.chip.jpg,0.038\n1,19_0_0_2017.jpg,1\n"
)


def write(tmp_path, text: str):
    path = tmp_path / "smiles.txt"
    path.write_text(text)
    return path


def test_reads_the_study_format(tmp_path):
    labels = read_smile_labels(write(tmp_path, GOOD))
    assert labels == {"me.png": -0.10, "18_0_0_2017.jpg.chip.jpg": 0.038, "19_0_0_2017.jpg": 1.0}
    assert list(labels) == ["me.png", "18_0_0_2017.jpg.chip.jpg", "19_0_0_2017.jpg"]


def test_needs_no_index_column_and_skips_blank_lines(tmp_path):
    assert read_smile_labels(write(tmp_path, "stimulus_filename,avg_encode\n\na.png,0.5\n")) == {"a.png": 0.5}


@pytest.mark.parametrize(
    ("row", "words"),
    [
        ("2,a.png", "expected 3 columns"),
        ("2,a.png,lots", "not a number"),
        ("2,,0.5", "empty"),
        ("2,a.png,1.5", "outside [-1, +1]"),
        ("2,a.png,-1.01", "outside [-1, +1]"),
        ("2,a.png,nan", "outside [-1, +1]"),
        ("2,me.png,0.1", "listed twice"),
    ],
)
def test_bad_row_names_file_and_line(tmp_path, row, words):
    path = write(tmp_path, GOOD + row + "\n")
    with pytest.raises(FacegenError) as err:
        read_smile_labels(path)
    message = str(err.value)
    assert str(path) in message and "line 5" in message and words in message


def test_bad_header_and_missing_file(tmp_path):
    with pytest.raises(FacegenError, match="line 1.*stimulus_filename"):
        read_smile_labels(write(tmp_path, "file,degree\na.png,0\n"))
    with pytest.raises(FacegenError, match="not found: pass --labels"):
        read_smile_labels(tmp_path / "nope.csv")


def test_write_round_trips_atomically(tmp_path):
    degrees = {"b.png": 0.123456789, "a.png": -1.0, "c.png": 1.0}
    path = tmp_path / "labels.csv"
    write_smile_labels(path, degrees)
    assert path.read_text().splitlines()[0] == ",stimulus_filename,avg_encode"
    assert read_smile_labels(path) == degrees
    assert [p.name for p in tmp_path.iterdir()] == ["labels.csv"]
