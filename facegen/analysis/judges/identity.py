"""Is it still the same person? Verification, calibration and the judge built on an identity run.

- Distance: d(a, b) = 1 - cos(e_a, e_b) between unit embeddings (each the normalised sum of a face's and its
  mirror image's embedding); "same person" means d <= threshold.
- Verification, LFW-protocol style, on the identity run's held-out people only: those people are dealt into
  10 folds (by person, so a fold's pairs share nobody with the other folds); in each fold every person with
  two or more photos gives up to ``per_person`` same-person pairs (at most ``per_fold`` per fold), and as many
  different-person pairs are drawn (two photos of two different people of the fold). Fold k's accuracy is
  measured at the threshold that maximises accuracy on the other nine folds; the report gives the mean and
  the sample standard deviation (ddof 1) of the 10 accuracies, and "same person" is then the mean of those
  10 thresholds. A second, strict operating point: the distance under which only 1 % of the different-person
  pairs fall (``threshold_strict``, a false-accept rate of 1 %), with the share of same-person pairs it accepts.
- Calibration: distances between a held-out photo and (a) itself blurred (Gaussian, sigma 1 and 2 px at the net's
  64 px), (b) itself shrunk by 2 and enlarged back, (c) another photo of the same person, (d) a photo of
  another person, with the share of each the threshold calls "the same person".
- The judge (:class:`IdentityJudge`) applies the net to faces of other datasets by cutting from them the box
  that frames a face the way LFW's crops do (:func:`facegen.data.framing.fit_box` on the mean faces).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torchvision.transforms.functional import gaussian_blur

from facegen import plots
from facegen.core.batching import batched
from facegen.core.errors import FacegenError
from facegen.core.files import atomic_write, write_json
from facegen.data.cache import load_upright
from facegen.data.faceset import FaceSet
from facegen.data.framing import FULL, Box, crop_box, fit_box
from facegen.models.base import Model
from facegen.models.capabilities import Embedder, require
from facegen.nn.identity import cosine_distance
from facegen.runs import Run

VERIFICATION = "verification.json"
MEAN_FACE = "mean_face.png"  # the identity run's mean training face: the framing template
FOLDS = 10


# ---- thresholds ---------------------------------------------------------------------------------------------
def best_threshold(distances: np.ndarray, same: np.ndarray) -> float:
    """The threshold t that maximises the accuracy of "same person iff d <= t" on these pairs: every cut between
    two distinct sorted distances is tried (and below / above all of them); t is the midpoint of the best cut.
    The first best cut wins a tie."""
    order = np.argsort(distances, kind="stable")
    d, s = distances[order], same[order].astype(np.int64)
    n, n_same = len(d), int(s.sum())
    cum = np.concatenate([[0], np.cumsum(s)])  # same pairs among the k smallest distances, k = 0 .. n
    k = np.arange(n + 1)
    correct = cum + (n - n_same) - (k - cum)  # predicted same: the k smallest
    valid = np.ones(n + 1, dtype=bool)
    valid[1:n] = d[1:] > d[:-1]  # a cut between two equal distances cannot be made
    best = int(np.argmax(np.where(valid, correct, -1)))
    if best == 0:
        return float(d[0] - 1e-6) if n else 0.0
    if best == n:
        return float(d[-1] + 1e-6)
    return float((d[best - 1] + d[best]) / 2)


def accuracy_at(distances: np.ndarray, same: np.ndarray, threshold: float) -> float:
    return float(((distances <= threshold) == same.astype(bool)).mean())


def ten_fold(distances: np.ndarray, same: np.ndarray, fold: np.ndarray, folds: int = FOLDS) -> dict:
    """Accuracy of each fold at the threshold chosen on the other folds; their mean, sd and the threshold."""
    accs, thresholds = [], []
    for k in range(folds):
        test = fold == k
        if not test.any() or test.all():
            continue
        t = best_threshold(distances[~test], same[~test])
        thresholds.append(t)
        accs.append(accuracy_at(distances[test], same[test], t))
    if not accs:
        raise FacegenError("the verification pairs fall into a single fold: it needs held-out people in two folds "
                           "or more (a larger --val_fraction or more data)")
    accs_a = np.array(accs)
    return {"folds": len(accs), "fold_accuracy": accs, "fold_threshold": thresholds,
            "accuracy_mean": float(accs_a.mean()),
            "accuracy_sd": float(accs_a.std(ddof=1)) if len(accs) > 1 else 0.0,
            "threshold": float(np.mean(thresholds))}


# ---- pairs --------------------------------------------------------------------------------------------------
def verification_pairs(person: np.ndarray, folds: int = FOLDS, per_fold: int = 300, per_person: int = 10,
                       seed: int = 0) -> np.ndarray:
    """Balanced same / different pairs (P, 4): columns index a, index b, same (1 / 0), fold. People (not photos)
    are dealt into ``folds`` folds at random (fewer when there are under 2 ``folds`` people, so each fold has two
    people or more); see the module docstring."""
    rng = np.random.default_rng(seed)
    people = rng.permutation(np.unique(person))
    folds = max(1, min(folds, len(people) // 2))
    fold_of = {p: i % folds for i, p in enumerate(people)}
    rows = []
    for k in range(folds):
        mine = [p for p in people if fold_of[p] == k]
        photos = {p: np.flatnonzero(person == p) for p in mine}
        same = []
        for p in mine:
            idx = photos[p]
            pairs = [(a, b) for i, a in enumerate(idx) for b in idx[i + 1:]]
            pick = rng.permutation(len(pairs))[:per_person]
            same += [pairs[i] for i in pick]
        same = [same[i] for i in rng.permutation(len(same))[:per_fold]]
        if not same or len(mine) < 2:
            continue
        pool = np.concatenate([photos[p] for p in mine])
        diff: set[tuple[int, int]] = set()
        while len(diff) < len(same):
            a, b = rng.choice(pool, 2, replace=False)
            if person[a] != person[b]:
                diff.add((int(min(a, b)), int(max(a, b))))
        rows += [(a, b, 1, k) for a, b in same] + [(a, b, 0, k) for a, b in sorted(diff)]
    if not rows:
        raise FacegenError("no held-out person has two photos: verification needs more held-out faces "
                           "(a larger --val_fraction or more data)")
    return np.array(rows, dtype=np.int64)


# ---- the judge ----------------------------------------------------------------------------------------------
@dataclass
class IdentityJudge:
    """An identity run's embedding net, its "same person" thresholds (best accuracy, and strict: 1 % false
    accepts) and its framing template (mean face)."""

    model: Model
    threshold: float
    template: torch.Tensor  # (C, h, w) floats in [0, 1]
    path: Path
    threshold_strict: float | None = None

    @property
    def size(self) -> int:
        return self.model.size

    def embeddings(self, images: torch.Tensor, box: Box = FULL) -> torch.Tensor:
        """Unit embeddings (N, dim) of images (uint8 or floats in [0, 1]) after cutting ``box`` from each."""
        device = next(self.model.parameters()).device
        return batched(lambda x: self.model.embed(crop_box(x, box, self.size)), images, device=device)

    def box_for(self, images: torch.Tensor) -> tuple[Box, float]:
        """The framing box of a set of aligned faces (N, C, H, W): its mean face matched to the template."""
        x = images.float() / 255 if images.dtype == torch.uint8 else images.float()
        return fit_box(x.mean(0), self.template)

    def distances(self, a: torch.Tensor, b: torch.Tensor, box: Box = FULL) -> torch.Tensor:
        """d(a_i, b_i) for two aligned image batches of one framing."""
        return cosine_distance(self.embeddings(a, box), self.embeddings(b, box))

    def kept(self, originals: torch.Tensor, outputs: torch.Tensor, box: Box = FULL) -> dict:
        """Mean distance between each original and its output, and the share called the same person."""
        return self.summarise(self.embeddings(originals, box), self.embeddings(outputs, box))

    def summarise(self, originals: torch.Tensor, outputs: torch.Tensor) -> dict:
        """From unit embeddings of originals and their outputs (N, dim): the mean (and sd) distance, the share
        under each threshold, and the share *identified*: the output's nearest original among all N is its
        own (a measure without any threshold; chance is 1 / N)."""
        d = cosine_distance(originals, outputs)
        nearest = (1 - outputs @ originals.T).argmin(1)
        out = {"n": len(d), "mean_distance": float(d.mean()), "sd_distance": float(d.std()) if len(d) > 1 else 0.0,
               "share_same": float((d <= self.threshold).float().mean()),
               "share_identified": float((nearest == torch.arange(len(d))).float().mean())}
        if self.threshold_strict is not None:
            out["share_same_strict"] = float((d <= self.threshold_strict).float().mean())
        return out


def load_judge(path: Path, device: torch.device | str = "cpu") -> IdentityJudge:
    """The judge of the identity run in ``path`` (verified by verify_identity.py, which stores its threshold)."""
    run = Run.load(path)
    require(run.model_class, Embedder, "judging identity")
    file = run.path / VERIFICATION
    if not file.exists() or not (run.path / MEAN_FACE).exists():
        raise FacegenError(f"{file} not found: run verify_identity.py --run {path} first (it picks the threshold)")
    verification = json.loads(file.read_text(encoding="utf-8"))["verification"]
    template = torch.from_numpy(np.array(load_upright(run.path / MEAN_FACE))).permute(2, 0, 1)
    return IdentityJudge(run.load_model(device), float(verification["threshold"]), template.float() / 255, run.path,
                         verification.get("threshold_strict"))


# ---- verification and calibration of an identity run --------------------------------------------------------
def down_up(x: torch.Tensor, factor: int = 2) -> torch.Tensor:
    """Images shrunk by ``factor`` (antialiased) and enlarged back (bilinear)."""
    h, w = x.shape[-2:]
    small = F.interpolate(x, size=(h // factor, w // factor), mode="bilinear", antialias=True, align_corners=False)
    return F.interpolate(small, size=(h, w), mode="bilinear", align_corners=False)


def blurred(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Gaussian blur with standard deviation ``sigma`` px (kernel 2 ceil(3 sigma) + 1 wide)."""
    k = 2 * math.ceil(3 * sigma) + 1
    return gaussian_blur(x, [k, k], [sigma, sigma])


def calibration(judge: IdentityJudge, faces: FaceSet, seed: int = 0, n: int = 1000) -> dict:
    """For up to ``n`` held-out faces whose person has another photo: the distance to each variant (see the
    module docstring), as mean, sd and share called the same person."""
    rng = np.random.default_rng(seed)
    person = faces.meta["person"].numpy()
    counts = np.bincount(person)
    idx = np.flatnonzero(counts[person] >= 2)
    idx = np.sort(rng.permutation(idx)[:n])
    other = np.array([rng.choice(np.flatnonzero((person == person[i]) & (np.arange(len(person)) != i))) for i in idx])
    stranger = np.array([rng.choice(np.flatnonzero(person != person[i])) for i in idx])
    x = faces.images[idx].float() / 255
    e = judge.embeddings(x)
    variants = {"blur sigma 1 px": judge.embeddings(blurred(x, 1.0)),
                "blur sigma 2 px": judge.embeddings(blurred(x, 2.0)),
                "down 2x and up": judge.embeddings(down_up(x)),
                "another photo, same person": judge.embeddings(faces.images[other]),
                "a different person": judge.embeddings(faces.images[stranger])}
    rows = {}
    for name, v in variants.items():
        d = cosine_distance(e, v)
        rows[name] = {"mean": float(d.mean()), "sd": float(d.std()),
                      "share_same": float((d <= judge.threshold).float().mean())}
        if judge.threshold_strict is not None:
            rows[name]["share_same_strict"] = float((d <= judge.threshold_strict).float().mean())
    return {"n_faces": len(idx), "rows": rows}


def verify(model: Model, faces: FaceSet, seed: int = 0) -> tuple[dict, np.ndarray, np.ndarray]:
    """10-fold verification on the held-out people of ``faces`` (see the module docstring): the numbers, and
    every pair's distance and same flag."""
    pairs = verification_pairs(faces.meta["person"].numpy(), seed=seed)
    device = next(model.parameters()).device
    e = batched(model.embed, faces.images, device=device)
    d = cosine_distance(e[pairs[:, 0]], e[pairs[:, 1]]).numpy().astype(np.float64)
    result = ten_fold(d, pairs[:, 2], pairs[:, 3])
    same = pairs[:, 2].astype(bool)
    strict = float(np.quantile(d[~same], 0.01))
    result.update(threshold_strict=strict, strict_same_accepted=float((d[same] <= strict).mean()))
    result.update(n_pairs=len(pairs), n_same=int(pairs[:, 2].sum()), n_people=int(np.unique(faces.meta["person"]).size),
                  n_faces=len(faces))
    return result, d, same


def mean_face(faces: FaceSet) -> torch.Tensor:
    """The mean image (C, H, W), floats in [0, 1]."""
    return faces.images.float().mean(0) / 255


def report(run: Run, device: torch.device | str = "cpu", seed: int = 0) -> dict:
    """Verify an identity run on its held-out people, calibrate it, and write RUN/verification.json,
    RUN/mean_face.png and RUN/plots/verification.png."""
    require(run.model_class, Embedder, "verifying an identity embedding")
    model = run.load_model(device)
    train, val = run.faces()
    verification, d, same = verify(model, val, seed)
    template = mean_face(train)
    image = (template * 255).round().byte().permute(1, 2, 0).numpy()
    atomic_write(run.path / MEAN_FACE, lambda tmp: Image.fromarray(image).save(tmp, format="png"), suffix=".png")
    judge = IdentityJudge(model, verification["threshold"], template, run.path, verification["threshold_strict"])
    result = {"verification": verification, "calibration": calibration(judge, val, seed)}
    write_json(run.path / VERIFICATION, result)
    plot_distances(d, same, verification["threshold"], verification["threshold_strict"],
                   run.path / "plots/verification.png",
                   f"held-out people: {verification['accuracy_mean']:.1%} +- {verification['accuracy_sd']:.1%} "
                   f"({verification['folds']} folds)")
    return result


def plot_distances(d: np.ndarray, same: np.ndarray, threshold: float, strict: float, path: Path, title: str) -> None:
    """Histograms of the same-person and different-person distances, with both thresholds."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.4))
    bins = np.linspace(0, max(1.5, float(d.max())), 50)
    ax.hist(d[same], bins=bins, alpha=0.6, label="same person", color="tab:green")
    ax.hist(d[~same], bins=bins, alpha=0.6, label="different people", color="tab:red")
    ax.axvline(threshold, color="k", ls="--", label=f"threshold {threshold:.3f}")
    ax.axvline(strict, color="k", ls=":", label=f"strict (1 % false accepts) {strict:.3f}")
    ax.set_xlabel("distance 1 - cos")
    ax.set_ylabel("pairs")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    plots.save_figure(fig, path)


def summary(result: dict) -> list[str]:
    v, c = result["verification"], result["calibration"]
    lines = [f"verification  {v['accuracy_mean']:.1%} +- {v['accuracy_sd']:.1%} over {v['folds']} folds "
             f"({v['n_pairs']} pairs of {v['n_people']} held-out people); same: distance <= {v['threshold']:.3f}",
             f"strict        distance <= {v['threshold_strict']:.3f} (1 % false accepts) accepts "
             f"{v['strict_same_accepted']:.0%} of the same-person pairs",
             f"calibration   ({c['n_faces']} held-out faces)   mean distance   sd   called the same person (strict)"]
    lines += [f"  {name:<28} {r['mean']:.3f}   {r['sd']:.3f}   {r['share_same']:.0%} ({r['share_same_strict']:.0%})"
              for name, r in c["rows"].items()]
    return lines
