"""Measures of a depth -> face translator on held-out subjects (evaluate_depth2face.py).

- **Fidelity**: L1 and SSIM of the generated face to the real photo of the same crop. SSIM (Wang et al. 2004)
  per image and channel, with 11 x 11 Gaussian windows (sigma 1.5) over the valid region, data range 1:
  SSIM = mean over windows of (2 mu_x mu_y + C1)(2 s_xy + C2) / ((mu_x^2 + mu_y^2 + C1)(s_x^2 + s_y^2 + C2)),
  C1 = 0.01^2, C2 = 0.03^2 (population (co)variances under the window weights), averaged over channels.
- **Correspondence**: a face -> depth network trained on the real pairs alone (the ``face2depth`` model) reads
  the generated face; the L1 of its depth map to the input depth map, in grey levels (1 grey level = 1 mm for
  the Kinect pairs), against the same for the real photo (the ceiling: what the judge achieves on real faces).
- **Realism**: the Frechet distance between Gaussians fitted to features of generated and of real held-out faces,
  ||m_g - m_r||^2 + Tr(S_g + S_r - 2 (S_g S_r)^(1/2)), in the face2depth net's encoder features (the spatial
  means of its two innermost levels): "FD-f2d", not FID (no Inception net). With few held-out faces it is
  biased upwards, so real training photos against the held-out ones give its floor. Sample covariances (n - 1),
  as FID (:func:`facegen.core.stats.frechet_distance`; population covariances before issue 25). Also the held-out
  accuracy of a logistic regression told to separate generated from real features (5-fold; 0.5: it cannot).
- **Diversity**: mean pairwise Euclidean distance of the features of faces made from different depth maps,
  against the same for the real photos (a collapsed generator has far less).
- **Cycling**: the mean absolute pixel change of the face made from each fixed held-out depth map between
  consecutive snapshot grids of the run (``iterations/iter_N.png``), over the second half of training.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from facegen import plots
from facegen.core.batching import batched
from facegen.core.errors import FacegenError
from facegen.core.files import write_json
from facegen.core.stats import frechet_distance, mean_pairwise_distance
from facegen.data.cache import load_upright
from facegen.models.img2img.translator import SNAPSHOT_COLUMNS, Translator
from facegen.nn.unet import UNet
from facegen.runs import Run

SSIM_WINDOW, SSIM_SIGMA, SSIM_C1, SSIM_C2 = 11, 1.5, 0.01**2, 0.03**2
GRID_PADDING = 2  # plots.save_grid's


def gaussian_window(size: int = SSIM_WINDOW, sigma: float = SSIM_SIGMA) -> torch.Tensor:
    """The normalised 2-D Gaussian window (size, size), float64."""
    r = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    g = torch.exp(-r**2 / (2 * sigma**2))
    g = g / g.sum()
    return g[:, None] * g[None, :]


def ssim(x: torch.Tensor, y: torch.Tensor, window: torch.Tensor | None = None) -> torch.Tensor:
    """Per-image SSIM (B,) of images in [0, 1] (B, C, H, W), averaged over channels and valid windows."""
    w = (gaussian_window() if window is None else window).to(x.device)
    c = x.shape[1]
    if min(x.shape[-2:]) < w.shape[-1]:
        raise FacegenError(f"SSIM needs images of at least {w.shape[-1]} px, got {tuple(x.shape[-2:])}")
    kernel = w.expand(c, 1, *w.shape)
    x, y = x.double(), y.double()

    def blur(t: torch.Tensor) -> torch.Tensor:
        return F.conv2d(t, kernel, groups=c)

    mx, my = blur(x), blur(y)
    sxx, syy, sxy = blur(x * x) - mx**2, blur(y * y) - my**2, blur(x * y) - mx * my
    s = ((2 * mx * my + SSIM_C1) * (2 * sxy + SSIM_C2)) / ((mx**2 + my**2 + SSIM_C1) * (sxx + syy + SSIM_C2))
    return s.mean((1, 2, 3)).float()


def two_sample_accuracy(real: np.ndarray, fake: np.ndarray, seed: int = 0) -> float:
    """Held-out accuracy (5-fold, stratified) of a standardised logistic regression separating ``real`` rows
    from ``fake`` rows: 0.5 when the two cannot be told apart linearly."""
    x = np.concatenate([real, fake])
    y = np.r_[np.ones(len(real)), np.zeros(len(fake))]
    folds = StratifiedKFold(n_splits=min(5, len(real), len(fake)), shuffle=True, random_state=seed)
    clf = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=2000))
    return float(cross_val_score(clf, x, y, cv=folds).mean())


def encoder_features(net: UNet, images: torch.Tensor) -> torch.Tensor:
    """The spatial means of the (LeakyReLU-activated) maps of a U-Net encoder's two innermost levels (B, D)."""
    h, levels = images, []
    for i, (down, norm) in enumerate(zip(net.downs, net.down_norms, strict=True)):
        h = norm(down(h if i == 0 else F.leaky_relu(h, 0.2)))
        levels.append(F.leaky_relu(h, 0.2).float().mean((2, 3)))
    return torch.cat(levels[-2:], 1)


def face_features(judge: Translator, faces: torch.Tensor, device: torch.device) -> np.ndarray:
    """:func:`encoder_features` of the face2depth judge for faces in [0, 1] (N, C, H, W)."""
    return batched(lambda x: encoder_features(judge.generator, x), faces, device=device).numpy()


def snapshot_faces(grid: Path, size: int) -> torch.Tensor:
    """The generated faces of a snapshot grid (rows source | generated | target per block of 8), (N, 3, s, s)."""
    image = torch.from_numpy(np.asarray(load_upright(grid), dtype=np.float32) / 255).permute(2, 0, 1)
    pitch = size + GRID_PADDING
    rows, cols = (image.shape[1] - GRID_PADDING) // pitch, (image.shape[2] - GRID_PADDING) // pitch
    if rows % 3 or cols != SNAPSHOT_COLUMNS or rows * pitch + GRID_PADDING != image.shape[1]:
        raise FacegenError(f"{grid} is not a {size} px depth -> face snapshot grid")
    faces = [image[:, GRID_PADDING + r * pitch:GRID_PADDING + r * pitch + size,
                   GRID_PADDING + c * pitch:GRID_PADDING + c * pitch + size]
             for r in range(1, rows, 3) for c in range(cols)]
    return torch.stack(faces)


def cycling(run_path: Path, size: int) -> dict:
    """Per snapshot epoch, the mean absolute change of the generated faces since the previous snapshot, and
    the mean of those changes over the second half of the run. White padding cells (a short last row) are
    the same in every grid and count as unchanged."""
    grids = sorted(Path(run_path, "iterations").glob("iter_*.png"), key=lambda p: int(re.findall(r"\d+", p.stem)[0]))
    epochs = [int(re.findall(r"\d+", p.stem)[0]) for p in grids]
    if len(grids) < 3:
        return {"epochs": epochs, "change": [], "second_half": None}
    faces = [snapshot_faces(g, size) for g in grids]
    change = [float((b - a).abs().mean()) for a, b in zip(faces, faces[1:], strict=False)]
    half = [c for e, c in zip(epochs[1:], change, strict=True) if e > epochs[-1] / 2]
    return {"epochs": epochs[1:], "change": change, "second_half": float(np.mean(half)) if half else None}


SAME_DATA = ("pairs", "toy_dir", "toy_n", "seed", "val_fraction", "size", "channels")
N_FIGURE = 8


def check_same_split(run: Run, judge: Run) -> None:
    """A one-line error unless the judge was trained on the same pairs with the same held-out subjects."""
    if judge.model_name != "face2depth":
        raise FacegenError(f"--face2depth {judge.path} holds a {judge.model_name} run: train the judge with "
                           f"depth2face.py --mode face2depth on the same pairs")
    a, b = run.data.to_dict(), judge.data.to_dict()
    differ = [k for k in SAME_DATA if a.get(k) != b.get(k)]
    if differ:
        raise FacegenError(f"{run.path} and the face2depth judge {judge.path} were trained on different pairs or "
                           f"splits ({', '.join(differ)} differ): train the judge with the run's data flags")


def evaluate_translator(run: Run, model: Translator, judge_run: Run, judge: Translator, device: torch.device,
                        seed: int = 0) -> dict:
    """Every measure of this module for ``run`` on its held-out pairs; writes the figure of the first 8 (rows
    depth | generated | real, one subject each) to RUN/plots/depth2face_heldout.png."""
    check_same_split(run, judge_run)
    train, val = run.faces()
    depth, real = val.sources.float() / 255, val.images.float() / 255
    torch.manual_seed(seed)  # the dropout noise of pix2pix-style generators
    made = batched(model.translate, depth, device=device)
    back_made = batched(judge.translate, made, device=device)
    back_real = batched(judge.translate, real, device=device)
    f_made, f_real = face_features(judge, made, device), face_features(judge, real, device)
    n = len(val)
    floor_idx = torch.randperm(len(train), generator=torch.Generator().manual_seed(seed))[:n]
    f_train = face_features(judge, train.images[floor_idx].float() / 255, device)
    result = {
        "run": str(run.path), "model": run.model_name, "judge": str(judge_run.path), "n_heldout": n,
        "n_heldout_subjects": int(torch.unique(val.meta["subject"]).numel()),
        "l1_photo": float((made - real).abs().mean()),
        "ssim_photo": float(ssim(made, real).mean()),
        "f2d_l1_generated_grey": float((back_made - depth).abs().mean() * 255),
        "f2d_l1_real_grey": float((back_real - depth).abs().mean() * 255),
        "fd_f2d": frechet_distance(f_made, f_real),
        "fd_f2d_real_floor": frechet_distance(f_train, f_real),
        "two_sample_accuracy": two_sample_accuracy(f_real, f_made, seed),
        "diversity_generated": float(mean_pairwise_distance(f_made)),
        "diversity_real": float(mean_pairwise_distance(f_real)),
        "cycling": cycling(run.path, run.size),
    }
    k = min(N_FIGURE, n)
    c = max(made.shape[1], 1)
    rows = torch.stack([depth[:k].expand(-1, c, -1, -1), made[:k], real[:k].expand(-1, c, -1, -1)])
    plots.save_labelled_rows(rows, ["depth", "generated", "real"], run.path / "plots" / "depth2face_heldout.png",
                             title=f"{run.model_name}: held-out subjects")
    write_json(run.path / "depth2face_metrics.json", result)
    return result


def table(results: list[dict]) -> list[str]:
    """A markdown table of several runs' results."""
    head = ("| run | L1 photo | SSIM | f2d L1 (grey) gen / real | FD-f2d (floor) | 2-sample acc | diversity gen / "
            "real | cycling |")
    lines = [head, "|" + "---|" * 8]
    for r in results:
        cyc = r["cycling"]["second_half"]
        lines.append(f"| {Path(r['run']).name} | {r['l1_photo']:.4f} | {r['ssim_photo']:.3f} | "
                     f"{r['f2d_l1_generated_grey']:.1f} / {r['f2d_l1_real_grey']:.1f} | {r['fd_f2d']:.3g} "
                     f"({r['fd_f2d_real_floor']:.3g}) | {r['two_sample_accuracy']:.2f} | "
                     f"{r['diversity_generated']:.3g} / {r['diversity_real']:.3g} | "
                     f"{'-' if cyc is None else f'{cyc:.4f}'} |")
    return lines
