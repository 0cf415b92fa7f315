"""The work of the exploration scripts: each function takes a trained run and writes its figures into it.

sample_prior.py, changing_smiles.py, sample_across_axis.py and
latent_analysis.py each parse their run and call one function here; the figures go into
``RUN/sampled``, ``RUN/forcing``, ``RUN/axis``, ``RUN/plots`` and ``RUN/interp``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from facegen import plots
from facegen.analysis.latent import smile_head, space
from facegen.analysis.latent.interpolation import interpolation_rows, pick_pairs
from facegen.core.errors import FacegenError
from facegen.data.photos import load_photos
from facegen.data.utkface import age_years
from facegen.models.base import Model
from facegen.models.capabilities import SmilePredictor
from facegen.runs import Run

SWEEP = [round(-1 + 0.1 * i, 1) for i in range(21)]  # -1.0, -0.9, ..., +1.0
N_OVERVIEW = 10
N_HISTOGRAMS = 15  # histograms drawn for a code larger than space.MAX_COMPONENTS (a flow's: C * S * S dims)


def value_label(v: float) -> str:
    return f"{round(v, 2):g}"


def figure_name(name: str, others: dict[str, float]) -> str:
    """A figure's file name with the extra conditions it was drawn at, e.g. all_synthetic_gender-1.png, so
    figures at other conditions do not overwrite each other."""
    stem, ext = name.rsplit(".", 1)
    return stem + "".join(f"_{k}{value_label(v)}" for k, v in others.items()) + "." + ext


def note_unconditional(run: Run, what: str) -> None:
    if not run.cond_names:
        print(f"note: this {run.model_name} run has no conditions, so {what} is ignored")


def walk_values(low: float, high: float, steps: int) -> list[float]:
    if steps < 2:
        raise FacegenError(f"--steps {steps}: need at least 2 steps")
    return np.linspace(low, high, steps).round(4).tolist()


def faces_to_edit(model: Model, run: Run, n: int, images: Sequence[Path] | None, own_degree: float | None,
                **others: float) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    """Images (float), conditions and column labels of the faces to edit: the user's photos (with the given
    conditions), or the run's validation faces (labelled ones first) with their own. A face without a label
    gets ``own_degree``, or else the degree the run's q(y|x) predicts for it (semi-supervised runs), or 0."""
    infer = own_degree is None and isinstance(model, SmilePredictor)
    if images:
        x = load_photos(images, run.size, run.channels)
        degree = smile_head.predict(model, x) if infer else (own_degree or 0.0)
        y = space.condition_vector(run, degree, len(x), **others)
        return x, y, [f"{Path(p).stem[:8]} {d:+.1f}" for p, d in zip(images, y[:, space.SMILE].tolist(), strict=True)]
    _, val = run.faces()
    order = torch.argsort((~val.labelled).int(), stable=True)[:n]
    faces = val.subset(order)
    x, y = faces.images.float() / 255, faces.cond.clone()
    guessed = ~faces.labelled
    if guessed.any() and (infer or own_degree is not None):
        y[guessed, space.SMILE] = smile_head.predict(model, x[guessed]) if infer else own_degree
    inferred = (guessed & infer).tolist()  # labels "q+0.42": the degree came from q(y|x)
    return x, y, [f"{'q' if q else ''}{d:+.2f}" for d, q in zip(y[:, space.SMILE].tolist(), inferred, strict=True)]


def sample_prior(run: Run, model: Model, *, seed: int, degree: float = 0.0, n: int | None = None,
                 temperature: float = 1.0, degrees: Sequence[float] | None = None,
                 temperatures: Sequence[float] | None = None, sweep: bool = False, **others: float) -> list[Path]:
    """Decode codes drawn from the prior: at one degree, down a column of degrees (the same codes in every
    row), or at several prior standard deviations."""
    if temperature <= 0 or (temperatures and min(temperatures) <= 0):
        raise FacegenError("temperatures must be positive (1 is the prior itself)")
    if sweep or degrees:
        space.require_conditional(run, "a degree sweep")
        degrees = SWEEP if sweep else list(degrees)
        eps = space.prior_noise(n or 10, model.latent_size, seed)
        rows = space.degree_sweep(model, run, eps * temperature, degrees, **others)
        name = "all_synthetic.png" if sweep else f"degrees_{'_'.join(value_label(d) for d in degrees)}.png"
        path = run.path / "sampled" / figure_name(name, others)
        plots.save_labelled_rows(rows, [f"smile {value_label(d)}" for d in degrees], path,
                                 "the same codes in every column; only the smile degree changes down a column")
        return [path]
    note_unconditional(run, "--degree")
    if temperatures:
        eps = space.prior_noise(n or 10, model.latent_size, seed)
        rows = space.temperature_sweep(model, run, eps, temperatures, degree, **others)
        path = run.path / "sampled" / figure_name(f"temperatures_{value_label(degree)}.png", others)
        plots.save_labelled_rows(rows, [f"sd {value_label(t)}" for t in temperatures], path,
                                 f"prior standard deviation scaled (smile {value_label(degree)})")
        return [path]
    z = space.prior_noise(n or 32, model.latent_size, seed) * temperature
    images = space.decode(model, z, space.condition_vector(run, degree, len(z), **others))
    at = "" if temperature == 1 else f"_t{value_label(temperature)}"  # each temperature its own file
    path = run.path / "sampled" / figure_name(f"sampled_{value_label(degree)}{at}.png", others)
    plots.save_grid(images, path, nrow=8)
    return [path]


def changing_smiles(run: Run, model: Model, *, shifts: Sequence[float] | None = None,
                    set_to: Sequence[float] | None = None, n: int = 10, images: Sequence[Path] | None = None,
                    own_degree: float | None = None, face: int = 0, **others: float) -> list[Path]:
    """Real faces encoded with their own degree and decoded with the degree shifted by, or set to, each value
    (``own_degree`` and ``others`` are the conditions of the user's photos, which carry no labels; without
    ``own_degree`` a semi-supervised run's q(y|x) supplies the degree)."""
    space.require_conditional(run, "forcing smiles")
    x, y, labels = faces_to_edit(model, run, n, images, own_degree, **others)
    if not 0 <= face < len(x):
        raise FacegenError(f"--face {face} is out of range: there are {len(x)} faces (0-{len(x) - 1})")
    mu = space.encode_images(model, x, y)
    recon = space.decode(model, mu, y)
    if set_to is not None:
        edits = [(f"set {value_label(v)}", space.condition_vector(run, v, len(x), base=y)) for v in set_to]
    else:
        edits = [(f"shift {v:+g}", space.condition_vector(run, y[:, space.SMILE] + v, base=y))
                 for v in (shifts or [])]
    rows = torch.stack([x, recon, *[space.decode(model, mu, ye) for _, ye in edits]])
    stem = "forcing_photos" if images else "forcing_smiles"  # each mode its own files, none overwrites another
    mode = "all" if set_to is None else "set_" + "_".join(value_label(v) for v in set_to)
    all_path = run.path / "forcing" / figure_name(f"{stem}_{mode}.png", others)
    title = "your photos" if images else "validation faces (labelled with their own degree)"
    plots.save_labelled_rows(rows, ["original", "reconstruction", *[name for name, _ in edits]], all_path,
                             f"{title}, smile degree changed", col_labels=labels)
    one = space.decode(model, mu[face].expand(len(SWEEP), -1),
                        space.condition_vector(run, torch.tensor(SWEEP), base=y[face].expand(len(SWEEP), -1)))
    one_row = torch.cat([x[face:face + 1], recon[face:face + 1], one])[None]
    one_path = run.path / "forcing" / figure_name(f"{stem}_one.png", others)
    plots.save_labelled_rows(one_row, [f"face {labels[face]}"], one_path, "one face across smile degrees",
                             col_labels=["original", "recon", *[value_label(d) for d in SWEEP]])
    return [all_path, one_path]


def _axis_base(model: Model, run: Run, degree: float, from_image: Path | None,
               **others: float) -> tuple[torch.Tensor, torch.Tensor]:
    """The code the walks start from (zeros, or a photo's posterior mean) and the condition (1, K)."""
    y = space.condition_vector(run, degree, 1, **others)
    if from_image is None:
        return torch.zeros(model.latent_size), y
    return space.encode_images(model, load_photos([from_image], model.size, model.channels), y)[0], y


def _condition_walk(run: Run, model: Model, axis: str, codes: torch.Tensor, y: torch.Tensor,
                    bounds: tuple[float, float] | None, steps: int, others: dict[str, float]) -> Path:
    """Walk one condition (``cond``/``smile``, ``gender`` or ``age``) with each latent code of ``codes`` (R, L)
    fixed: one row per code."""
    space.require_conditional(run, f"--axis {axis}")
    name = "smile" if axis == "cond" else axis
    values = walk_values(*(bounds or (-1.0, 1.0)), steps)
    rows = len(codes)
    walk = torch.tensor(values).repeat(rows)
    base = y.expand(rows * steps, -1)
    if name == "smile":
        cond = space.condition_vector(run, walk, base=base)
    else:
        cond = space.condition_vector(run, base[:, space.SMILE], base=base, **{name: walk})
    images = space.decode(model, codes.repeat_interleave(steps, 0), cond).unflatten(0, (rows, steps))
    cols = [f"{age_years(v):.0f} y" if name == "age" else value_label(v) for v in values]
    stem = ("axis_cond" if name == "smile" else f"axis_{name}") + ("_samples" if rows > 1 else "")
    path = run.path / "axis" / figure_name(f"{stem}.png", others)
    title = {"smile": "smile degree", "gender": "gender (-1 male, +1 female)", "age": "age (years)"}.get(name, name)
    row_labels = [name] if rows == 1 else [f"sample {i + 1}" for i in range(rows)]
    plots.save_labelled_rows(images, row_labels, path, f"{title}, latent code fixed along each row", col_labels=cols)
    return path


CONDITION_AXES = ("cond", "smile", "gender", "age")  # what --axis may name besides a latent dimension


def parse_axis(text: str | None) -> int | str | None:
    """--axis: an integer dimension, a condition name ('cond' is the smile degree), or None (with --all)."""
    if text is None or text in CONDITION_AXES:
        return text
    try:
        return int(text)
    except ValueError:
        raise FacegenError(f"--axis {text!r} is neither a latent dimension (0, 1, ...) nor a condition "
                           f"({', '.join(CONDITION_AXES)})") from None


def sample_across_axis(run: Run, model: Model, *, axis: int | str | None, every: bool = False,
                       bounds: tuple[float, float] | None = None, steps: int = 10, degree: float = 0.0,
                       from_image: Path | None = None, n: int = 1, seed: int = 0, **others: float) -> list[Path]:
    """Walk one latent dimension, or one condition (``axis`` "cond" for the smile degree, "gender", "age"),
    with everything else fixed; a condition walk with ``n`` > 1 has one row for each of n prior samples."""
    if n < 1:
        raise FacegenError(f"--n {n}: need at least one row")
    if n > 1 and not isinstance(axis, str):
        raise FacegenError(f"--n {n}: several rows are for condition walks (--axis cond, gender or age)")
    if n > 1 and from_image is not None:
        raise FacegenError("--n and --from_image exclude each other: a photo gives one row")
    z0, y = _axis_base(model, run, degree, from_image, **others)
    if isinstance(axis, str):
        codes = z0[None] if n == 1 else space.prior_noise(n, model.latent_size, seed)
        return [_condition_walk(run, model, axis, codes, y, bounds, steps, others)]
    note_unconditional(run, "--degree")
    values = walk_values(*(bounds or (-3.0, 3.0)), steps)
    cols = [value_label(v) for v in values]
    axes = range(model.latent_size) if every else [int(axis)]
    paths, walks = [], {}
    for k in tqdm(axes, desc="axes", disable=len(axes) < 8):
        walks[k] = space.axis_walk(model, z0, k, values, y)
        paths.append(run.path / "axis" / figure_name(f"axis_{k}.png", others))
        plots.save_labelled_rows(walks[k][None], [f"z{k}"], paths[-1], f"latent dimension {k}", col_labels=cols)
    if every:
        var = run.track("latent_var")[-1]
        top = space.latent_usage(var, N_OVERVIEW)
        paths.append(run.path / "axis" / figure_name("axis_overview.png", others))
        plots.save_labelled_rows(torch.stack([walks[k] for k in top]), [f"z{k} (var {var[k]:.2f})" for k in top],
                                 paths[-1], "most used dimensions (variance at the last epoch)", col_labels=cols)
    return paths


def latent_analysis(run: Run, model: Model, *, seed: int, pair: Sequence[int] | None = None,
                    n_pairs: int = 5, steps: int = 10) -> list[Path]:
    """Histograms of the latent codes before and after PCA, explained variance, and interpolations."""
    train, val = run.faces()
    for i in pair or ():  # checked before any figure is written
        if not 0 <= i < len(val):
            raise FacegenError(f"--pair index {i} is out of range: the run has {len(val)} validation faces "
                               f"(0-{len(val) - 1})")
    mu = space.encode_faces(model, train)[0]
    pca = space.fit_pca(mu)
    dims = mu.shape[1]
    paths = [run.path / "plots" / "latent_forward.png", run.path / "plots" / "latent_forward_transformed.png",
             run.path / "plots" / "pca_explained_variance.png"]
    large = dims > space.MAX_COMPONENTS  # a flow's code: draw the most varied dimensions and the first axes
    shown = torch.argsort(mu.var(0), descending=True)[:N_HISTOGRAMS] if large else torch.arange(dims)
    which = f" ({N_HISTOGRAMS} of {dims} dimensions: the largest variances)" if large else ""
    plots.plot_histograms(mu[:, shown].numpy(), [f"z{j}" for j in shown.tolist()], paths[0],
                          f"posterior means over the {len(mu)} training faces{which}")
    k = min(N_HISTOGRAMS, pca.n_components_) if large else pca.n_components_
    projected = pca.transform(mu.numpy() if large else mu.double().numpy())[:, :k]
    plots.plot_histograms(projected, [f"pc{j}" for j in range(k)], paths[1],
                          "the same after the PCA transform" + (f" (first {k} axes)" if large else ""))
    plots.plot_explained_variance(pca.explained_variance_ratio_, paths[2])
    if pair is not None:
        pairs = [tuple(pair)]
        name = f"interp_{pair[0]}_{pair[1]}.png"
    else:
        pairs = pick_pairs(val, "random", n_pairs, seed)
        name = "interp_random.png"
    a, b = (torch.tensor(idx) for idx in zip(*pairs, strict=True))
    x = val.images.float() / 255
    rows = interpolation_rows(model, x[a], val.cond[a], x[b], val.cond[b], steps)
    paths.append(run.path / "interp" / name)
    cols = ["face A", *[f"{t:.2f}" for t in np.linspace(0, 1, steps)], "face B"]
    plots.save_labelled_rows(rows, [f"{i} → {j}" for i, j in pairs], paths[-1],
                             "interpolation between the posterior means of two validation faces", col_labels=cols)
    return paths
