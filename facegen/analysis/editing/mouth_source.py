"""What draws the new mouth onto a CVAE's residual edit of a photo: real mouths from a bank (the exemplar editor,
:mod:`facegen.analysis.editing.exemplar`) or a network that draws it (an expression editor, e.g. the taught editor
of ``train_taught_editor.py``: :mod:`facegen.analysis.editing.mouth_editor`).

``edit_photo.py --mouths`` and ``app.py --mouths`` name one; not given, :func:`mouths_flag` takes the shipped
taught editor :data:`SHIPPED_MOUTH_EDITOR`: on top of residual editing it meets every goal of the editor study
(docs/editor.md section 7), which real mouths do not on LFW, and it needs no data.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import torch

from facegen.analysis.editing.exemplar import ExemplarEditor, SmileReading
from facegen.analysis.editing.mouth_editor import edit_mouths
from facegen.core.errors import FacegenError
from facegen.data.landmarks import Face
from facegen.data.mouth_bank import DEFAULT_BANK, is_bank, load_bank
from facegen.models.base import Model
from facegen.models.capabilities import Editor, require
from facegen.runs import DEFAULT_MODEL, Run

SHIPPED_MOUTH_EDITOR = DEFAULT_MODEL.parent / "smile_mouths.safetensors"  # the taught editor, exported (weights/)


class MouthSource(Protocol):
    """Sets the smile of faces in a photo by drawing their mouths."""

    def edit(self, photo: torch.Tensor, faces: list[Face], target: float, onto: torch.Tensor | None = None,
             read: SmileReading | None = None) -> tuple[torch.Tensor, list]:
        """(``photo`` (3, H, W) in [0, 1] with every face's smile set to ``target``, what was drawn for each face);
        with ``onto`` (the photo already edited another way) the mouths are made from ``photo`` and drawn onto
        ``onto``; ``read`` a smile reading a source may choose its mouths by."""


class DrawnMouths:
    """Mouths drawn by an expression editor (:func:`~.mouth_editor.edit_mouths`): it draws the degree asked for
    itself, so a smile reading is not needed."""

    def __init__(self, model: Model) -> None:
        require(model, Editor, "drawing mouths onto a CVAE's edit")
        self.model = model

    def edit(self, photo: torch.Tensor, faces: list[Face], target: float, onto: torch.Tensor | None = None,
             read: SmileReading | None = None) -> tuple[torch.Tensor, list]:
        return edit_mouths(self.model, photo, faces, target, onto=onto)


def mouths_flag(value: str | None) -> Path | None:
    """What a ``--mouths`` flag names: its path; ``none``: nothing (the CVAE's edits alone); not given:
    :data:`SHIPPED_MOUTH_EDITOR` when it exists (said in one line, with how to take real mouths instead)."""
    if value is not None:
        return None if value.lower() == "none" else Path(value)
    if SHIPPED_MOUTH_EDITOR.is_file():
        print(f"mouths drawn by the taught editor {_short(SHIPPED_MOUTH_EDITOR)} (--mouths none: the run's edits "
              f"alone; --mouths {DEFAULT_BANK}: real mouths from a bank)")
        return SHIPPED_MOUTH_EDITOR
    print(f"note: no {_short(SHIPPED_MOUTH_EDITOR)}, so smiles are the run's edits alone; --mouths takes a mouth "
          f"bank (build_mouth_bank.py) or a taught editor (docs/editor.md)")
    return None


def load_mouths(path: Path, device: str | torch.device = "cpu") -> MouthSource:
    """The mouth source in ``path``: a mouth bank file (build_mouth_bank.py), or an expression editor's run folder
    or exported model (train_taught_editor.py, train_editor.py); one line for anything else."""
    if Path(path).is_file() and is_bank(path):
        return ExemplarEditor(load_bank(path))
    try:
        return DrawnMouths(Run.load(path).load_model(device))
    except FacegenError as e:
        why = str(e).split(": ")[0]  # what is wrong, without the fix meant for --run
        raise FacegenError(f"--mouths {path}: neither a mouth bank nor an expression editor ({why}): give "
                           f"build_mouth_bank.py's file, a train_taught_editor.py run or "
                           f"{_short(SHIPPED_MOUTH_EDITOR)}") from None


def _short(path: Path) -> Path:
    try:
        return path.relative_to(Path.cwd())
    except ValueError:
        return path
