"""What face_sliders.py builds: a run's slider state from its principal and attribute directions."""

from __future__ import annotations

from pathlib import Path

import torch

from facegen.analysis.directions.principal import available_methods
from facegen.analysis.directions.steering import SAMPLING, Sampling, attribute_directions
from facegen.analysis.editing.model_card import principal
from facegen.analysis.judges.by_attribute import Judges
from facegen.analysis.latent import space
from facegen.apps.sliders import DirectionSlider, SliderState, condition_sliders
from facegen.core.errors import FacegenError
from facegen.models.base import Model
from facegen.models.capabilities import Decoder, Sampler, require
from facegen.runs import Run

ATTRIBUTE_RANGE = 2.0  # attribute sliders run from -2 to +2 of their steps


def principal_method(model: Model, method: str) -> str:
    """``auto``: pca for runs with an encoder, else sefa, else ganspace (whichever the model supports)."""
    if method != "auto":
        return method
    methods = available_methods(model)
    if not methods:
        raise FacegenError(f"a {model.name} run has no principal directions: it has no encoder and exposes neither "
                           f"first_layer_weight() nor generator_features() (see docs/steering.md)")
    return methods[0]


def random_codes(run: Run, model: Model):
    """draw(seed) -> a code: a prior sample, or (models without a prior) a random training face's code."""
    if isinstance(model, Sampler):
        return lambda seed: space.prior_noise(1, model.latent_size, seed)[0]
    codes = space.encode_faces(model, run.faces()[0])[0]
    return lambda seed: codes[torch.randint(len(codes), (1,), generator=torch.Generator().manual_seed(seed))[0]]


def build_state(run: Run, model: Model, *, method: str = "auto", k: int = 8, attributes: list[str] = (),
                attribute_method: str = "interfacegan", judges: Judges | None = None,
                sampling: Sampling = SAMPLING) -> SliderState:
    """Sliders for the top ``k`` principal directions of ``method`` (in standard deviations, by variance), for
    each attribute's direction by ``attribute_method`` (``dir_<attribute>``, in its steps) and for the run's
    conditions."""
    require(model, Decoder, "the slider window")
    method = principal_method(model, method)
    dirs = principal(run, model, method, k, sampling.n_samples, sampling.seed)  # a model card's when it has them
    sliders = [DirectionSlider(name, dirs.vectors[i], float(dirs.scales[i]), True) for i, name in enumerate(dirs.names)]
    for attribute in attributes:
        d = attribute_directions(run, model, attribute_method, attribute, [], judges, sampling)
        sliders.append(DirectionSlider(f"dir_{d.names[0]}", d.vectors[0], float(d.scales[0]), False,
                                       -ATTRIBUTE_RANGE, ATTRIBUTE_RANGE))
    meta = {"run": str(run.path), "model": run.model_name, "principal_method": method,
            "attribute_method": attribute_method if attributes else None,
            "title": f"{run.path.name} ({run.model_name}): top {len(dirs)} {method} directions in sd"}
    return SliderState(model, sliders, condition_sliders(run), dirs.center, random_codes(run, model), meta)


def show_sliders(state: SliderState, settings: dict[str, float], save: Path | None, screenshot: Path | None,
                 seed: int) -> None:
    """With ``save``: the face at ``settings`` written as a PNG and its slider values as JSON, no window. Else the
    slider window, opened at ``settings``; with ``screenshot`` its pixels are written there and it closes."""
    for name in settings:
        state.slider(name)
    if save is not None:
        state.set_many(settings)
        png, js = state.save(save)
        print(f"wrote {png} and {js}")
        return
    from facegen.apps.slider_window import open_window

    window = open_window(state, Path("face.png"), seed, settings, screenshot)
    if screenshot is not None:
        if not screenshot.is_file():
            raise FacegenError(f"the window closed before its screenshot was taken: {screenshot} not written")
        times = window.redraw_seconds
        print(f"wrote {screenshot}; {len(times)} redraws, slowest {1000 * max(times, default=0):.0f} ms")
