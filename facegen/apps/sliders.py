"""The slider window's state, with no window: a face's latent code and conditions, the sliders that move them, and
the image they make. Tests and ``face_sliders.py --set ... --save`` drive it directly; the window
(:mod:`facegen.apps.slider_window`) is a thin layer over it.

Sliders come in three kinds:

- **direction sliders** (principal directions ``pc0``, ``pc1``, ... and attribute directions ``dir_<attribute>``):
  direction s has a unit vector u_s and a step length l_s (one standard deviation for principal directions), and
  the code is ``z = anchor + sum_s v_s l_s u_s``. Principal sliders are the face's coordinates: when a face is
  set (drawn at random, or encoded from a photo), its code z is written as center + sum_p c_p l_p u_p + r with
  the c_p fitted by least squares (the projection onto orthonormal directions) and r what the sliders do not
  reach, so the principal sliders start at c_p and the attribute sliders at 0. Moving a slider and moving it
  back gives the same code, bit for bit.
- **condition sliders** for a conditional run's conditions (``smile``, ``gender`` from -1 male to +1 female,
  ``age`` in years), decoded with the code unchanged.

``reset`` returns every slider to where the current face started.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from facegen.core.errors import FacegenError
from facegen.core.files import atomic_write, write_json
from facegen.data.photos import load_photos
from facegen.data.utkface import age_condition
from facegen.models.base import Model
from facegen.models.capabilities import Encoder, require
from facegen.runs import Run


@dataclass(frozen=True)
class DirectionSlider:
    """A slider along a unit latent ``vector``; one unit of the slider moves the code ``step`` latent units."""

    name: str
    vector: np.ndarray
    step: float
    principal: bool
    low: float = -3.0
    high: float = 3.0


@dataclass(frozen=True)
class ConditionSlider:
    """A slider for condition column ``column``, in display units that ``to_model`` maps to the model's."""

    name: str
    column: int
    low: float = -1.0
    high: float = 1.0
    default: float = 0.0
    to_model: Callable[[float], float] = float


def condition_sliders(run: Run) -> list[ConditionSlider]:
    """One slider per condition of the run: smile and gender from -1 to +1, age in years (0-100)."""
    sliders = []
    for col, name in enumerate(run.cond_names):
        if name == "age":
            sliders.append(ConditionSlider(name, col, 0.0, 100.0, 50.0, lambda years: float(age_condition(years))))
        else:
            sliders.append(ConditionSlider(name, col))
    return sliders


def parse_settings(text: str) -> dict[str, float]:
    """``pc0=2,pc3=-1,smile=0.5`` -> {"pc0": 2.0, "pc3": -1.0, "smile": 0.5}."""
    out = {}
    for part in (p.strip() for p in text.split(",") if p.strip()):
        name, _, value = part.partition("=")
        try:
            number = float(value)
        except ValueError:
            number = math.nan
        if not name.strip() or not math.isfinite(number):
            raise FacegenError(f"--set {text!r}: give NAME=NUMBER pairs separated by commas, e.g. pc0=2,smile=0.5")
        out[name.strip()] = number
    return out


class SliderState:
    """Sliders over a decoder-capable model (see the module docstring). ``draw(seed)`` gives a random face's code
    (a prior sample, or a training face's code for a model without a prior); ``meta`` goes into saved JSON."""

    def __init__(self, model: Model, directions: list[DirectionSlider], conditions: list[ConditionSlider],
                 center: np.ndarray, draw: Callable[[int], torch.Tensor], meta: dict | None = None):
        names = [s.name for s in directions] + [c.name for c in conditions]
        if len(set(names)) != len(names):
            raise ValueError(f"slider names must differ: {names}")
        self.model, self.directions, self.conditions, self.draw = model, directions, conditions, draw
        self.meta = dict(meta or {})
        self.device = next(model.parameters()).device
        self.moves = np.stack([s.vector * s.step for s in directions]) if directions else np.zeros((0, len(center)))
        self.principal = np.array([s.principal for s in directions], dtype=bool)
        self.center = np.asarray(center, dtype=np.float64)
        self.values: dict[str, float] = {}
        self.start: dict[str, float] = {}
        self.set_face(torch.from_numpy(self.center), {c.name: c.default for c in conditions})

    # ---- the sliders --------------------------------------------------------------------------------------
    @property
    def names(self) -> list[str]:
        return [s.name for s in self.directions] + [c.name for c in self.conditions]

    def slider(self, name: str) -> DirectionSlider | ConditionSlider:
        for s in (*self.directions, *self.conditions):
            if s.name == name:
                return s
        raise FacegenError(f"no slider {name!r}: this run's sliders are {', '.join(self.names)}")

    def set(self, name: str, value: float) -> None:
        self.slider(name)
        if not math.isfinite(value):
            raise FacegenError(f"slider {name}: {value} is not a finite number")
        self.values[name] = float(value)

    def set_many(self, settings: dict[str, float]) -> None:
        for name in settings:
            self.slider(name)  # refuse an unknown name before changing anything
        for name, value in settings.items():
            self.set(name, value)

    def reset(self) -> None:
        """Every slider back to where the current face started."""
        self.values = dict(self.start)

    # ---- the face -----------------------------------------------------------------------------------------
    def set_face(self, z: torch.Tensor, conditions: dict[str, float] | None = None) -> None:
        """Make ``z`` the current face: principal sliders at its least-squares coordinates, attribute sliders at
        0, conditions as given (else unchanged)."""
        z = z.detach().double().cpu().numpy().reshape(-1)
        coords = np.zeros(len(self.directions))
        if self.principal.any():
            basis = self.moves[self.principal]
            coords[self.principal] = np.linalg.lstsq(basis.T, z - self.center, rcond=None)[0]
        self.anchor = z - coords @ self.moves
        values = {s.name: float(c) for s, c in zip(self.directions, coords, strict=True)}
        values.update({c.name: self.values.get(c.name, c.default) for c in self.conditions})
        values.update(conditions or {})
        self.values, self.start = values, dict(values)

    def random_face(self, seed: int) -> None:
        self.set_face(self.draw(seed))

    def load_photo(self, path: Path) -> None:
        """Encode a photo (at the current conditions) and make it the current face."""
        require(self.model, Encoder, "loading a photo into the slider window")
        x = load_photos([Path(path)], self.model.size, self.model.channels).to(self.device)
        with torch.no_grad():
            z = self.model.encode(x, self.condition().to(self.device))[0][0]
        self.set_face(z)

    def code(self) -> torch.Tensor:
        """The latent code (L,) the sliders say."""
        v = np.array([self.values[s.name] for s in self.directions])
        return torch.from_numpy(self.anchor + v @ self.moves).float()

    def condition(self) -> torch.Tensor:
        """The condition vector (1, K) in the model's units."""
        y = torch.zeros(1, self.model.cond_dim)
        for c in self.conditions:
            y[0, c.column] = c.to_model(self.values[c.name])
        return y

    @torch.no_grad()
    def image(self) -> torch.Tensor:
        """The face (C, H, W) in [0, 1]."""
        z, y = self.code()[None].to(self.device), self.condition().to(self.device)
        return self.model.decode(z, y)[0].float().cpu().clamp(0, 1)

    def save(self, path: Path) -> tuple[Path, Path]:
        """The face as a PNG at ``path`` and the slider values, code and conditions in the same-stem .json."""
        path = Path(path)
        if path.suffix.lower() != ".png":
            raise FacegenError(f"{path}: give a .png file to save the face to")
        pixels = (self.image() * 255).round().byte().permute(1, 2, 0).numpy()
        image = Image.fromarray(pixels[..., 0] if pixels.shape[2] == 1 else pixels)
        atomic_write(path, lambda tmp: image.save(tmp, format="png"), suffix=".png")
        record = {**self.meta, "sliders": self.values, "code": self.code().tolist(),
                  "condition": self.condition()[0].tolist()}
        return path, write_json(path.with_suffix(".json"), record)

