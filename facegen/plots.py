"""Figures: image grids and GIFs (PIL) and plots (matplotlib). Calls nothing above it.

Nothing heavy is imported until a figure is drawn: matplotlib and PIL are imported inside the functions
that use them, so a training command pays for them only when it writes a figure, and grids need neither
torchvision (whose import pulls in its detection ops and ``torch._dynamo``) nor matplotlib. Plots are drawn on
``matplotlib.figure.Figure`` objects, not through ``pyplot``: no backend is chosen or forced here (a window
opened by the labelling app keeps its interactive backend) and figures can be drawn from any thread.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F

from facegen.core.files import atomic_write

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def make_grid(images: torch.Tensor, nrow: int = 8, padding: int = 2, pad_value: float = 1.0) -> torch.Tensor:
    """Images (N, C, H, W) tiled into one (3, H', W') image, ``nrow`` per row, rows filled left to right: every
    image framed by ``padding`` pixels of ``pad_value``, grey images (C = 1) repeated to RGB, unused cells of the
    last row left as padding. Cell (r, c) holds image r * nrow + c at rows r (H + p) + p .. + H, columns
    c (W + p) + p .. + W, so H' = rows (H + p) + p and W' = cols (W + p) + p (torchvision's layout; as there, a
    single image comes back as it is, unframed)."""
    x = images.detach()
    if x.shape[1] == 1:
        x = x.expand(-1, 3, -1, -1)
    if x.shape[0] == 1:
        return x[0]
    n, c, h, w = x.shape
    cols = min(nrow, n)
    rows = -(-n // cols)
    if rows * cols > n:
        x = torch.cat([x, x.new_full((rows * cols - n, c, h, w), pad_value)])
    cells = F.pad(x, (padding, 0, padding, 0), value=pad_value)  # each cell: its image below / right of a frame
    grid = cells.view(rows, cols, c, h + padding, w + padding).permute(2, 0, 3, 1, 4)
    grid = grid.reshape(c, rows * (h + padding), cols * (w + padding))
    return F.pad(grid, (0, padding, 0, padding), value=pad_value)


def to_uint8(image: torch.Tensor) -> np.ndarray:
    """A (C, H, W) float image in [0, 1] as an (H, W, C) uint8 array, rounded to the nearest level."""
    return (image.float() * 255 + 0.5).clamp(0, 255).to(torch.uint8).permute(1, 2, 0).cpu().numpy()


def save_image(image: torch.Tensor, path: Path) -> None:
    """One image (C, H, W) in [0, 1] as an 8-bit PNG (grey for one channel), written whole or not at all."""
    from PIL import Image

    pixels = (image.detach().float().cpu().clamp(0, 1) * 255).round().byte().permute(1, 2, 0).numpy()
    pixels = pixels[..., 0] if pixels.shape[-1] == 1 else np.ascontiguousarray(pixels)
    atomic_write(path, lambda tmp: Image.fromarray(pixels).save(tmp, format="png"), suffix=".png")


def save_grid(images: torch.Tensor, path: Path, nrow: int = 8, padding: int = 2) -> None:
    """Images (N, C, H, W) in [0, 1] as one RGB PNG grid, ``nrow`` images per row (:func:`make_grid`)."""
    from PIL import Image

    pixels = to_uint8(make_grid(images.detach().float().cpu().clamp(0, 1), nrow, padding))
    atomic_write(path, lambda tmp: Image.fromarray(pixels).save(tmp, format="png"), suffix=".png")


def grid_array(images: torch.Tensor, nrow: int, padding: int = 2) -> np.ndarray:
    """The same grid as an (H, W, 3) float array, for matplotlib figures with labels."""
    return make_grid(images.detach().float().cpu().clamp(0, 1), nrow, padding).permute(1, 2, 0).numpy()


def save_labelled_rows(rows: torch.Tensor, row_labels: Sequence[str], path: Path, title: str = "",
                       col_labels: Sequence[str] | None = None) -> None:
    """A grid of R rows x K columns of images (tensor (R, K, C, H, W)), each row labelled on the left."""
    n_rows, n_cols, _, h, w = rows.shape
    grid = grid_array(rows.flatten(0, 1), nrow=n_cols)
    fig_w = 1.2 + n_cols * max(w, 32) / 48
    fig_h = 0.6 + n_rows * max(h, 32) / 48
    fig, ax = subplots(figsize=(fig_w, fig_h), dpi=100)
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


def subplots(nrows: int = 1, ncols: int = 1, figsize: tuple[float, float] | None = None, dpi: float | None = None,
             squeeze: bool = True) -> tuple[Figure, object]:
    """A figure and its axes (as ``pyplot.subplots``), on a bare ``Figure``: no backend, no pyplot state."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, dpi=dpi)
    return fig, fig.subplots(nrows, ncols, squeeze=squeeze)


def save_figure(fig: Figure, path: Path) -> None:
    """Write a matplotlib figure as PNG (atomically); a bare Figure needs no closing."""
    atomic_write(path, lambda tmp: fig.savefig(tmp, bbox_inches="tight", format="png"), suffix=".png")


def save_gif(frames: Sequence[Path], path: Path, seconds_per_frame: float = 0.3) -> None:
    """A looping GIF of PNG frames (e.g. the reconstructions of successive epochs). Each frame gets its own
    256-colour palette by fast octree quantisation: about as close to the frame as Pillow's default median cut
    (mean error 4 levels of 255 on real faces) at a few hundredths of its cost."""
    if not frames:
        return
    from PIL import Image

    images = [Image.open(f).convert("RGB").quantize(256, method=Image.Quantize.FASTOCTREE) for f in frames]
    atomic_write(path, lambda tmp: images[0].save(tmp, format="GIF", save_all=True, append_images=images[1:],
                                                  duration=round(1000 * seconds_per_frame), loop=0), suffix=".gif")


def plot_training(history: list[dict], terms: Sequence[str], path: Path) -> None:
    """One panel per reported term (train, and validation where there is one) against epoch; terms that are
    zero throughout (an autoencoder's KL) are left out."""
    epochs = [r["epoch"] for r in history]
    shown = [t for t in terms if any(r.get(f"train_{t}") for r in history)] or list(terms[:1])
    ncols = min(len(shown), 4)  # rows of four: a GAN's nine terms in one row were a 40-inch strip
    nrows = -(-len(shown) // ncols)
    fig, axes = subplots(nrows, ncols, figsize=(4.4 * ncols, 3.6 * nrows), squeeze=False)
    for ax in axes.flat[len(shown):]:
        ax.set_axis_off()
    for ax, term in zip(axes.flat, shown, strict=False):
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
    from matplotlib.ticker import MaxNLocator

    fig, ax = subplots(figsize=(max(6, 0.3 * var.shape[1] + 2), 5))
    im = ax.imshow(var, aspect="auto", interpolation="nearest", cmap="viridis",
                   extent=(-0.5, var.shape[1] - 0.5, epochs[-1] + 0.5, epochs[0] - 0.5))
    ax.set_xlabel("latent dimension")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("epoch")
    ax.set_title(title)
    fig.colorbar(im, ax=ax, label="variance of posterior mean")
    save_figure(fig, path)


def plot_histograms(values: np.ndarray, names: Sequence[str], path: Path, title: str, bins: int = 30) -> None:
    """One small histogram per column of ``values`` (N, D), each titled with its name and standard deviation."""
    d = values.shape[1]
    cols = min(5, d)
    rows = -(-d // cols)
    fig, axes = subplots(rows, cols, figsize=(2.6 * cols, 2.0 * rows), squeeze=False)
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
    fig, ax = subplots(figsize=(max(5, 0.35 * len(ratio) + 2), 3.6))
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
    fig, ax = subplots(figsize=(4.6, 4.2))
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
    fig, ax = subplots(figsize=(5.2, 4.0))
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
    from matplotlib import colormaps
    from matplotlib.patches import Patch

    categories = list(dict.fromkeys(c for counts in groups.values() for c, v in counts.items() if v > 0))
    colours = dict(zip(categories, colormaps["tab10"].colors, strict=False))
    fig, axes = subplots(1, len(groups), figsize=(3.6 * len(groups), 3.9), squeeze=False)
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
