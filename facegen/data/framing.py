"""Framing: the square box of an image that shows a face the way another dataset frames its faces.

The identity net learnt LFW's crops (eyebrows to chin); UTKFace's crops show the whole head. Both datasets are
aligned, so their *mean faces* are sharp enough to match: :func:`fit_box` finds the square box (centre and
side, as fractions of the image) of one mean face whose content, resized, correlates best with the other
mean face (normalised cross-correlation of grey images over a grid of boxes). :func:`crop_box` then cuts
that box out of every image of the first dataset.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

Box = tuple[float, float, float]  # centre x, centre y, side: fractions of the image's width / height
FULL: Box = (0.5, 0.5, 1.0)
MATCH_SIZE = 32  # pixels per side at which mean faces are compared


def crop_box(images: torch.Tensor, box: Box, size: int) -> torch.Tensor:
    """The square ``box`` of every image (B, C, H, W, floats) resampled to (B, C, size, size) (bilinear; the image
    is first shrunk with antialiasing when the box holds more than ``size`` pixels a side). Outside the image
    the border pixels repeat."""
    cx, cy, side = box
    if box == FULL and images.shape[-2:] == (size, size):
        return images
    shrink = size / (side * max(images.shape[-2:]))
    if shrink < 1:
        h, w = images.shape[-2:]
        images = F.interpolate(images, size=(max(1, round(h * shrink)), max(1, round(w * shrink))), mode="bilinear",
                               antialias=True, align_corners=False)
    return _sample(images, torch.tensor([box], dtype=images.dtype).expand(images.shape[0], 3), size)


def _sample(images: torch.Tensor, boxes: torch.Tensor, size: int) -> torch.Tensor:
    """Image i's box i (boxes (B, 3): cx, cy, side) at size x size: the affine map from output to input
    coordinates in [-1, 1] is u -> side * u + (2 c - 1)."""
    theta = torch.zeros(len(boxes), 2, 3, dtype=images.dtype, device=images.device)
    theta[:, 0, 0] = theta[:, 1, 1] = boxes[:, 2]
    theta[:, :, 2] = 2 * boxes[:, :2] - 1
    grid = F.affine_grid(theta, [len(boxes), images.shape[1], size, size], align_corners=False)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="border", align_corners=False)


def _standardised(x: torch.Tensor) -> torch.Tensor:
    """Rows of x (N, D) minus their mean, over their norm: dot products are then correlations."""
    x = x - x.mean(1, keepdim=True)
    return x / x.norm(dim=1, keepdim=True).clamp_min(1e-12)


def _best(grey: torch.Tensor, target: torch.Tensor, boxes: torch.Tensor) -> tuple[torch.Tensor, float]:
    scores = torch.cat([_standardised(_sample(grey.expand(len(chunk), -1, -1, -1), chunk, MATCH_SIZE).flatten(1))
                        @ target for chunk in boxes.split(4096)])
    best = int(scores.argmax())
    return boxes[best], float(scores[best])


def fit_box(mean_face: torch.Tensor, template: torch.Tensor, step: float = 0.01) -> tuple[Box, float]:
    """(box of ``mean_face`` (C, H, W) that looks most like ``template`` (C, h, w), its correlation): sides from
    0.3 to 1 and centres from 0.3 to 0.7 of the image, searched on a grid of 4 ``step`` and then of ``step``
    (0.01: about half a pixel at 64 px) within 4 ``step`` of the coarse optimum."""
    grey = mean_face.float().mean(0, keepdim=True)[None]
    target = _standardised(crop_box(template.float().mean(0, keepdim=True)[None], FULL, MATCH_SIZE).flatten(1))[0]
    coarse = 4 * step
    grid = torch.cartesian_prod(torch.arange(0.3, 0.7 + 1e-9, coarse), torch.arange(0.3, 0.7 + 1e-9, coarse),
                                torch.arange(0.3, 1 + 1e-9, coarse))
    best, _ = _best(grey, target, grid.float())
    offsets = torch.arange(-4, 5) * step
    fine = torch.cartesian_prod(best[0] + offsets, best[1] + offsets, (best[2] + offsets).clamp(0.05, 1.0))
    best, score = _best(grey, target, fine.float())
    return tuple(round(v, 4) for v in best.tolist()), score
