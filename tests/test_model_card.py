"""Model cards (facegen/analysis/model_card.py): what an exported model needs beside it, read back without measuring."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import export_model
from facegen.analysis import model_card
from facegen.analysis.model_card import ModelCard, card_path, model_config, photo_template, principal, read_card
from facegen.analysis.photo_edit import Template
from facegen.analysis.principal import principal_directions
from facegen.core.errors import FacegenError
from facegen.runs import Run


@pytest.fixture
def carded(tiny_run, tmp_path) -> Path:
    """The tiny run exported, with a card of a made-up template and its first 3 PCA directions."""
    out = tmp_path / "tiny.safetensors"
    export_model.main(["--run", str(tiny_run), "--out", str(out)])
    run = Run.load(tiny_run)
    dirs = principal_directions(run, run.load_model(), "pca", 3)
    card = ModelCard({"command": run.command}, model_config(run),
                     Template((0.1, 0.2, 0.6, 0.7), ((0.3, 0.4), (0.7, 0.4)), 12, 11), dirs)
    model_card.write_card(out, card)
    return out


def test_a_card_round_trips_and_spares_the_measurements(carded, monkeypatch):
    run = Run.load(carded)
    monkeypatch.setattr(model_card, "face_template", lambda *a: pytest.fail("the template was measured"))
    assert photo_template(run) == Template((0.1, 0.2, 0.6, 0.7), ((0.3, 0.4), (0.7, 0.4)), 12, 11)
    stored = read_card(run).principal
    two = principal(run, run.load_model(), "pca", 2)
    assert two.names == ["pc0", "pc1"] and np.array_equal(two.vectors, stored.vectors[:2])
    assert np.array_equal(two.scales, stored.scales[:2]) and np.array_equal(two.center, stored.center)
    four = principal(run, run.load_model(), "pca", 4)  # more than the card holds: measured on the run's faces
    assert len(four.names) == 4 and np.allclose(np.abs(four.vectors[:3] @ stored.vectors.T).diagonal(), 1, atol=1e-6)


def test_a_card_of_another_model_or_unreadable_is_one_line(carded, tiny_run):
    card = json.loads(card_path(carded).read_text())
    card["config"]["model_config"]["latent_size"] += 1
    card_path(carded).write_text(json.dumps(card))
    with pytest.raises(FacegenError, match="describes another model than"):
        read_card(Run.load(carded))
    card_path(carded).write_text("{not json")
    with pytest.raises(FacegenError, match="not a readable model card"):
        read_card(Run.load(carded))
    assert read_card(Run.load(tiny_run)) is None  # a run folder has no card
