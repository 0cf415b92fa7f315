"""Smile-degree labels: the CSV of the Conditional Smiles study.

Format: a header holding ``stimulus_filename`` and ``avg_encode`` (an extra leading index column, as in
``,stimulus_filename,avg_encode``, is allowed), then one row per face with its degree in [-1, +1].
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

from facegen.core.errors import FacegenError
from facegen.core.files import write_csv
from facegen.core.textfile import read_text

FILE_COLUMN = "stimulus_filename"
DEGREE_COLUMN = "avg_encode"


def read_smile_labels(path: Path) -> dict[str, float]:
    """File name -> smile degree in [-1, +1], in file order."""
    path = Path(path)
    if not path.is_file():
        raise FacegenError(f"smile label file {path} not found: pass --labels FILE (CSV with {FILE_COLUMN})")
    try:
        text = read_text(path)
    except OSError as e:
        raise FacegenError(f"cannot read smile label file {path} ({e.strerror}): pass --labels FILE") from None
    with io.StringIO(text, newline="") as f:
        rows = csv.reader(f)
        header = [cell.strip() for cell in next(rows, [])]
        if FILE_COLUMN not in header or DEGREE_COLUMN not in header:
            raise FacegenError(
                f"{path} line 1: header must name the columns {FILE_COLUMN} and {DEGREE_COLUMN}: "
                f"fix the header (e.g. ',{FILE_COLUMN},{DEGREE_COLUMN}') or pass --labels with the right file"
            )
        i_file, i_degree = header.index(FILE_COLUMN), header.index(DEGREE_COLUMN)
        labels: dict[str, float] = {}
        first_line: dict[str, int] = {}
        for row in rows:
            if not any(cell.strip() for cell in row):
                continue
            where = f"{path} line {rows.line_num}"
            fix = "fix or delete that row"
            if len(row) != len(header):
                raise FacegenError(f"{where}: expected {len(header)} columns, found {len(row)}: {fix}")
            name = row[i_file].strip()
            if not name:
                raise FacegenError(f"{where}: empty {FILE_COLUMN}: {fix}")
            try:
                degree = float(row[i_degree])
            except ValueError:
                raise FacegenError(f"{where}: degree {row[i_degree]!r} is not a number: {fix}") from None
            if math.isnan(degree) or not -1.0 <= degree <= 1.0:
                raise FacegenError(f"{where}: smile degree {degree} is outside [-1, +1]: {fix}")
            if name in labels:
                raise FacegenError(f"{where}: {name} is listed twice (first on line {first_line[name]}): "
                                   f"keep one of its rows")
            labels[name] = degree
            first_line[name] = rows.line_num
    return labels


def write_smile_labels(path: Path, degrees: dict[str, float]) -> None:
    """Write ``degrees`` in the format :func:`read_smile_labels` reads, atomically."""
    write_csv(path, ["", FILE_COLUMN, DEGREE_COLUMN],
              ([i, name, repr(float(degree))] for i, (name, degree) in enumerate(degrees.items())))
