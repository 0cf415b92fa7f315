"""Editing whole photos: alignment maths, paste-back, the same edit off-centre as on the aligned crop, folder mode
and the identity strip (the face detector's tests skip without OpenCV or without the shared LFW photos)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from facegen.analysis.editing.photo import Template, alignment, edit_face, template_file
from facegen.analysis.editing.photo_files import PhotoJob
from facegen.analysis.evaluation import edit_identity
from facegen.analysis.judges.identity import load_judge
from facegen.cli.photos import identity_strip
from facegen.data.align import apply, invert, paste_change, similarity_from_box, similarity_from_points, warp
from facegen.data.landmarks import LEFT_EYE, RIGHT_EYE, Face
from facegen.runs import Run
from tests.helpers import SHARED_DATA, run_script, script_refusal, written


def plant_template(run_dir: Path, template: dict | None = None) -> Path:
    """A known template in the user cache, where edit_photo.py looks for the run's (so no detector runs on the
    toy faces)."""
    path = template_file(Run.load(run_dir))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(template or {"box": [0.15, 0.2, 0.7, 0.7], "eyes": None, "n_faces": 10, "n_eyes": 0}))
    return path


def test_similarity_from_two_points_is_exact_and_invertible():
    t = similarity_from_points((30.5, 80.0), (95.0, 60.0), (20.0, 26.0), (44.0, 26.0))
    mapped = apply(t, torch.tensor([[30.5, 80.0], [95.0, 60.0]]))
    assert torch.allclose(mapped, torch.tensor([[20.0, 26.0], [44.0, 26.0]], dtype=torch.float64), atol=1e-9)
    back = apply(invert(t), mapped)
    assert torch.allclose(back, torch.tensor([[30.5, 80.0], [95.0, 60.0]], dtype=torch.float64), atol=1e-9)
    a, b = t[0, 0], t[1, 0]  # a similarity: [[a, -b], [b, a]]
    assert t[0, 1] == -b and t[1, 1] == a


def test_box_alignment_maps_centre_and_side():
    t = similarity_from_box((100, 50, 40, 40), (8, 8, 16, 16))
    assert torch.allclose(apply(t, torch.tensor([[120.0, 70.0], [140.0, 90.0]])),
                          torch.tensor([[16.0, 16.0], [24.0, 24.0]], dtype=torch.float64))


def _dots(h: int, w: int, points: list[tuple[float, float]], sigma: float) -> torch.Tensor:
    yy, xx = torch.meshgrid(torch.arange(h) + 0.5, torch.arange(w) + 0.5, indexing="ij")
    img = sum(torch.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * sigma**2)) for x, y in points)
    return img[None].float()


def _centroid(img: torch.Tensor, near: tuple[float, float], radius: int = 6) -> tuple[float, float]:
    x0, y0 = int(near[0]), int(near[1])
    patch = img[0, y0 - radius:y0 + radius, x0 - radius:x0 + radius]
    yy, xx = torch.meshgrid(torch.arange(y0 - radius, y0 + radius) + 0.5, torch.arange(x0 - radius, x0 + radius) + 0.5,
                            indexing="ij")
    return float((patch * xx).sum() / patch.sum()), float((patch * yy).sum() / patch.sum())


@pytest.mark.parametrize("eyes", [((60.0, 90.0), (120.0, 70.0)), ((150.3, 40.7), (190.9, 44.2))])
def test_alignment_puts_the_eyes_on_the_template_within_a_pixel(eyes):
    photo = _dots(180, 240, list(eyes), sigma=2.5)
    template = Template(box=(0.2, 0.2, 0.6, 0.6), eyes=((0.33, 0.4), (0.67, 0.4)), n_faces=10, n_eyes=10)
    landmarks = np.zeros((68, 2))
    landmarks[LEFT_EYE], landmarks[RIGHT_EYE] = eyes
    t, how = alignment(Face((0, 0, 1, 1), landmarks), template, 64)
    assert how == "eyes"
    crop = warp(photo, invert(t), (64, 64))
    for found, wanted in zip((_centroid(crop, (21.1, 25.6)), _centroid(crop, (42.9, 25.6))),
                             ((0.33 * 64, 0.4 * 64), (0.67 * 64, 0.4 * 64)), strict=True):
        assert abs(found[0] - wanted[0]) < 1 and abs(found[1] - wanted[1]) < 1


def test_paste_back_leaves_pixels_outside_the_face_box_unchanged():
    g = torch.Generator().manual_seed(0)
    photo = torch.rand(3, 120, 160, generator=g)
    t = similarity_from_points((70.0, 50.0), (95.0, 48.0), (20.0, 26.0), (44.0, 26.0))  # slightly rotated
    change = torch.rand(3, 64, 64, generator=g) - 0.5
    out = paste_change(photo, change, t)
    yy, xx = torch.meshgrid(torch.arange(120) + 0.5, torch.arange(160) + 0.5, indexing="ij")
    inside = apply(t, torch.stack([xx.flatten(), yy.flatten()], 1)).reshape(120, 160, 2)
    in_crop = ((inside >= 0) & (inside <= 64)).all(-1)
    assert torch.equal(out[:, ~in_crop], photo[:, ~in_crop])
    assert (out[:, in_crop] != photo[:, in_crop]).any()


# the pivotal edit's 250 optimisation steps amplify the warped crop's round-off (~1e-7) to ~4e-3 at most
@pytest.mark.parametrize(("method", "tol"), [("residual", 1e-4), ("pivotal replace", 1e-2)])
def test_an_off_centre_small_face_gets_the_edit_of_its_aligned_crop(tiny_run, method, tol):
    run = Run.load(tiny_run)
    model = run.load_model()
    _, val = run.faces()
    crop = val.images[0].float() / 255  # (3, 32, 32): the face as the run frames it
    photo = torch.rand(3, 150, 200, generator=torch.Generator().manual_seed(1)) * 0.2
    x0, y0 = 150, 12  # off-centre, small in the frame
    photo[:, y0:y0 + 32, x0:x0 + 32] = crop
    template = Template(box=(0.25, 0.25, 0.5, 0.5), eyes=None, n_faces=10, n_eyes=0)
    t, how = alignment(Face((x0 + 8, y0 + 8, 16, 16), np.zeros((68, 2))), template, 32)
    assert how == "box"
    in_photo = edit_face(model, run, photo, t, [1.0], None, method)
    on_crop = edit_face(model, run, crop, torch.tensor([[1.0, 0, 0], [0, 1.0, 0]]), [1.0], None, method)
    (in_photo, own), (on_crop, own_crop) = (in_photo.photos, in_photo.own), (on_crop.photos, on_crop.own)
    assert own == pytest.approx(own_crop, abs=1e-5)
    assert (in_photo[0][:, y0:y0 + 32, x0:x0 + 32] - on_crop[0]).abs().mean() < tol / 10
    assert torch.allclose(in_photo[0][:, y0:y0 + 32, x0:x0 + 32], on_crop[0], atol=tol)
    outside = torch.ones(150, 200, dtype=torch.bool)
    outside[y0:y0 + 32, x0:x0 + 32] = False
    assert torch.equal(in_photo[0][:, outside], photo[:, outside])



def test_a_black_and_white_face_is_edited_in_grey_and_a_colour_one_in_colour(tiny_run):
    run = Run.load(tiny_run)
    model = run.load_model()
    _, val = run.faces()
    identity = torch.tensor([[1.0, 0, 0], [0, 1.0, 0]])
    colour = val.images[0].float() / 255
    grey = colour.mean(0, keepdim=True).expand(3, -1, -1).clone()
    on_grey = edit_face(model, run, grey, identity, [1.0], None).photos[0]
    on_colour = edit_face(model, run, colour, identity, [1.0], None).photos[0]
    assert (on_grey - grey).abs().max() > 0.05  # edited ...
    assert (on_grey - on_grey.mean(0)).abs().max() < 1e-6  # ... in grey: a colour change would tint it
    change = on_colour - colour
    assert (change - change.mean(0)).abs().max() > 0.01  # a colour face still gets the model's colour change

@pytest.mark.data("lfw/photos")
def test_folder_mode_goes_on_past_a_bad_file(tiny_run, tmp_path, capsys):
    import edit_photo

    plant_template(tiny_run, {"box": [0.15, 0.2, 0.7, 0.7], "eyes": [[0.35, 0.42], [0.65, 0.42]], "n_faces": 10,
                              "n_eyes": 10})
    photos = tmp_path / "photos"
    photos.mkdir()
    for p in sorted((SHARED_DATA / "lfw" / "photos").glob("*.jpg"))[:2]:
        shutil.copy(p, photos / p.name)
    (photos / "broken.jpg").write_text("not a photo")
    with pytest.raises(SystemExit) as exit_info:
        edit_photo.main([str(photos), "--run", str(tiny_run), "--smile", "-1,1", "--out", str(tmp_path / "out")])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "skipped broken.jpg" in err and "1 of 3" in err
    assert len(list((tmp_path / "out").glob("*_smile+1.png"))) == 2
    assert len(list((tmp_path / "out").glob("*_strip.png"))) == 2
    assert (photos / "broken.jpg").read_text() == "not a photo"


@pytest.mark.data("utkface/UTKFace")
def test_template_of_real_faces_is_plausible():
    from facegen.analysis.editing.photo import measure_template
    from facegen.data.cache import decode_images

    paths = sorted((SHARED_DATA / "utkface" / "UTKFace").glob("*.jpg"))[5000:5030]
    template = measure_template(decode_images(paths, size=256, channels=3, cache_dir=None))
    (lx, ly), (rx, ry) = template.eyes
    assert 0.2 < lx < 0.5 < rx < 0.8 and 0.25 < ly < 0.6 and abs(ly - ry) < 0.05
    assert template.n_faces >= 20


def test_feather_is_one_inside_and_zero_on_the_outer_ring():
    from facegen.data.align import feather

    f = feather(64)
    assert f[32, 32] == 1 and f[0].abs().sum() == 0 and f[:, -1].abs().sum() == 0
    assert (f >= 0).all() and (f <= 1).all() and 0 < f[4, 32] < 1


def test_bad_photos_are_one_line_errors(tiny_run, tmp_path):
    from PIL import Image

    import edit_photo
    from facegen.core.errors import FacegenError

    plant_template(tiny_run)
    args = ["--run", str(tiny_run), "--smile", "1", "--out", str(tmp_path / "out")]
    with pytest.raises(FacegenError, match="not found"):
        edit_photo.main([str(tmp_path / "missing.jpg"), *args])
    broken = tmp_path / "broken.jpg"
    broken.write_text("not a photo")
    with pytest.raises(FacegenError, match="cannot read"):
        edit_photo.main([str(broken), *args])
    flat = tmp_path / "flat.png"
    Image.new("RGB", (120, 100), (128, 128, 128)).save(flat)
    with pytest.raises(FacegenError, match="no face found"):
        edit_photo.main([str(flat), *args])
    with pytest.raises(FacegenError, match="from -1 to 1"):
        edit_photo.main([str(broken), "--run", str(tiny_run), "--smile", "2", "--out", str(tmp_path / "out")])


def test_identity_strip_puts_each_edit_beside_its_crop_with_its_distance(tiny_run, toy_identity, tmp_path):

    run = Run.load(tiny_run)
    model = run.load_model()
    _, val = run.faces()
    crops = []
    for i in range(2):
        crop = val.images[i].float() / 255
        done = edit_face(model, run, crop, torch.tensor([[1.0, 0, 0], [0, 1.0, 0]]), [-1.0, 1.0], None)
        assert len(done.edited_crops) == 2 and torch.equal(done.crop, crop)
        assert torch.allclose(done.edited_crops[1], done.photos[1], atol=1e-5)  # the crop is the whole photo here
        crops.append((f"face {i}", done))
    judge = load_judge(toy_identity)
    identity_strip(judge, run, crops, PhotoJob(tmp_path / "photo.png", tmp_path, [-1.0, 1.0]))
    stored = json.loads((tmp_path / "identity.json").read_text())
    assert stored["faces"] == ["face 0", "face 1"] and set(stored["distances"]) == {"reconstruction", "smile -1",
                                                                                       "smile +1"}
    box, _ = edit_identity.framing(judge, run)
    x = torch.stack([c.crop for _, c in crops])
    again = judge.distances(x, torch.stack([c.edited_crops[1] for _, c in crops]), box)
    assert stored["distances"]["smile +1"] == pytest.approx(again.tolist(), abs=1e-6)
    written(tmp_path, "identity_strip.png")


# ---- adversarial cases of issue 23 -----------------------------------------------------------------------------
def noise_photo(path: Path, size: int = 120, seed: int = 0) -> Path:
    from PIL import Image

    Image.fromarray(np.random.default_rng(seed).integers(0, 256, (size, size, 3), dtype=np.uint8)).save(path)
    return path


def test_an_output_is_never_written_over_an_input_photo(tiny_run, tmp_path):
    """DIR --out DIR with a user's photo named like an output (face_smile+1.png beside face.jpg): refused before
    anything is written, both photos intact."""
    folder = tmp_path / "photos"
    folder.mkdir()
    noise_photo(folder / "face.jpg", seed=1)
    noise_photo(folder / "face_smile+1.png", seed=2)
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    proc = run_script("edit_photo.py", folder, "--run", tiny_run, "--smile", "1", "--out", folder)
    script_refusal(proc, "face_smile+1.png over the input photo", "another --out")
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before


def test_editing_a_photo_writes_nothing_into_the_run(tiny_run, tmp_path, user_cache):
    """The run is only read: the template and the smile judge live in the user cache."""
    import edit_photo
    from facegen.core.errors import FacegenError

    run = tmp_path / "shared_run"
    shutil.copytree(tiny_run, run)
    plant_template(run)
    before = sorted((p.relative_to(run), p.stat().st_mtime_ns) for p in run.rglob("*"))
    with pytest.raises(FacegenError, match="no face found"):
        edit_photo.main([str(noise_photo(tmp_path / "me.png")), "--run", str(run), "--smile", "1", "--out",
                         str(tmp_path / "out")])
    assert sorted((p.relative_to(run), p.stat().st_mtime_ns) for p in run.rglob("*")) == before
    assert list(user_cache.glob("judges/*/evaluators/smile_regressor.*"))


@pytest.mark.parametrize("flag, value, words", [
    ("--smile", "nan", ["from -1 to 1", "-1,0,1"]),
    ("--smile", "inf", ["from -1 to 1", "-1,0,1"]),
    ("--smile", "2", ["from -1 to 1"]),
    ("--shift", "nan", ["from -2 to 2", "-2,0,2"]),
])
def test_a_bad_value_suggests_a_value_that_is_accepted(tiny_run, tmp_path, flag, value, words):
    import edit_photo
    from facegen.core.errors import FacegenError

    with pytest.raises(FacegenError) as e:
        edit_photo.main([str(tmp_path), "--run", str(tiny_run), flag, value, "--out", str(tmp_path / "out")])
    assert all(w in str(e.value) for w in words) and (flag == "--shift" or "-2" not in str(e.value)), e.value


def test_an_empty_photo_folder_names_the_argument_it_has(tiny_run, tmp_path):
    import edit_photo
    from facegen.core.errors import FacegenError

    (tmp_path / "empty").mkdir()
    with pytest.raises(FacegenError, match="holds no images") as e:
        edit_photo.main([str(tmp_path / "empty"), "--run", str(tiny_run), "--smile", "1", "--out", str(tmp_path)])
    assert "--data" not in str(e.value) and "a folder of photos" in str(e.value)


def test_photos_are_read_by_the_training_loader(tmp_path):
    """EXIF orientation 6, 16-bit grey and transparency: read_photo shows what the training decoder sees."""
    from PIL import Image

    from facegen.data.cache import BACKGROUND, decode_images
    from facegen.data.photos import read_photo

    wide = np.zeros((80, 120, 3), dtype=np.uint8)
    wide[:, :60] = 255  # left half white: upright (turned 90 degrees clockwise) it is the top half
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(wide).save(tmp_path / "turned.jpg", exif=exif, quality=95)
    turned = read_photo(tmp_path / "turned.jpg")
    assert turned.shape == (3, 120, 80)
    assert turned[:, :50].mean() > 0.9 and turned[:, 70:].mean() < 0.1

    grey16 = Image.fromarray(np.full((100, 100), 32896, dtype=np.uint16))
    grey16.save(tmp_path / "grey16.png")
    assert torch.allclose(read_photo(tmp_path / "grey16.png"), torch.full((3, 100, 100), 128 / 255))

    rgba = np.zeros((100, 100, 4), dtype=np.uint8)
    rgba[..., 0] = 255  # red hidden under fully transparent pixels
    Image.fromarray(rgba).save(tmp_path / "clear.png")
    assert torch.allclose(read_photo(tmp_path / "clear.png"), torch.full((3, 100, 100), BACKGROUND / 255))
    for name in ("turned.jpg", "grey16.png", "clear.png"):
        photo = read_photo(tmp_path / name)
        side = min(photo.shape[1:])
        trained = decode_images([tmp_path / name], size=side, channels=3, cache_dir=None)[0].float() / 255
        top, left = (photo.shape[1] - side) // 2, (photo.shape[2] - side) // 2
        assert (photo[:, top:top + side, left:left + side] - trained).abs().mean() < 0.02, name
