"""Aligning a face in a photo to a run's training crop, and pasting an edited crop back.

Coordinates are continuous pixel positions: pixel (i, j) covers [j, j + 1) x [i, i + 1), its centre is at
(j + 0.5, i + 0.5), points are (x, y). A similarity transform (rotation, uniform scale, shift) is a 2 x 3
matrix T with T [x, y, 1]^T the mapped point; as complex numbers z -> a z + b.

- :func:`similarity_from_points`: the exact similarity taking two points (the eye centres of a face in the
  photo) to two others (the eye centres of the training crop): a = (q2 - q1) / (p2 - p1), b = q1 - a p1.
- :func:`warp`: the image resampled so that output pixel o shows input point T o (T maps output to input).
- :func:`paste_change`: adds a change drawn in crop coordinates to the photo, feathered towards the crop's
  edge; pixels whose centre maps outside the crop get nothing, so the photo outside the face box is unchanged.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

Points = torch.Tensor  # (K, 2) float: x, y in pixels


def similarity_from_points(p1: tuple[float, float], p2: tuple[float, float], q1: tuple[float, float],
                           q2: tuple[float, float]) -> torch.Tensor:
    """T (2, 3) float64 with T p1 = q1 and T p2 = q2 (p1 != p2)."""
    zp1, zp2, zq1, zq2 = (complex(*p) for p in (p1, p2, q1, q2))
    a = (zq2 - zq1) / (zp2 - zp1)
    b = zq1 - a * zp1
    return torch.tensor([[a.real, -a.imag, b.real], [a.imag, a.real, b.imag]], dtype=torch.float64)


Eyes = tuple[tuple[float, float], tuple[float, float]]


def to_template_eyes(eyes: Eyes, template: Eyes, size: int) -> torch.Tensor:
    """T (2, 3) taking a face's eye centres (photo pixels) onto ``template``'s (fractions of a ``size`` px crop)."""
    (l2, r2) = [(x * size, y * size) for x, y in template]
    return similarity_from_points(*eyes, l2, r2)


def crop_to_eyes(photo: torch.Tensor, eyes: Eyes, template: Eyes, size: int) -> torch.Tensor:
    """The (C, size, size) crop of a photo (C, H, W) that puts its eyes where ``template`` has them."""
    return warp(photo.float(), invert(to_template_eyes(eyes, template, size)), (size, size))


def similarity_from_box(box: tuple[float, float, float, float], target: tuple[float, float, float, float]
                        ) -> torch.Tensor:
    """T (2, 3) that maps the square box (x, y, width, height; its centre and mean side) onto ``target``:
    uniform scale, no rotation."""
    (x, y, w, h), (tx, ty, tw, th) = box, target
    s = (tw + th) / (w + h)
    return torch.tensor([[s, 0.0, tx + tw / 2 - s * (x + w / 2)], [0.0, s, ty + th / 2 - s * (y + h / 2)]],
                        dtype=torch.float64)


def invert(t: torch.Tensor) -> torch.Tensor:
    """The inverse affine map of T (2, 3)."""
    full = torch.cat([t.double(), torch.tensor([[0.0, 0.0, 1.0]], dtype=torch.float64)])
    return torch.linalg.inv(full)[:2]


def apply(t: torch.Tensor, points: Points) -> Points:
    """T applied to points (K, 2)."""
    return points.double() @ t[:, :2].T.double() + t[:, 2].double()


def warp(image: torch.Tensor, out_to_in: torch.Tensor, size: tuple[int, int], padding: str = "border"
         ) -> torch.Tensor:
    """(C, h, w) image resampled to (C, H, W) = size: output pixel centre o shows the input at T o (bilinear;
    outside the input the border repeats, or zeros with ``padding="zeros"``)."""
    c, h, w = image.shape
    out_h, out_w = size
    # normalised coordinates (align_corners=False): u = 2 x / W - 1, so x = (u + 1) W / 2
    to_pix = torch.tensor([[out_w / 2, 0, out_w / 2], [0, out_h / 2, out_h / 2], [0, 0, 1]], dtype=torch.float64)
    to_norm = torch.tensor([[2 / w, 0, -1], [0, 2 / h, -1], [0, 0, 1]], dtype=torch.float64)
    full = torch.cat([out_to_in.double(), torch.tensor([[0.0, 0.0, 1.0]], dtype=torch.float64)])
    theta = (to_norm @ full @ to_pix)[:2].to(image.dtype)[None]
    grid = F.affine_grid(theta, [1, c, out_h, out_w], align_corners=False)
    return F.grid_sample(image[None], grid, mode="bilinear", padding_mode=padding, align_corners=False)[0]


def feather(size: int, margin: float = 0.12) -> torch.Tensor:
    """(size, size) weights: 1 inside, falling smoothly (a raised cosine) to 0 over the outer ``margin`` of the
    crop on every side, and exactly 0 on the outermost ring of pixels, so that a bilinear sample anywhere
    outside the crop reads 0."""
    x = (torch.arange(size, dtype=torch.float64) + 0.5) / size
    edge = (torch.minimum(x, 1 - x) - 0.5 / size) / margin
    ramp = torch.where(edge >= 1, torch.ones_like(edge), 0.5 - 0.5 * torch.cos(torch.pi * edge.clamp(0, 1)))
    return (ramp[:, None] * ramp[None, :]).float()


def paste_change(photo: torch.Tensor, change: torch.Tensor, photo_to_crop: torch.Tensor,
                 margin: float = 0.12) -> torch.Tensor:
    """photo (C, H, W) in [0, 1] plus ``change`` (C', s, s), drawn in crop coordinates, times :func:`feather`,
    carried back to the photo through ``photo_to_crop`` (the alignment T); clipped to [0, 1]. A photo pixel
    whose centre maps outside the crop is returned unchanged."""
    s = change.shape[-1]
    weighted = change.float() * feather(s, margin)
    back = warp(weighted, photo_to_crop, tuple(photo.shape[-2:]), padding="zeros")
    if back.shape[0] != photo.shape[0]:
        back = back.expand(photo.shape[0], -1, -1) if back.shape[0] == 1 else back.mean(0, keepdim=True)
    return (photo.float() + back).clamp(0, 1)
