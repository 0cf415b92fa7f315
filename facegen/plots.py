"""Figures: image grids (torchvision), GIFs (imageio) and plots (matplotlib). Calls nothing above it."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import imageio.v2 as imageio  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from torchvision.utils import make_grid, save_image  # noqa: E402


def save_grid(images: torch.Tensor, path: Path, nrow: int = 8, padding: int = 2) -> None:
    """Images (N, C, H, W) in [0, 1] as one PNG grid, ``nrow`` images per row."""
    path.parent.mkdir(parents=True, exist_ok=True)
    save_image(images.detach().float().cpu().clamp(0, 1), path, nrow=nrow, padding=padding, pad_value=1.0)


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
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp.png")
    fig.savefig(tmp, bbox_inches="tight")
    plt.close(fig)
    os.replace(tmp, path)


def save_gif(frames: Sequence[Path], path: Path, seconds_per_frame: float = 0.3) -> None:
    """A GIF of PNG frames (e.g. the reconstructions of successive epochs)."""
    if not frames:
        return
    images = [imageio.imread(f) for f in frames]
    imageio.mimsave(path, images, duration=seconds_per_frame, loop=0)


def plot_training(history: list[dict], path: Path) -> None:
    """Train / validation loss, reconstruction and KL against epoch."""
    epochs = [r["epoch"] for r in history]
    val = [r for r in history if r.get("val_loss") is not None]
    panels = [("loss", "loss (recon + beta KL)"), ("recon", "reconstruction"), ("kl", "KL")]
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    for ax, (key, title) in zip(axes, panels):
        ax.plot(epochs, [r[f"train_{key}"] for r in history], label="train")
        if val:
            ax.plot([r["epoch"] for r in val], [r[f"val_{key}"] for r in val], "o-", ms=3, label="validation")
        ax.set_title(title)
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        if key != "kl" and min(r[f"train_{key}"] for r in history) > 0:
            ax.set_yscale("log")
    axes[0].legend()
    fig.tight_layout()
    save_figure(fig, path)


def plot_latent_variance(var: np.ndarray, epochs: Sequence[int], path: Path, title: str) -> None:
    """Heatmap of each latent dimension's variance (columns) per epoch (rows)."""
    fig, ax = plt.subplots(figsize=(max(6, 0.3 * var.shape[1] + 2), 5))
    im = ax.imshow(var, aspect="auto", interpolation="nearest", cmap="viridis",
                   extent=(-0.5, var.shape[1] - 0.5, epochs[-1] + 0.5, epochs[0] - 0.5))
    ax.set_xlabel("latent dimension")
    ax.set_ylabel("epoch")
    ax.set_title(title)
    fig.colorbar(im, ax=ax, label="variance of posterior mean")
    save_figure(fig, path)
