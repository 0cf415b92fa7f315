"""The slider window: a face and one matplotlib slider per slider of a :class:`SliderState`, and buttons for a
random face, reset, loading a photo (runs with an encoder) and saving the face (PNG + JSON). The file box holds
the path the buttons load from and save to. Everything it does goes through the state."""

from __future__ import annotations

import time
from itertools import count
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from facegen.apps.sliders import SliderState
from facegen.core.errors import FacegenError
from facegen.models.capabilities import Encoder

if TYPE_CHECKING:
    from matplotlib.figure import Figure

ROW = 0.045  # height of one slider row, as a share of the figure


class SliderWindow:
    """A figure showing ``state``'s face; sliders and buttons change the state and redraw."""

    def __init__(self, state: SliderState, figure: Figure, save_path: Path = Path("face.png"), seed: int = 0):
        from matplotlib.widgets import Button, Slider, TextBox

        self.state, self.fig, self.seeds = state, figure, count(seed + 1)
        self.redraw_seconds: list[float] = []
        self.ax = figure.add_axes((0.02, 0.22, 0.42, 0.72))
        self.ax.set_axis_off()
        self.im = self.ax.imshow(self._pixels(), interpolation="nearest")
        self.sliders = {}
        names = state.names
        top = 0.94
        for i, name in enumerate(names):
            spec = state.slider(name)
            ax = figure.add_axes((0.58, top - (i + 1) * ROW, 0.3, ROW * 0.6))
            value = state.values[name]
            slider = Slider(ax, name, spec.low, spec.high, valinit=float(np.clip(value, spec.low, spec.high)))
            slider.on_changed(lambda v, name=name: self.move(name, v))
            self.sliders[name] = slider
        self.path = TextBox(figure.add_axes((0.12, 0.11, 0.5, 0.05)), "file ", initial=str(save_path))
        buttons = [("random face", self.random), ("reset", self.reset), ("save PNG", self.save)]
        if isinstance(state.model, Encoder):
            buttons.insert(2, ("load photo", self.load))
        self.buttons = []
        for i, (label, action) in enumerate(buttons):
            b = Button(figure.add_axes((0.02 + i * 0.16, 0.03, 0.15, 0.06)), label)
            b.on_clicked(lambda _event, action=action: action())
            self.buttons.append(b)
        self.status = figure.text(0.66, 0.12, "", fontsize=8)
        figure.suptitle(state.meta.get("title", ""), fontsize=9)

    def _pixels(self) -> np.ndarray:
        image = self.state.image().permute(1, 2, 0).numpy()
        return image[..., 0] if image.shape[2] == 1 else image

    def redraw(self) -> None:
        start = time.perf_counter()
        self.im.set_data(self._pixels())
        if self.state.model.channels == 1:
            self.im.set_cmap("gray")
        self.fig.canvas.draw_idle()
        self.redraw_seconds.append(time.perf_counter() - start)

    def sync(self) -> None:
        """Put every slider widget where the state says, without calling back into the state."""
        for name, slider in self.sliders.items():
            slider.eventson = False
            slider.set_val(float(np.clip(self.state.values[name], slider.valmin, slider.valmax)))
            slider.eventson = True

    def move(self, name: str, value: float) -> None:
        self.state.set(name, value)
        self.redraw()

    def random(self) -> None:
        self.state.random_face(next(self.seeds))
        self.sync()
        self.redraw()

    def reset(self) -> None:
        self.state.reset()
        self.sync()
        self.redraw()

    def load(self) -> None:
        try:
            self.state.load_photo(Path(self.path.text.strip()))
        except FacegenError as e:
            self.say(str(e))
            return
        self.sync()
        self.redraw()
        self.say(f"loaded {self.path.text.strip()}")

    def save(self) -> None:
        try:
            png, js = self.state.save(Path(self.path.text.strip()))
        except FacegenError as e:
            self.say(str(e))
            return
        self.say(f"saved {png} and {js.name}")

    def say(self, text: str) -> None:
        self.status.set_text(text[:90])
        self.fig.canvas.draw_idle()

    def screenshot(self, path: Path) -> None:
        """The window's pixels as drawn on screen (the canvas buffer), as a PNG."""
        self.fig.canvas.draw()
        pixels = np.asarray(self.fig.canvas.buffer_rgba())[..., :3]
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(pixels).save(path)


def open_window(state: SliderState, save_path: Path, seed: int = 0, settings: dict[str, float] | None = None,
                screenshot: Path | None = None) -> SliderWindow:
    """Show the window until it is closed. With ``screenshot``: move the sliders named in ``settings`` through the
    widgets, write the window's pixels to that file and close it."""
    import matplotlib.pyplot as plt
    from matplotlib.backends import BackendFilter, backend_registry

    if plt.get_backend().lower() not in backend_registry.list_builtin(BackendFilter.INTERACTIVE):
        raise FacegenError(f"matplotlib backend {plt.get_backend()!r} cannot open a window (no display?): render "
                           f"without one with --set NAME=VALUE,... --save FILE.png, or set MPLBACKEND=TkAgg")
    rows = len(state.names)
    fig = plt.figure(figsize=(9, max(5.5, 1.6 + rows * 0.42)))
    window = SliderWindow(state, fig, save_path, seed)
    if screenshot is not None:
        def shoot() -> None:
            for name, value in (settings or {}).items():
                window.sliders[name].set_val(value)
            window.screenshot(screenshot)
            plt.close(fig)

        timer = fig.canvas.new_timer(interval=500)
        timer.single_shot = True
        timer.add_callback(shoot)
        timer.start()
    plt.show()
    return window
