"""The browser demo (``python app.py``): a page served on 127.0.0.1 with two tabs.

- **Edit a photo**: upload a photo (or pick one of the LFW examples), move the smile slider (-1 … +1): every face
  large and frontal enough gets that smile degree by :func:`facegen.analysis.editing.photo.edit_photo`, the very
  function ``edit_photo.py`` uses. The page shows the edited photo at its own size, the photo and the edit side by
  side with the faces found outlined, and one status line (or one error line: no face, not an image).
- **Faces from the prior**: the model's own sliders (:class:`facegen.apps.sliders.SliderState`: its conditions,
  smile first, and its first principal axes in standard deviations) over a face drawn from the prior.

:class:`PhotoDemo` and :class:`PriorDemo` are the plain state and logic (tested without a browser);
:func:`build_page` is the thin Gradio page over them and :func:`serve` starts it. Nothing is fetched from the
network: Gradio's telemetry is off (``GRADIO_ANALYTICS_ENABLED=False``, set before Gradio is imported), its
default theme's fonts are served by the app itself, and server-side rendering (a Node process) is off.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

from facegen.analysis.editing.mouth_source import MouthSource
from facegen.analysis.editing.photo import Template, edit_photo
from facegen.analysis.judges.judge import Judge
from facegen.apps.sliders import SliderState
from facegen.core.errors import FacegenError
from facegen.data.photos import read_photo
from facegen.models.base import Model
from facegen.runs import Run

HOST = "127.0.0.1"
VIEW_HEIGHT = 512  # px: the before | after view is shrunk to this height (a 12-megapixel photo's would take a second
# to encode at every slider move); the edited photo keeps the photo's size
PRIOR_SIDE = 256  # px: a prior face is shown enlarged to this size (nearest neighbour, so its pixels stay visible)
OUTLINE = (255, 214, 0)  # colour of the detected faces' boxes
BUTTONS = ["download", "fullscreen"]  # an image's buttons (not "share", which posts to a hosting service)
OFFLINE_ENV = {"GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1", "HF_HUB_DISABLE_TELEMETRY": "1",
               "GRADIO_SSR_MODE": "False"}


def to_uint8(image: torch.Tensor) -> np.ndarray:
    """(C, H, W) in [0, 1] -> (H, W, 3) uint8."""
    pixels = (image.clamp(0, 1) * 255).round().byte().permute(1, 2, 0).numpy()
    return np.repeat(pixels, 3, 2) if pixels.shape[2] == 1 else pixels


def shrunk(pixels: np.ndarray, scale: float) -> np.ndarray:
    """An (H, W, 3) uint8 image resized by ``scale`` <= 1 (antialiased); itself when ``scale`` is 1."""
    if scale >= 1:
        return pixels
    h, w = pixels.shape[:2]
    return np.asarray(Image.fromarray(pixels).resize((max(1, round(w * scale)), max(1, round(h * scale))),
                                                     Image.Resampling.LANCZOS))


def outlined(pixels: np.ndarray, boxes: list[tuple[float, float, float, float]]) -> np.ndarray:
    """A copy of an (H, W, 3) uint8 image with each (x, y, w, h) box drawn on it."""
    image = Image.fromarray(pixels)
    draw = ImageDraw.Draw(image)
    width = max(2, round(max(image.size) / 150))
    for x, y, w, h in boxes:
        draw.rectangle((x, y, x + w, y + h), outline=OUTLINE, width=width)
    return np.asarray(image)


@dataclass
class DemoEdit:
    """One edit for the page: the edited photo (H, W, 3) uint8 at the photo's size, the photo and the edit side by
    side with the faces outlined (at most VIEW_HEIGHT px high), and the status line."""

    edited: np.ndarray
    before_after: np.ndarray
    status: str


class PhotoDemo:
    """Smile edits of uploaded photos with one trained run (its face template and smile judge found once; both None
    for an expression editor, which finds its own), with each mouth drawn anew by ``mouths`` when given (real
    mouths or the taught editor's)."""

    def __init__(self, run: Run, model: Model, template: Template | None, judge: Judge | None,
                 mouths: MouthSource | None = None):
        self.run, self.model, self.template, self.judge, self.mouths = run, model, template, judge, mouths

    def edit(self, path: str | Path, smile: float) -> DemoEdit:
        """Give every face in the photo at ``path`` the smile degree ``smile``; a FacegenError (one line naming the
        file by its name) for a file that is not an image or a photo with no face to edit."""
        if not -1 <= smile <= 1:
            raise FacegenError(f"smile {smile}: degrees run from -1 to +1")
        start = time.perf_counter()
        name = Path(path).name
        photo = read_photo(Path(path), name)
        done = edit_photo(self.model, self.run, photo, self.template, [smile], None, judge=self.judge, name=name,
                          mouths=self.mouths)
        edited = to_uint8(done.photos[0])
        scale = min(1.0, VIEW_HEIGHT / edited.shape[0])
        boxes = [tuple(v * scale for v in face.box) for face in done.faces]
        halves = [outlined(shrunk(pixels, scale), boxes) for pixels in (to_uint8(photo), edited)]
        gap = np.full((halves[0].shape[0], max(4, halves[0].shape[1] // 50), 3), 255, np.uint8)
        before_after = np.concatenate([halves[0], gap, halves[1]], 1)
        own = ", ".join(f"{e.own:+.2f}" for e in done.edits)
        status = (f"{name}: {len(done.faces)} face(s) (own smile {own}) set to smile {smile:+.2f} in "
                  f"{time.perf_counter() - start:.2f} s")
        return DemoEdit(edited, before_after, status)


class PriorDemo:
    """The model's own sliders over faces drawn from its prior; one lock, since the page's sessions share it."""

    def __init__(self, state: SliderState):
        self.state = state
        self.lock = threading.Lock()

    @property
    def names(self) -> list[str]:
        """The sliders: the conditions first (smile, gender, ...), then the principal axes."""
        return [c.name for c in self.state.conditions] + [s.name for s in self.state.directions]

    def ranges(self) -> list[tuple[float, float]]:
        return [(s.low, s.high) for s in (self.state.slider(n) for n in self.names)]

    def draw(self, seed: int) -> list[float]:
        """A new face from the prior (``seed``): every slider's value for it, in :attr:`names` order."""
        with self.lock:
            self.state.random_face(int(seed))
            return [self.state.values[n] for n in self.names]

    def image(self, values: list[float]) -> np.ndarray:
        """The current face with the sliders at ``values`` (:attr:`names` order), enlarged to PRIOR_SIDE px."""
        with self.lock:
            self.state.set_many(dict(zip(self.names, map(float, values), strict=True)))
            face = self.state.image()
        big = torch.nn.functional.interpolate(face[None], size=(PRIOR_SIDE, PRIOR_SIDE), mode="nearest")[0]
        return to_uint8(big)


def build_page(photos: PhotoDemo, prior: PriorDemo | None, examples: list[Path], title: str, seed: int = 0):
    """The Gradio page (a ``gr.Blocks``) over the two demos (no prior tab for a model that cannot draw faces);
    ``examples``: photos offered for a click; ``seed``: the prior tab's first face."""
    os.environ.update(OFFLINE_ENV)
    import gradio as gr

    def on_photo(path: str | None, smile: float):
        if path is None:
            return None, None, "Upload a photo, or pick an example below."
        try:
            done = photos.edit(path, smile)
        except FacegenError as e:
            return None, None, f"error: {e}"
        return done.edited, done.before_after, done.status

    with gr.Blocks(title="facegen: smile editor", analytics_enabled=False) as page:
        gr.Markdown(f"## facegen: smile editor\n{title}")
        with gr.Tab("Edit a photo"):
            with gr.Row():
                with gr.Column(scale=1):
                    photo = gr.File(label="Photo (jpg, png)", type="filepath", elem_id="photo")
                    smile = gr.Slider(-1, 1, value=0, step=0.05, label="Smile degree (-1 not smiling, +1 smiling)",
                                      elem_id="smile")
                    status = gr.Textbox(label="Status", interactive=False, elem_id="status", max_lines=2,
                                        value="Upload a photo, or pick an example below.")
                    if examples:
                        gr.Examples([[str(p)] for p in examples], inputs=photo, label="LFW photos",
                                    examples_per_page=8)
                with gr.Column(scale=2):
                    edited = gr.Image(label="Edited photo", format="png", interactive=False, elem_id="edited",
                                      buttons=BUTTONS)
                    before_after = gr.Image(label="Before | after (faces found outlined)", format="png",
                                            interactive=False, elem_id="before_after", buttons=BUTTONS)
            for event in (photo.change, smile.change):
                event(on_photo, [photo, smile], [edited, before_after, status], trigger_mode="always_last",
                      show_progress="minimal")
        if prior is not None:
            prior_tab(gr, prior, seed)
    return page


def prior_tab(gr, prior: PriorDemo, seed: int) -> None:
    """The "Faces from the prior" tab of the page being built: a seed, a next-face button, the model's sliders."""
    with gr.Tab("Faces from the prior"):
        with gr.Row():
            with gr.Column(scale=1):
                seed_box = gr.Number(value=seed, precision=0, label="Seed of the face (Enter draws it)",
                                     elem_id="seed")
                new = gr.Button("Next face from the prior (seed + 1)", elem_id="new_face")
                start = prior.draw(seed)
                sliders = [gr.Slider(low, high, value=v, step=0.05, label=name, elem_id=f"prior_{name}")
                           for name, (low, high), v in zip(prior.names, prior.ranges(), start, strict=True)]
            with gr.Column(scale=1):
                face = gr.Image(value=prior.image(start), label="Face", format="png", interactive=False,
                                elem_id="prior_face", buttons=BUTTONS)
        new.click(lambda s: [int(s or 0) + 1, *prior.draw(int(s or 0) + 1)], [seed_box], [seed_box, *sliders])
        seed_box.submit(prior.draw, [seed_box], sliders)
        for s in sliders:
            s.change(lambda *v: prior.image(list(v)), sliders, face, trigger_mode="always_last",
                     show_progress="hidden")


def serve(page, port: int) -> None:
    """Serve ``page`` on 127.0.0.1:``port``, say so in one line once it answers, and block until Ctrl-C; a port in
    use is a one-line error."""
    os.environ.update(OFFLINE_ENV)
    try:
        page.launch(server_name=HOST, server_port=port, share=False, ssr_mode=False, show_error=False,
                    footer_links=[], quiet=True, inbrowser=False, prevent_thread_lock=True)
    except OSError:
        raise FacegenError(f"--port {port}: {HOST}:{port} is taken (another server?); pass another --port") from None
    print(f"serving on http://{HOST}:{port} (Ctrl-C stops)", flush=True)
    page.block_thread()
