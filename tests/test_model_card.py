"""Model cards (facegen/analysis/editing/model_card.py) and the shipped default model: the committed file loads, its
card matches it, and it edits a photo with no --run, no training and no measurement on first use."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import edit_photo
import export_model
from facegen.analysis.directions.principal import principal_directions
from facegen.analysis.editing import model_card
from facegen.analysis.editing.model_card import ModelCard, card_path, model_config, photo_template, principal, read_card
from facegen.analysis.editing.photo import Template
from facegen.core.errors import FacegenError
from facegen.models.capabilities import Encoder, SmilePredictor
from facegen.runs import DEFAULT_MODEL, Run
from tests.helpers import SHARED_DATA, written

PHOTO = SHARED_DATA / "lfw" / "photos" / "Aaron_Eckhart_0001.jpg"
MAX_BYTES = 25 * 1024 * 1024


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


def test_the_shipped_default_loads_and_matches_its_card():
    assert DEFAULT_MODEL.is_file(), "the default model is committed (sh scripts/train_default.sh makes it)"
    assert DEFAULT_MODEL.stat().st_size <= MAX_BYTES
    run = Run.load(DEFAULT_MODEL)
    model = run.load_model()
    card = read_card(run)
    assert card is not None and card.config == model_config(run)
    assert run.model_name == card.config["model"] and isinstance(model, Encoder) and isinstance(model, SmilePredictor)
    p = card.provenance
    assert p["command"].startswith("cvae.py") and p["date"] and p["measured"]["epochs"] >= 1
    assert len(card.principal.names) >= 4 and card.template.eyes is not None


@pytest.mark.data("lfw/photos/Aaron_Eckhart_0001.jpg")
def test_edit_photo_without_run_uses_the_default_and_measures_nothing(tmp_path, capsys, monkeypatch):
    """The issue's command as it is: python edit_photo.py PHOTO --smile 1 (into results/photos/)."""
    monkeypatch.setattr(model_card, "face_template", lambda *a: pytest.fail("the template was measured"))
    monkeypatch.chdir(tmp_path)
    edit_photo.main([str(PHOTO), "--smile", "1"])
    out = capsys.readouterr().out
    assert f"no --run given: using the shipped default model {DEFAULT_MODEL.relative_to(DEFAULT_MODEL.parents[1])}" \
        in out.splitlines()[0]
    edited = tmp_path / "results" / "photos" / f"{PHOTO.stem}_smile+1.png"
    written(edited.parent, edited.name, f"{PHOTO.stem}_strip.png")
    assert "in results/photos" in out


def test_run_may_be_omitted_only_where_a_script_offers_the_default():
    from facegen.cli.args import Parser, add_run_arg

    strict = Parser(prog="export_model.py")
    add_run_arg(strict)
    with pytest.raises(SystemExit):
        strict.parse_args([])
    offered = Parser(prog="sample_prior.py")
    add_run_arg(offered, default_model=True)
    assert offered.parse_args([]).run is None and offered.parse_args(["--run", "r"]).run == Path("r")
