"""The exemplar smile editor: the Procrustes fit (closed form and least squares), where Poisson blending puts the
exemplar (a face's own mouth given back leaves the photo as it was; a 1 px slip would not), pixels outside the
region bit for bit, the choice of exemplar (degree window, colour, degree asked for, a smile reading's
shortlist), the bank file (round trip, refusals, the
filters of build_mouth_bank.py) and, on real UTKFace photos, a wider mouth after +1."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from facegen.analysis.editing.exemplar import (
    READING,
    SHORTLIST,
    WINDOW,
    ExemplarEditor,
    apply,
    compose,
    procrustes,
    region,
)
from facegen.core.errors import FacegenError
from facegen.data.align import invert
from facegen.data.landmarks import Face
from facegen.data.mouth_bank import MouthBank, build_bank, inner_gap, load_bank, save_bank
from facegen.data.mouths import SIZE, cut_patch, mouth_frame
from tests.fakes import fake_mouths, synthetic_landmarks, textured_photo
from tests.helpers import SHARED_DATA, run_script


def one_mouth_bank(patch: np.ndarray, points: np.ndarray, degree: float = 1.0) -> MouthBank:
    return MouthBank(patch[None].copy(), points[None].astype(np.float32), np.array([degree], np.float32),
                     np.zeros(1, np.float32), {"test": True})


def test_procrustes_recovers_a_similarity_and_is_least_squares():
    rng = np.random.default_rng(0)
    src = rng.normal(size=(3, 10, 2)) * 20
    angle, scale, shift = 0.4, 1.7, np.array([5.0, -3.0])
    true = np.array([[scale * np.cos(angle), -scale * np.sin(angle), shift[0]],
                     [scale * np.sin(angle), scale * np.cos(angle), shift[1]]])
    dst = apply(true, src[0])
    assert np.allclose(procrustes(src[:1], dst)[0], true, atol=1e-9)
    noisy = dst + rng.normal(size=dst.shape)
    best = procrustes(src[:1], noisy)[0]
    err = ((apply(best, src[0]) - noisy) ** 2).sum()
    for _ in range(200):  # no nearby similarity fits better
        a, s = rng.normal(scale=0.01, size=2)
        c, d = best[0, 0] * (1 + s), best[1, 0] * (1 + s)
        ca, sa = np.cos(a), np.sin(a)
        c, d = c * ca - d * sa, c * sa + d * ca
        other = np.array([[c, -d, best[0, 2] + rng.normal(scale=0.1)], [d, c, best[1, 2] + rng.normal(scale=0.1)]])
        assert ((apply(other, src[0]) - noisy) ** 2).sum() >= err - 1e-9


def test_compose_and_invert():
    t = np.array([[1.2, -0.3, 4.0], [0.3, 1.2, -7.0]])
    u = np.array([[0.5, 0.1, 1.0], [-0.1, 0.5, 2.0]])
    p = np.random.default_rng(1).normal(size=(5, 2))
    assert np.allclose(apply(compose(t, u), p), apply(t, apply(u, p)))
    assert np.allclose(apply(compose(invert(torch.from_numpy(t)).numpy(), t), p), p)


def _own_mouth_setup():
    photo = textured_photo()
    face = Face((0, 0, 1, 1), synthetic_landmarks())
    frame = mouth_frame(face, SIZE)
    return photo, face, cut_patch(photo, frame, SIZE), apply(frame, face.landmarks)


def test_a_faces_own_mouth_given_back_leaves_the_photo_as_it_was():
    photo, face, patch, points = _own_mouth_setup()
    out, _, chosen = ExemplarEditor(one_mouth_bank(patch, points)).edit_face(photo, face, 1.0)
    assert chosen.index == 0 and chosen.cost["shape"] < 1e-6
    diff = np.abs(out.astype(int) - photo.astype(int))
    assert diff.max() > 0  # the region was solved for, not skipped
    assert np.percentile(diff, 99) <= 6  # resampled (bicubic, twice) but in place: a 1 px slip gives ~40 here


def test_a_one_pixel_slip_would_show():
    """The yardstick of the test above: the same photo moved by one pixel differs far more than 6 levels."""
    photo = textured_photo().astype(int)
    assert np.percentile(np.abs(photo[:, 1:] - photo[:, :-1]), 99) > 20


def test_only_the_region_changes_and_it_takes_the_exemplars_shape():
    photo, face, patch, points = _own_mouth_setup()
    open_mouth = patch.copy()
    inner = np.round(points[60:68]).astype(np.int32)
    import cv2

    cv2.fillConvexPoly(open_mouth, cv2.convexHull(inner * [1, 1] + [0, 0]), (250, 250, 250))
    wide = synthetic_landmarks(mouth_width=1.2, gap=0.15)
    frame = mouth_frame(face, SIZE)
    wide_points = apply(frame, wide)
    cv2.fillConvexPoly(open_mouth, cv2.convexHull(np.round(wide_points[60:68]).astype(np.int32)), (250, 250, 250))
    out, replaced, _ = ExemplarEditor(one_mouth_bank(open_mouth, wide_points)).edit_face(photo, face, 1.0)
    changed = np.abs(out.astype(int) - photo.astype(int)).max(-1) > 0
    allowed = np.zeros(photo.shape[:2], np.uint8)
    grow = round(0.12 * face.eye_distance) + 1
    for polygon in (region(face.landmarks), wide[48:60]):
        cv2.fillConvexPoly(allowed, cv2.convexHull(polygon.round().astype(np.int32)), 1)
    allowed = cv2.dilate(allowed, np.ones((2 * grow + 1, 2 * grow + 1), np.uint8)).astype(bool)
    assert changed.any() and not (changed & ~allowed).any() and not (changed & ~replaced).any()
    mouth = np.zeros(photo.shape[:2], np.uint8)
    cv2.fillConvexPoly(mouth, cv2.convexHull(np.round(wide[60:68]).astype(np.int32)), 1)
    assert out[mouth.astype(bool)].mean() > photo[mouth.astype(bool)].mean() + 40  # the open mouth was drawn


def test_the_choice_keeps_to_the_degree_window_and_prefers_the_closest_colour():
    photo, face, patch, points = _own_mouth_setup()
    tinted = np.clip(patch.astype(int) + [40, -20, 0], 0, 255).astype(np.uint8)
    bank = MouthBank(np.stack([patch, tinted, patch]), np.stack([points] * 3).astype(np.float32),
                     np.array([-1.0, 1.0, 1.0], np.float32), np.zeros(3, np.float32), {})
    editor = ExemplarEditor(bank)
    assert editor.choose(patch, points, 1.0).index == 2  # the face's own colour among the smiling ones
    assert editor.choose(patch, points, -1.0).index == 0  # the perfect fit, but only it is within the window
    assert editor.choose(patch, points, 1.0 - WINDOW).index == 2
    with pytest.raises(FacegenError, match="no mouth within"):
        editor.choose(patch, points, 1.0 - 2 * WINDOW - 0.01)


def test_the_choice_prefers_the_degree_asked_for_among_equal_fits():
    photo, face, patch, points = _own_mouth_setup()
    bank = MouthBank(np.stack([patch] * 3), np.stack([points] * 3).astype(np.float32),
                     np.array([0.65, 1.0, 0.8], np.float32), np.zeros(3, np.float32), {})
    editor = ExemplarEditor(bank)
    assert editor.choose(patch, points, 1.0).index == 1
    assert [c.index for c in editor.shortlist(patch, points, 0.7, 3)] == [0, 2, 1]  # by distance from 0.7


def test_a_smile_reading_trades_the_fit_against_how_each_shortlisted_blend_reads():
    import cv2

    photo, face, patch, points = _own_mouth_setup()
    open_mouth = patch.copy()
    cv2.fillConvexPoly(open_mouth, cv2.convexHull(np.round(points[60:68]).astype(np.int32)), (250, 250, 250))
    tinted = np.clip(open_mouth.astype(int) + [60, -30, 0], 0, 255).astype(np.uint8)
    # the face's own closed mouth fits as well as the open one (the skin around the lips is the same), the tinted
    # open one worse (its skin colour): the shortlist is every closed mouth, the open one, then the tinted one
    patches = [patch] * (SHORTLIST - 2) + [open_mouth, tinted]
    bank = MouthBank(np.stack(patches), np.stack([points] * len(patches)).astype(np.float32),
                     np.ones(len(patches), np.float32), np.zeros(len(patches), np.float32), {})
    editor = ExemplarEditor(bank)
    shortlist = editor.shortlist(cut_patch(photo, mouth_frame(face, SIZE), SIZE), points, 1.0, SHORTLIST)
    assert [c.index for c in shortlist][-2:] == [SHORTLIST - 2, SHORTLIST - 1]
    gap = shortlist[-1].total - shortlist[-2].total
    assert gap > 1 and shortlist[-2].total == shortlist[0].total

    def reading(values: list[float]):  # the blends are read in the shortlist's order
        calls: list[Face] = []

        def read(image: torch.Tensor, found: Face) -> float:
            calls.append(found)
            return values[len(calls) - 1]

        return read, calls

    closed = [-1.0] * (SHORTLIST - 2)
    read, calls = reading(closed + [1.0, 1.0])
    out, _, chosen = editor.edit_face(photo, face, 1.0, read=read)
    assert chosen.index == SHORTLIST - 2  # both open mouths read +1: the better fit wins
    assert len(calls) == SHORTLIST and all(found is face for found in calls)
    lips = np.zeros(photo.shape[:2], np.uint8)
    cv2.fillConvexPoly(lips, cv2.convexHull(np.round(face.landmarks[60:68]).astype(np.int32)), 1)
    assert out[lips.astype(bool)].mean() > photo[lips.astype(bool)].mean() + 40  # the open mouth was drawn
    miss = gap / READING  # the reading a worse fit must gain to win
    for open_reads, winner in ((1 - miss * 0.9, SHORTLIST - 2), (1 - miss * 1.1, SHORTLIST - 1)):
        read, _ = reading(closed + [open_reads, 1.0])
        assert editor.edit_face(photo, face, 1.0, read=read)[2].index == winner
    assert editor.edit_face(photo, face, 1.0)[2].index == 0  # no reading: the cheapest



def test_a_black_and_white_photo_gets_a_grey_mouth_and_a_colour_photo_never_a_grey_one():
    import cv2

    photo, face, patch, points = _own_mouth_setup()
    open_mouth = patch.copy()
    cv2.fillConvexPoly(open_mouth, cv2.convexHull(np.round(points[60:68]).astype(np.int32)), (250, 120, 90))
    grey_photo = np.repeat(cv2.cvtColor(photo, cv2.COLOR_RGB2GRAY)[..., None], 3, -1)
    out, replaced, chosen = ExemplarEditor(one_mouth_bank(open_mouth, points)).edit_face(grey_photo, face, 1.0)
    assert chosen.grey and (np.abs(out.astype(int) - grey_photo.astype(int)).max(-1)[replaced] > 20).any()
    assert (out.max(-1) == out.min(-1)).all()  # the red lips drawn in grey
    out, _, chosen = ExemplarEditor(one_mouth_bank(open_mouth, points)).edit_face(photo, face, 1.0)
    assert not chosen.grey and (out.max(-1).astype(int) - out.min(-1) > 60).any()  # in colour on a colour photo
    grey_mouth = np.repeat(cv2.cvtColor(open_mouth, cv2.COLOR_RGB2GRAY)[..., None], 3, -1)
    with pytest.raises(FacegenError, match="no mouth within .* from a colour photo"):
        ExemplarEditor(one_mouth_bank(grey_mouth, points)).edit_face(photo, face, 1.0)
    assert ExemplarEditor(one_mouth_bank(grey_mouth, points)).edit_face(grey_photo, face, 1.0)[2].grey

def test_a_target_outside_the_range_is_refused():
    photo, face, patch, points = _own_mouth_setup()
    editor = ExemplarEditor(one_mouth_bank(patch, points))
    with pytest.raises(FacegenError, match="outside -1..1"):
        editor.edit(torch.from_numpy(photo).permute(2, 0, 1) / 255, [face], 1.5)


def test_build_keeps_sharp_closed_mouths_and_the_file_round_trips(tmp_path):
    fake_mouths(tmp_path / "m")
    bank = build_bank(tmp_path / "m", n=100)
    kept = [int(n.split(".")[0]) for n in bank.provenance["names"]]
    assert kept == [i for i in range(12) if i % 4 and i != 1]  # flat ones and the wide-open one dropped
    assert (inner_gap(bank.landmarks, bank.size) <= 0.35).all()
    path = save_bank(bank, tmp_path / "bank.safetensors")
    again = load_bank(path)
    for a, b in ((bank.patches, again.patches), (bank.landmarks, again.landmarks), (bank.degrees, again.degrees)):
        assert np.array_equal(a, b)
    assert again.provenance == bank.provenance


def test_build_fills_n_with_every_extreme_mouth_kept(tmp_path):
    degrees = fake_mouths(tmp_path / "m", n=30)
    bank = build_bank(tmp_path / "m", n=3)
    clean = [i for i in range(30) if i % 4 and i != 1]
    extreme = [i for i in clean if abs(degrees[i]) >= 0.6]
    kept = [int(n.split(".")[0]) for n in bank.provenance["names"]]
    assert set(extreme) <= set(kept) and len(kept) == len(extreme)


@pytest.mark.parametrize("content", [b"", b"not a safetensors file at all", None])
def test_a_bad_bank_file_is_refused_in_one_line(tmp_path, content):
    path = tmp_path / "bank.safetensors"
    if content is None:
        from safetensors.torch import save_file

        save_file({"x": torch.zeros(2)}, path, metadata={"format": "something-else"})
    else:
        path.write_bytes(content)
    with pytest.raises(FacegenError, match="build_mouth_bank.py") as e:
        load_bank(path)
    assert "\n" not in str(e.value)


def test_build_mouth_bank_script_refuses_a_folder_without_labels(tmp_path):
    fake_mouths(tmp_path / "m")
    (tmp_path / "m" / "labels.csv").unlink()
    r = run_script("build_mouth_bank.py", "--mouths", tmp_path / "m", "--out", tmp_path / "b.safetensors")
    assert r.returncode == 2 and "labels.csv not found" in r.stderr and r.stderr.count("\n") == 1
    assert not (tmp_path / "b.safetensors").exists()


@pytest.mark.data("utkface/UTKFace", "utkface/smiles_dataset.txt")
def test_plus_one_widens_real_mouths_and_minus_one_narrows_them(tmp_path):
    """Mouths cut from 60 labelled UTKFace faces; a bank of the others' mouths edits each of 6 faces."""
    from facegen.data.labels import read_smile_labels
    from facegen.data.landmarks import faces_in_photo, mouth_width_ratio
    from facegen.data.mouths import prepare_mouths
    from facegen.data.photos import read_photo

    utk = SHARED_DATA / "utkface"
    labels = read_smile_labels(utk / "smiles_dataset.txt")
    names = sorted(n for n in labels if (utk / "UTKFace" / n).is_file())
    plain = [n for n in names if labels[n] < -0.3][:3]
    smiling = [n for n in names if labels[n] > 0.6][:3]
    train = [n for n in names if n not in plain + smiling][:60]
    prepare_mouths([utk / "UTKFace" / n for n in train], tmp_path / "m", workers=1)
    kept = [p.name.removesuffix(".png") for p in sorted((tmp_path / "m" / "images").iterdir())]
    with open(tmp_path / "m" / "labels.csv", "w", encoding="utf-8") as f:
        f.write(",stimulus_filename,avg_encode\n" + "".join(f"{i},{n}.png,{labels[n]}\n" for i, n in enumerate(kept)))
    editor = ExemplarEditor(build_bank(tmp_path / "m"))
    for group, target, sign in ((plain, 1.0, 1), (smiling, -1.0, -1)):
        moved = []
        for n in group:
            photo = read_photo(utk / "UTKFace" / n)
            face = faces_in_photo(photo)[0]
            out, _ = editor.edit(photo, [face], target)
            again = faces_in_photo(out)[0]
            moved.append(sign * (mouth_width_ratio(again.landmarks) - mouth_width_ratio(face.landmarks)))
        assert np.mean(moved) > 0.03 and sum(m > 0 for m in moved) >= 2, (group, moved)


@pytest.mark.data("lfw/photos/Aaron_Eckhart_0001.jpg")
def test_the_photo_pipeline_blends_real_mouths_into_the_runs_edit_only_around_the_mouth(tiny_run):
    from facegen.analysis.editing.photo import Template, edit_photo
    from facegen.data.photos import read_photo
    from facegen.runs import Run

    run = Run.load(tiny_run)
    model = run.load_model()
    photo = read_photo(SHARED_DATA / "lfw" / "photos" / "Aaron_Eckhart_0001.jpg")
    template = Template(box=(0.15, 0.2, 0.7, 0.7), eyes=((0.35, 0.42), (0.65, 0.42)), n_faces=10, n_eyes=10)
    _, face, patch, points = _own_mouth_setup()
    import cv2

    white_lips = np.zeros_like(patch) + np.array([80, 60, 40], np.uint8)  # Poisson blending keeps the
    # exemplar's edges: white lips on dark (coloured: a colour photo takes no grey mouth) skin
    cv2.fillConvexPoly(white_lips, cv2.convexHull(points[48:60].round().astype(np.int32)), (250, 250, 250))
    mouths = ExemplarEditor(one_mouth_bank(white_lips, points))
    plain = edit_photo(model, run, photo, template, [1.0], None)
    blended = edit_photo(model, run, photo, template, [1.0], None, mouths=mouths)
    found = blended.faces[0]
    changed = (blended.photos[0] - plain.photos[0]).abs().amax(0) > 0
    ys, xs = torch.nonzero(changed, as_tuple=True)
    lo, hi = found.landmarks.min(0), found.landmarks.max(0)
    assert len(ys) > 100
    assert xs.min() >= lo[0] and xs.max() <= hi[0] and ys.min() >= found.landmarks[27, 1] and ys.max() <= hi[1] + 5
    lips = found.landmarks[48:60].mean(0).round().astype(int)
    lift = (blended.photos[0] - plain.photos[0]).mean(0)
    assert lift[lips[1], lips[0]] > lift[changed].mean() + 0.2  # the bright lips drawn where the face's lips are
    assert not torch.equal(blended.edits[0].edited_crops[0], plain.edits[0].edited_crops[0])  # measured as shown

