"""The browser demo's state and logic without a browser (facegen/apps/demo.py): a photo's edit is exactly
photo_edit.edit_photo's, faces are outlined, bad files are one line naming the file; the prior tab's sliders."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from facegen.analysis.editing.photo import Template, edit_photo, smile_judge
from facegen.apps.demo import OUTLINE, VIEW_HEIGHT, PhotoDemo, PriorDemo, to_uint8
from facegen.cli.sliders import build_state
from facegen.core.errors import FacegenError
from facegen.data.landmarks import find_faces
from facegen.data.photos import read_photo
from facegen.runs import Run
from tests.helpers import SHARED_DATA

PHOTO = SHARED_DATA / "lfw" / "photos" / "Aaron_Eckhart_0001.jpg"
TEMPLATE = Template(box=(0.15, 0.2, 0.7, 0.7), eyes=((0.35, 0.42), (0.65, 0.42)), n_faces=10, n_eyes=10)


@pytest.fixture(scope="module")
def demo(tiny_run) -> PhotoDemo:
    run = Run.load(tiny_run)
    model = run.load_model()
    return PhotoDemo(run, model, TEMPLATE, smile_judge(model, run))


@pytest.mark.data("lfw/photos/Aaron_Eckhart_0001.jpg")
def test_the_demo_edit_is_edit_photos_and_outlines_the_face(demo):
    done = demo.edit(PHOTO, 1.0)
    photo = read_photo(PHOTO)
    same = edit_photo(demo.model, demo.run, photo, demo.template, [1.0], None, judge=demo.judge)
    assert np.array_equal(done.edited, to_uint8(same.photos[0]))
    h, w = photo.shape[1:]
    assert done.edited.shape == (h, w, 3) and not np.array_equal(done.edited, to_uint8(photo))
    assert done.before_after.shape[0] == h and done.before_after.shape[1] > 2 * w
    x, y, bw, bh = same.faces[0].box
    left_edge = done.before_after[round(y + bh / 2), round(x)]  # on the box's left side, in the "before" half
    assert tuple(left_edge) == OUTLINE
    assert "1 face(s)" in done.status and "set to smile +1.00" in done.status


@pytest.mark.data("lfw/photos/Aaron_Eckhart_0001.jpg")
def test_a_large_photo_keeps_its_size_and_its_view_is_shrunk(demo, tmp_path):
    big = tmp_path / "big.png"
    Image.open(PHOTO).resize((1000, 1000), Image.Resampling.BICUBIC).save(big)
    done = demo.edit(big, -1.0)
    assert done.edited.shape == (1000, 1000, 3)
    assert done.before_after.shape[0] == VIEW_HEIGHT and done.before_after.shape[1] > 2 * VIEW_HEIGHT
    x, y, w, h = (v * VIEW_HEIGHT / 1000 for v in find_faces(np.asarray(Image.open(big).convert("RGB")))[0].box)
    assert tuple(done.before_after[round(y + h / 2), round(x)]) == OUTLINE  # the box drawn at the view's scale


def test_bad_files_are_one_line_naming_the_file(demo, tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("not a photo")
    with pytest.raises(FacegenError, match=r"^cannot read image notes\.txt \(") as e:
        demo.edit(notes, 0.5)
    assert "\n" not in str(e.value)
    flat = tmp_path / "flat.png"
    Image.new("RGB", (120, 100), (128, 128, 128)).save(flat)
    with pytest.raises(FacegenError, match=r"^no face found in flat\.png"):
        demo.edit(flat, 0.5)
    with pytest.raises(FacegenError, match="from -1 to \\+1"):
        demo.edit(flat, 1.5)


def test_prior_sliders_draw_repeatably_and_move_the_face(tiny_run):
    run = Run.load(tiny_run)
    prior = PriorDemo(build_state(run, run.load_model(), method="pca", k=2))
    assert prior.names == [*run.cond_names, "pc0", "pc1"]
    first = prior.draw(3)
    assert prior.draw(4) != first and prior.draw(3) == first
    face = prior.image(first)
    assert face.shape == (256, 256, 3) and face.dtype == np.uint8
    assert np.array_equal(prior.image(first), face)
    smiling = list(first)
    smiling[0] = 1.0 if first[0] < 0.5 else -1.0
    assert not np.array_equal(prior.image(smiling), face)
    moved = list(first)
    moved[len(run.cond_names)] += 2.0
    assert np.abs(prior.image(moved).astype(int) - face).mean() > 1


def test_a_port_in_use_is_one_line_naming_the_flag():
    import socket

    import gradio as gr

    from facegen.apps.demo import serve

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(FacegenError, match=f"^--port {port}: 127.0.0.1:{port} is taken"):
            with gr.Blocks(analytics_enabled=False) as page:
                gr.Markdown("a page")
            serve(page, port)
