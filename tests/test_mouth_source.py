"""What draws the new mouth onto a CVAE's residual edit: the --mouths flag's default (the shipped taught editor,
else nothing, each said in one line), loading a bank or an editor from one path
(anything else refused in one line), the shipped taught editor and its card, and a photo's edit with it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from facegen.analysis.editing import mouth_source
from facegen.analysis.editing.exemplar import ExemplarEditor
from facegen.analysis.editing.model_card import model_config, read_card
from facegen.analysis.editing.mouth_source import SHIPPED_MOUTH_EDITOR, DrawnMouths, load_mouths, mouths_flag
from facegen.core.errors import FacegenError
from facegen.data.mouth_bank import DEFAULT_BANK, build_bank, save_bank
from facegen.models.capabilities import Editor
from facegen.runs import DEFAULT_MODEL, Run
from tests.fakes import fake_mouths
from tests.helpers import SHARED_DATA

MAX_BYTES = 10 * 2 ** 20  # the shipped editor stays small enough to live in git


def test_the_default_is_the_shipped_editor_and_without_it_nothing(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    DEFAULT_BANK.parent.mkdir(parents=True)
    DEFAULT_BANK.write_bytes(b"")  # a bank is used only when named
    assert mouths_flag(None) == SHIPPED_MOUTH_EDITOR
    said = capsys.readouterr().out
    assert "taught editor" in said and "--mouths none" in said and f"--mouths {DEFAULT_BANK}" in said
    monkeypatch.setattr(mouth_source, "SHIPPED_MOUTH_EDITOR", tmp_path / "missing.safetensors")
    assert mouths_flag(None) is None and "build_mouth_bank.py" in capsys.readouterr().out
    assert mouths_flag("none") is None and mouths_flag("NONE") is None
    assert mouths_flag("other.safetensors") == Path("other.safetensors")


def test_one_path_loads_a_bank_or_an_editor_and_anything_else_is_refused_in_one_line(tmp_path):
    mouths = tmp_path / "mouths"
    fake_mouths(mouths)
    bank = save_bank(build_bank(mouths, n=100), tmp_path / "bank.safetensors")
    assert isinstance(load_mouths(bank), ExemplarEditor)
    drawn = load_mouths(SHIPPED_MOUTH_EDITOR)
    assert isinstance(drawn, DrawnMouths) and isinstance(drawn.model, Editor) and drawn.model.draws_shape
    with pytest.raises(FacegenError, match="neither a mouth bank nor an expression editor .*edit expressions"):
        load_mouths(DEFAULT_MODEL)  # a CVAE draws no mouths
    (tmp_path / "junk.safetensors").write_bytes(b"not a safetensors file")
    for bad in (tmp_path / "junk.safetensors", tmp_path / "missing.safetensors", tmp_path):
        with pytest.raises(FacegenError, match=f"^--mouths {bad}: neither a mouth bank nor an expression editor"):
            load_mouths(bad)


def test_the_shipped_taught_editor_loads_and_matches_its_card():
    assert SHIPPED_MOUTH_EDITOR.is_file() and SHIPPED_MOUTH_EDITOR.stat().st_size <= MAX_BYTES
    run = Run.load(SHIPPED_MOUTH_EDITOR)
    card = read_card(run)
    assert card is not None and card.config == model_config(run) and run.model_name == "ganimation_taught"
    assert card.template is None and card.principal is None  # an editor works in the landmarks' mouth frame
    p = card.provenance
    assert p["command"].startswith("train_taught_editor.py") and p["measured"]["epochs"] >= 1 and p["note"]


@pytest.mark.data("lfw/photos/Aaron_Eckhart_0001.jpg")
def test_the_shipped_editor_draws_a_new_mouth_onto_the_cvae_edit_only_around_the_mouth():
    from facegen.analysis.editing.model_card import photo_template
    from facegen.analysis.editing.photo import edit_photo
    from facegen.data.photos import read_photo

    run = Run.load(DEFAULT_MODEL)
    model = run.load_model()
    photo = read_photo(SHARED_DATA / "lfw" / "photos" / "Aaron_Eckhart_0001.jpg")
    template = photo_template(run)
    plain = edit_photo(model, run, photo, template, [1.0], None)
    drawn = edit_photo(model, run, photo, template, [1.0], None, mouths=load_mouths(SHIPPED_MOUTH_EDITOR))
    face = drawn.faces[0]
    change = (drawn.photos[0] - plain.photos[0]).abs().amax(0)
    ys, xs = torch.nonzero(change > 0.02, as_tuple=True)
    assert len(ys) > 200  # a mouth was drawn ...
    lo, hi = face.landmarks.min(0), face.landmarks.max(0)
    assert xs.min() >= lo[0] and xs.max() <= hi[0] and ys.min() >= face.landmarks[30, 1] - 5  # ... below the nose
    lips = np.round(face.landmarks[60:68]).astype(int)
    inner = drawn.photos[0][:, lips[:, 1].min():lips[:, 1].max() + 1, lips[:, 0].min():lips[:, 0].max() + 1]
    before = photo[:, lips[:, 1].min():lips[:, 1].max() + 1, lips[:, 0].min():lips[:, 0].max() + 1]
    assert inner.mean() > before.mean() + 0.1  # teeth where the closed lips were
