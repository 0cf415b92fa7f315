"""Several trained runs on one dataset measured the same way: reconstruction, sample quality in a feature space,
memorisation, diversity and training speed, as one table (mean ± sd over seeds) and figures.

Per run (``evaluate``): reconstruction MSE per pixel (images in [0, 1], the posterior mean decoded) on training
faces and on the held-out ones (held-out people for LFW), and the reconstructions' sharpness against the faces
themselves (Laplacian energy ratio); ``n_samples`` prior samples at standard deviation 1 compared with the
held-out faces in the feature space of ``features`` (:mod:`facegen.analysis.evaluation.sample_quality`), and their
sharpness; images seen and images per second of training from the run's log. ``baseline`` measures half of the
held-out faces against the other half the same way: what real faces score (with fewer faces on each side).
"""

from __future__ import annotations

import csv
import math
import statistics
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import nn

from facegen import plots
from facegen.analysis.evaluation import sample_quality
from facegen.analysis.latent import space
from facegen.core.batching import batched
from facegen.core.errors import FacegenError
from facegen.data.faceset import FaceSet
from facegen.models.base import Model
from facegen.models.capabilities import Encoder
from facegen.runs import Run

SD_ROWS = [0.25 * i for i in range(1, 9)]  # the study's prior-sample figure: rows at sd 0.25, 0.5, ..., 2.0
COLUMNS = [  # (key, header, format)
    ("images_seen", "images seen", ",.0f"),
    ("images_per_s", "img/s", ".0f"),
    ("mse_train", "MSE train", ".4f"),
    ("mse_heldout", "MSE held-out", ".4f"),
    ("frechet", "Fréchet", ".3f"),
    ("kernel", "kernel ×1e3", ".2f"),
    ("precision", "precision", ".2f"),
    ("recall", "recall", ".2f"),
    ("diversity", "diversity", ".2f"),
    ("sharp_recon", "sharpness recon.", ".2f"),
    ("sharp_samples", "sharpness samples", ".2f"),
    ("nearest_ratio", "nearest train / held-out", ".2f"),
]


def _subset(faces: FaceSet, n: int, seed: int) -> FaceSet:
    """At most n faces, a fixed random choice per seed (all of them when there are fewer)."""
    if len(faces) <= n:
        return faces
    idx = torch.randperm(len(faces), generator=torch.Generator().manual_seed(seed))[:n]
    return faces.subset(idx.sort().values)


def reconstructions(model: Model, faces: FaceSet, device: torch.device) -> torch.Tensor:
    """The posterior mean of every face decoded, (N, C, H, W) in [0, 1] on the CPU."""
    return batched(lambda x, y: model.decode(model.encode(x, y)[0], y), faces.images, faces.cond, device=device)


def reconstruction_mse(recon: torch.Tensor, faces: FaceSet) -> float:
    """Mean squared error per pixel of reconstructions against the faces, images in [0, 1]."""
    return float((recon - faces.images.float() / 255).square().mean())


def training_speed(run: Run) -> tuple[float, float]:
    """(images seen, images per second) of a run's training: training faces x epochs, over the summed epoch
    times of training.csv (validation epochs included, as a user waits for them)."""
    path = run.path / "training.csv"
    if not path.is_file():
        raise FacegenError(f"{path} not found: the run never finished an epoch; train it first")
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    seconds = sum(float(r["seconds"]) for r in rows)
    seen = run.dataset["n_train"] * len(rows)
    return float(seen), seen / seconds if seconds > 0 else math.nan


def feature_sets(features: nn.Module, faces: FaceSet, device: torch.device) -> torch.Tensor:
    return sample_quality.feature_vectors(features, faces.images, device)


def evaluate(run: Run, model: Model, features: nn.Module, *, n_samples: int, seed: int, device: torch.device,
             n_train: int = 2000) -> dict[str, float]:
    """Every number of the table for one run (reconstruction ones only for models that encode)."""
    train, val = run.faces()
    train = _subset(train, n_train, seed)
    result: dict[str, float] = {}
    result["images_seen"], result["images_per_s"] = training_speed(run)
    if isinstance(model, Encoder):
        result["mse_train"] = reconstruction_mse(reconstructions(model, train, device), train)
        recon = reconstructions(model, val, device)
        result["mse_heldout"] = reconstruction_mse(recon, val)
        result["sharp_recon"] = sample_quality.sharpness_ratio(recon, val.images)
    z = space.prior_noise(n_samples, model.latent_size, seed)
    y = _conditions(run, val, n_samples, seed)
    samples = space.decode(model, z, y)
    result["sharp_samples"] = sample_quality.sharpness_ratio(samples, val.images)
    real_val, real_train = feature_sets(features, val, device), feature_sets(features, train, device)
    result.update(sample_quality.compare(sample_quality.feature_vectors(features, samples, device), real_val,
                                         real_train))
    result["kernel"] *= 1e3
    return result


def baseline(run: Run, features: nn.Module, *, seed: int, device: torch.device, n_train: int = 2000) -> dict:
    """Real faces measured like samples: one random half of the held-out faces standing in for samples, against
    the other half (and the training faces for the nearest-face ratio, about 1 for new faces)."""
    train, val = run.faces()
    train = _subset(train, n_train, seed)
    order = torch.randperm(len(val), generator=torch.Generator().manual_seed(seed))
    half = len(val) // 2
    a, b = val.subset(order[:half].sort().values), val.subset(order[half:].sort().values)
    out = sample_quality.compare(feature_sets(features, a, device), feature_sets(features, b, device),
                                 feature_sets(features, train, device))
    out["kernel"] *= 1e3
    out["sharp_samples"] = sample_quality.sharpness_ratio(a.images, b.images)
    return out


def _conditions(run: Run, val: FaceSet, n: int, seed: int) -> torch.Tensor:
    """Conditions for n samples: those of held-out faces drawn with replacement (none for unconditional runs)."""
    if not run.cond_names:
        return torch.zeros(n, 0)
    idx = torch.randint(len(val), (n,), generator=torch.Generator().manual_seed(seed))
    return val.cond[idx]


def sd_rows(run: Run, model: Model, n: int, seed: int) -> torch.Tensor:
    """(len(SD_ROWS), n, C, H, W): the same n prior draws scaled to each standard deviation of :data:`SD_ROWS`."""
    eps = space.prior_noise(n, model.latent_size, seed)
    return space.temperature_sweep(model, run, eps, SD_ROWS, 0.0)


def summarise(results: dict[str, list[dict[str, float]]]) -> dict[str, dict[str, tuple[float, float, int]]]:
    """Per model and number: (mean, sample sd (0 for one seed), number of seeds)."""
    out: dict[str, dict[str, tuple[float, float, int]]] = {}
    for name, runs in results.items():
        keys = [k for k, _, _ in COLUMNS if any(k in r for r in runs)]
        out[name] = {}
        for k in keys:
            values = [r[k] for r in runs if k in r and r[k] is not None and math.isfinite(r[k])]
            if values:
                out[name][k] = (statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0,
                                len(values))
    return out


def markdown_table(summary: dict[str, dict[str, tuple[float, float, int]]], note: str = "") -> str:
    """One row per model, mean ± sd over seeds where there are several; '–' where a number does not apply."""
    head = "| model | " + " | ".join(h for _, h, _ in COLUMNS) + " |"
    lines = [head, "|" + "---|" * (len(COLUMNS) + 1)]
    for name, numbers in summary.items():
        cells = []
        for key, _, fmt in COLUMNS:
            if key not in numbers:
                cells.append("–")
                continue
            mean, sd, n = numbers[key]
            cells.append(format(mean, fmt) + (f" ± {format(sd, fmt)}" if n > 1 else ""))
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + ("\n\n" + note if note else "") + "\n"


def sample_figure(rows: dict[str, torch.Tensor], path: Path, title: str) -> Path:
    """One labelled row of images per model."""
    names: Sequence[str] = list(rows)
    plots.save_labelled_rows(torch.stack([rows[n] for n in names]), names, path, title)
    return path
