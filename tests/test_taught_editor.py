"""The taught smile editor: lessons written from a prepare_mouths.py folder and read back as pairs (RGB sources,
the target degree as condition, a face's lessons on one side of a split), bad lesson files refused in one line,
the model's step learning the lesson it is given for the degree it is given, and the photo pipeline drawing its
edit without the landmark warp (the study's ablation adds it)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import write_lessons
from facegen.analysis.editing.mouth_editor import edit_mouths
from facegen.analysis.evaluation.editor_comparison import editor_methods
from facegen.core.errors import FacegenError
from facegen.data.batches import Batch
from facegen.data.landmarks import Face
from facegen.data.mouth_bank import build_bank, save_bank
from facegen.data.needs import DataNeeds
from facegen.data.pairs import load_pairs
from facegen.data.spec import DataSpec
from facegen.models.editor.ganimation import GANimation, GANimationConfig
from facegen.models.editor.taught import TaughtEditorConfig, TaughtGANimation
from tests.fakes import RecordingStep, fake_mouths, synthetic_landmarks, textured_photo
from tests.helpers import call


def _lessons(tmp_path: Path) -> tuple[Path, Path]:
    """(a prepare_mouths.py folder of 12 patches, the lessons written from it and a bank of its mouths)."""
    mouths = tmp_path / "mouths"
    fake_mouths(mouths)
    bank = save_bank(build_bank(mouths, n=100), tmp_path / "bank.safetensors")
    out = tmp_path / "lessons"
    write_lessons.main(["--mouths", str(mouths), "--bank", str(bank), "--out", str(out)])
    return mouths, out


def test_lessons_are_written_and_read_back_as_pairs_of_each_face(tmp_path):
    mouths, out = _lessons(tmp_path)
    with (out / "lessons.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 36  # 12 patches x (own degree, -1, +1)
    own = [r for r in rows if r["input"] == r["target"]]
    assert len(own) == 12 and {r["smile"] for r in rows if r not in own} == {"-1.0000", "1.0000"}
    faces = load_pairs(out, size=32, cache_dir=None)
    assert faces.sources.shape == faces.images.shape == (36, 3, 32, 32)
    assert faces.cond_names == ["smile"] and faces.cond[:, 0].tolist() == pytest.approx([float(r["smile"])
                                                                                       for r in rows])
    source = np.asarray(Image.open(mouths / "images" / rows[1]["face"]).convert("RGB").resize((32, 32)))
    assert np.abs(faces.sources[1].permute(1, 2, 0).numpy().astype(int) - source).max() <= 1
    plus = [i for i, r in enumerate(rows) if r["smile"] == "1.0000"]
    assert any(not torch.equal(faces.images[i], faces.sources[i]) for i in plus)  # a new mouth was blended in
    train, val = DataSpec(needs=DataNeeds(pairs=True), val_fraction=0.25).split(faces)
    assert len(train) + len(val) == 36 and len(val) > 0
    names = {n.split("_")[0].split(".")[0] for n in val.names}  # a face's three lessons stay on one side
    assert all(n.split("_")[0].split(".")[0] not in names for n in train.names)


@pytest.mark.parametrize(("header", "row", "needle"), [
    ("face,input,target", "a,x.png,x.png", "no column smile"),
    ("face,input,target,smile", "a,x.png,x.png,1.5", "line 2: smile '1.5' is not a degree"),
    ("face,input,target,smile", "a,missing.png,x.png,0.5", "listed files are missing"),
])
def test_a_bad_lessons_file_is_refused_in_one_line(tmp_path, header, row, needle):
    folder = tmp_path / "lessons"
    folder.mkdir()
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(folder / "x.png")
    (folder / "lessons.csv").write_text(f"{header}\n{row}\n")
    with pytest.raises(FacegenError, match=needle):
        load_pairs(folder, size=32, cache_dir=None)


def test_write_lessons_refuses_a_folder_without_patches(tmp_path, capsys):
    code, _, err = call("write_lessons", ["--mouths", str(tmp_path / "none"), "--bank", str(tmp_path / "b"),
                                          "--out", str(tmp_path / "out")], capsys)
    assert code != 0 and "b" in err and len(err.strip().splitlines()) == 1


def _square_lessons(n: int = 8, size: int = 32) -> Batch:
    """Lessons whose +1 target is the source with a white square in the middle and whose -1 target is the source."""
    g = torch.Generator().manual_seed(0)
    source = torch.rand(n, 3, size, size, generator=g) * 0.4 + 0.1
    target = source.clone()
    t = torch.tensor([1.0, -1.0] * (n // 2))[:, None]
    target[t[:, 0] > 0, :, 12:20, 12:20] = 1.0
    return Batch(target, t, torch.ones(n, dtype=torch.bool), source)


def test_the_step_learns_to_draw_the_lesson_for_the_degree_asked():
    torch.manual_seed(0)
    model = TaughtGANimation(TaughtEditorConfig(size=32, channels=3, cond_dim=1, g_width=8, n_res=1, d_width=8,
                                                d_layers=3, lambda_teach=20.0))
    batch = _square_lessons()
    step = RecordingStep(model, settings_lr=3e-3)
    first = model.train_step(batch, step)
    for _ in range(100):
        terms = model.train_step(batch, step)
    assert step.calls[:2] == ["disc", "gen"]
    assert float(terms["teach"]) < 0.5 * float(first["teach"])
    with torch.no_grad():
        plus = model.edit(batch.source, torch.ones(len(batch.y), 1))[0][:, :, 12:20, 12:20].mean()
        minus = model.edit(batch.source, -torch.ones(len(batch.y), 1))[0][:, :, 12:20, 12:20].mean()
    assert plus > minus + 0.2  # the square is drawn for +1 only: the lesson of the degree asked for
    with pytest.raises(FacegenError, match="write_lessons.py"):
        model.train_step(Batch(batch.x, batch.y, batch.labelled), step)  # faces without lessons
    with torch.no_grad():
        shown = model.snapshot(batch)
    assert torch.equal(shown[:8], batch.source)  # the sources, then the edits to -1 and to +1
    assert shown[16:, :, 12:20, 12:20].mean() > shown[8:16, :, 12:20, 12:20].mean() + 0.2


def test_the_photo_pipeline_draws_a_taught_edit_without_the_landmark_warp_and_the_study_ablates_it():
    photo = torch.from_numpy(textured_photo(200, 200)).permute(2, 0, 1).float() / 255
    face = Face((0, 0, 1, 1), synthetic_landmarks(centre=(100.0, 80.0)))
    cfg = dict(size=32, channels=3, cond_dim=1, g_width=8, n_res=1, d_width=8, d_layers=3)
    taught, plain = TaughtGANimation(TaughtEditorConfig(**cfg)).eval(), GANimation(GANimationConfig(**cfg)).eval()
    for model in (taught, plain):
        with torch.no_grad():  # a closed mask: the generator itself changes nothing
            model.generator.attention[0].weight.zero_()
            model.generator.attention[0].bias.fill_(-60.0)
    assert taught.draws_shape and not plain.draws_shape
    assert torch.allclose(edit_mouths(taught, photo, [face], 1.0)[0], photo, atol=1e-6)
    assert (edit_mouths(plain, photo, [face], 1.0)[0] - photo).abs().max() > 0.05  # GANimation's mouth is warped
    methods = editor_methods([taught], ablations=True)
    assert list(methods) == ["taught editor", "taught editor, with reshaping", "reshaping only"]
    assert torch.allclose(methods["taught editor"](photo, face, 1.0), photo, atol=1e-6)
    assert (methods["taught editor, with reshaping"](photo, face, 1.0) - photo).abs().max() > 0.05
    methods = editor_methods([plain], ablations=True)
    assert list(methods) == ["GANimation", "GANimation, no reshaping", "reshaping only"]
    assert torch.allclose(methods["GANimation, no reshaping"](photo, face, 1.0), photo, atol=1e-6)


def test_an_editor_on_top_of_residual_editing_draws_from_the_photo_onto_the_residual_edit():
    photo = torch.from_numpy(textured_photo(200, 200)).permute(2, 0, 1).float() / 255
    face = Face((0, 0, 1, 1), synthetic_landmarks(centre=(100.0, 80.0)))
    model = TaughtGANimation(TaughtEditorConfig(size=32, channels=3, cond_dim=1, g_width=8, n_res=1, d_width=8,
                                                d_layers=3)).eval()

    def residual(image: torch.Tensor, found: Face, t: float) -> torch.Tensor:  # a stand-in: the photo brightened
        return (image + 0.2).clamp(0, 1)

    methods = editor_methods([model], residual=residual)
    assert list(methods) == ["taught editor", "residual + taught editor"]
    with torch.no_grad():
        model.generator.attention[0].weight.zero_()
        model.generator.attention[0].bias.fill_(-60.0)  # a closed mask: the residual edit as it was
    assert torch.allclose(methods["residual + taught editor"](photo, face, 1.0), residual(photo, face, 1.0),
                          atol=1e-6)
    with torch.no_grad():
        model.generator.attention[0].bias.fill_(60.0)  # an open mask: the editor's colours from the photo's patch
    alone, on_top = (methods[name](photo, face, 1.0) for name in ("taught editor", "residual + taught editor"))
    mouth = (slice(None), slice(118, 126), slice(92, 108))  # the middle of the mouth, where the feather is 1
    assert torch.allclose(on_top[mouth], alone[mouth], atol=1e-5)
    assert torch.allclose(on_top[:, :40], residual(photo, face, 1.0)[:, :40])  # far from the mouth: the residual


def test_on_a_black_and_white_face_the_editor_paints_in_grey():
    colour = torch.from_numpy(textured_photo(200, 200)).permute(2, 0, 1).float() / 255
    grey = colour.mean(0, keepdim=True).expand(3, -1, -1).clone()
    face = Face((0, 0, 1, 1), synthetic_landmarks(centre=(100.0, 80.0)))
    model = TaughtGANimation(TaughtEditorConfig(size=32, channels=3, cond_dim=1, g_width=8, n_res=1, d_width=8,
                                                d_layers=3)).eval()
    with torch.no_grad():
        model.generator.attention[0].bias.fill_(60.0)  # an open mask: the generator's colours everywhere in it
    on_grey, on_colour = (edit_mouths(model, photo, [face], 1.0)[0] for photo in (grey, colour))
    assert (on_grey - grey).abs().max() > 0.05 and (on_grey - on_grey.mean(0)).abs().max() < 1e-6
    mouth = (slice(None), slice(118, 126), slice(92, 108))  # where the mask is whole: the generator's colours alone
    assert (on_colour - on_colour.mean(0))[mouth].abs().max() > 0.01
