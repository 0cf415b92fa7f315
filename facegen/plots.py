"""Figures: image grids (torchvision), GIFs (imageio) and plots (matplotlib). Calls nothing above it."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import imageio.v2 as imageio
import matplotlib
import matplotlib.pyplot as plt
import matplotlib.ticker
import numpy as np
import torch
from matplotlib.patches import Patch
from torchvision.utils import make_grid, save_image

from facegen.core.files import atomic_write


def save_grid(images: torch.Tensor, path: Path, nrow: int = 8, padding: int = 2) -> None:
    """Images (N, C, H, W) in [0, 1] as one PNG grid, ``nrow`` images per row."""
    atomic_write(path, lambda tmp: save_image(images.detach().float().cpu().clamp(0, 1), tmp, nrow=nrow,
                                              padding=padding, pad_value=1.0, format="png"), suffix=".png")


def grid_array(images: torch.Tensor, nrow: int, padding: int = 2) -> np.ndarray:
    """The same grid as an (H, W, 3) float array, for matplotlib figures with labels."""
    g = make_grid(images.detach().float().cpu().clamp(0, 1), nrow=nrow, padding=padding, pad_value=1.0)
    return g.permute(1, 2, 0).numpy()


def save_labelled_rows(rows: torch.Tensor, row_labels: Sequence[str], path: Path, title: str = "",
                       col_labels: Sequence[str] | None = None) -> None:
    """A grid of R rows x K columns of images (tensor (R, K, C, H, W)), each row labelled on the left."""
    n_rows, n_cols, _, h, w = rows.shape
    grid = grid_array(rows.flatten(0, 1), nrow=n_cols)
    fig_w = 1.2 + n_cols * max(w, 32) / 48
    fig_h = 0.6 + n_rows * max(h, 32) / 48
    fig, ax = plt.subplots(figsize=(fig_w, fig_h), dpi=100)
    ax.imshow(grid, interpolation="nearest")
    pitch_y, pitch_x = h + 2, w + 2
    ax.set_yticks([2 + pitch_y * i + h / 2 for i in range(n_rows)], list(row_labels))
    if col_labels is not None:
        ax.set_xticks([2 + pitch_x * i + w / 2 for i in range(n_cols)], list(col_labels), rotation=90)
    else:
        ax.set_xticks([])
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    if title:
        ax.set_title(title)
    save_figure(fig, path)


def save_figure(fig: plt.Figure, path: Path) -> None:
    """Write a matplotlib figure as PNG (atomically) and close it."""
    try:
        atomic_write(path, lambda tmp: fig.savefig(tmp, bbox_inches="tight", format="png"), suffix=".png")
    finally:
        plt.close(fig)


def save_gif(frames: Sequence[Path], path: Path, seconds_per_frame: float = 0.3) -> None:
    """A GIF of PNG frames (e.g. the reconstructions of successive epochs)."""
    if not frames:
        return
    images = [imageio.imread(f) for f in frames]
    atomic_write(path, lambda tmp: imageio.mimsave(tmp, images, duration=seconds_per_frame, loop=0), suffix=".gif")


def plot_training(history: list[dict], terms: Sequence[str], path: Path) -> None:
    """One panel per reported term (train, and validation where there is one) against epoch; terms that are
    zero throughout (an autoencoder's KL) are left out."""
    epochs = [r["epoch"] for r in history]
    shown = [t for t in terms if any(r.get(f"train_{t}") for r in history)] or list(terms[:1])
    fig, axes = plt.subplots(1, len(shown), figsize=(4.4 * len(shown), 3.6), squeeze=False)
    for ax, term in zip(axes[0], shown, strict=True):
        train = [r.get(f"train_{term}") for r in history]
        ax.plot(epochs, train, label="train")
        val = [(r["epoch"], r[f"val_{term}"]) for r in history if r.get(f"val_{term}") is not None]
        if val:
            ax.plot(*zip(*val, strict=True), "o-", ms=3, label="validation")
        ax.set_title(term)
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        if all(v is not None and v > 0 for v in train) and max(train) > 10 * min(train):
            ax.set_yscale("log")
    axes[0][0].legend()
    fig.tight_layout()
    save_figure(fig, path)


def plot_latent_variance(var: np.ndarray, epochs: Sequence[int], path: Path, title: str) -> None:
    """Heatmap of each latent dimension's variance (columns) per epoch (rows)."""
    fig, ax = plt.subplots(figsize=(max(6, 0.3 * var.shape[1] + 2), 5))
    im = ax.imshow(var, aspect="auto", interpolation="nearest", cmap="viridis",
                   extent=(-0.5, var.shape[1] - 0.5, epochs[-1] + 0.5, epochs[0] - 0.5))
    ax.set_xlabel("latent dimension")
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    ax.set_ylabel("epoch")
    ax.set_title(title)
    fig.colorbar(im, ax=ax, label="variance of posterior mean")
    save_figure(fig, path)


def plot_histograms(values: np.ndarray, names: Sequence[str], path: Path, title: str, bins: int = 30) -> None:
    """One small histogram per column of ``values`` (N, D), each titled with its name and standard deviation."""
    d = values.shape[1]
    cols = min(5, d)
    rows = -(-d // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(2.6 * cols, 2.0 * rows), squeeze=False)
    for j, ax in enumerate(axes.flat):
        if j >= d:
            ax.axis("off")
            continue
        ax.hist(values[:, j], bins=bins, color="tab:blue", alpha=0.8)
        ax.set_title(f"{names[j]}  sd {values[:, j].std():.2f}", fontsize=9)
        ax.tick_params(labelsize=7)
    fig.suptitle(title)
    fig.tight_layout()
    save_figure(fig, path)


def plot_explained_variance(ratio: np.ndarray, path: Path) -> None:
    """Share of variance per principal axis (bars) and cumulated (line)."""
    k = np.arange(len(ratio))
    fig, ax = plt.subplots(figsize=(max(5, 0.35 * len(ratio) + 2), 3.6))
    ax.bar(k, ratio, color="tab:blue", label="per axis")
    ax.plot(k, np.cumsum(ratio), "o-", color="tab:orange", ms=3, label="cumulative")
    ax.set_xlabel("principal axis")
    ax.set_ylabel("share of variance")
    ax.set_ylim(0, 1.02)
    ax.set_xticks(k)
    ax.grid(alpha=0.3)
    ax.legend()
    ax.set_title("PCA of the posterior means (training set)")
    save_figure(fig, path)


def plot_response(x: Sequence[float], mean: Sequence[float], std: Sequence[float], path: Path, title: str,
                  xlabel: str, ylabel: str) -> None:
    """Mean response (with one standard deviation) against the requested value, beside the identity line."""
    fig, ax = plt.subplots(figsize=(4.6, 4.2))
    lo, hi = min(x), max(x)
    ax.plot([lo, hi], [lo, hi], "--", color="grey", label="perfect control")
    ax.errorbar(x, mean, yerr=std, fmt="o-", capsize=3, label="mean ± sd")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    save_figure(fig, path)


def plot_bias_by_degree(degrees: Sequence[float], share: Sequence[float], data_not_smiling: float | None,
                        data_smiling: float | None, path: Path, reference: float | None = None) -> None:
    """Share of samples called female at each degree, beside the labelled data's share below and above 0
    (and, as ``reference``, the classifier's share on the model's reconstructions of real faces)."""
    fig, ax = plt.subplots(figsize=(5.2, 4.0))
    ax.plot(degrees, share, "o-", label="samples (classifier)")
    if reference is not None:
        ax.axhline(reference, color="grey", linestyle=":", label="reconstructions of real faces (classifier)")
    if data_not_smiling is not None:
        ax.hlines(data_not_smiling, min(degrees), 0, colors="tab:red", linestyles="--", label="data: not smiling")
    if data_smiling is not None:
        ax.hlines(data_smiling, 0, max(degrees), colors="tab:green", linestyles="--", label="data: smiling")
    ax.set_xlabel("requested smile degree")
    ax.set_ylabel("share female")
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    ax.legend()
    ax.set_title("gender of samples by smile degree")
    save_figure(fig, path)


def plot_share_pies(groups: dict[str, dict[str, int]], path: Path, title: str) -> None:
    """One pie per group (e.g. smiling / not smiling) of the counts per category (e.g. female / male), the
    categories in the same colours in every pie and named once in a shared legend."""
    categories = list(dict.fromkeys(c for counts in groups.values() for c, v in counts.items() if v > 0))
    colours = dict(zip(categories, plt.get_cmap("tab10").colors, strict=False))
    fig, axes = plt.subplots(1, len(groups), figsize=(3.6 * len(groups), 3.9), squeeze=False)
    for ax, (name, counts) in zip(axes[0], groups.items(), strict=True):
        shown = {k: v for k, v in counts.items() if v > 0}
        total = sum(shown.values())
        if total:
            ax.pie(list(shown.values()), colors=[colours[k] for k in shown], startangle=90, counterclock=False,
                   autopct=lambda pct, t=total: f"{pct:.0f}%\n({round(pct * t / 100)})",
                   wedgeprops={"edgecolor": "white"}, textprops={"color": "white", "fontsize": 10})
        ax.set_title(f"{name} (n={total})")
        ax.axis("equal")
    handles = [Patch(color=colours[c], label=c) for c in categories]
    fig.legend(handles=handles, loc="lower center", ncol=len(categories), frameon=False)
    fig.suptitle(title)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    save_figure(fig, path)
