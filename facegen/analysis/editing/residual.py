"""Residual editing: apply to the photo only the change the model makes, where the model makes it.

With the model's reconstruction r = decode(z, y_own) and its edit e = decode(z, y_new) (both at the model's
size), the change is D = e - r. Its mask M is the change's size, smoothed and scaled to its upper quantile:

    m = G_sigma * mean_c |D|,   M = min(1, m / q_p(m))      (q_p: the p-quantile of m over the image)

so the pixels that change most get the whole change and the small spurious differences elsewhere (a VAE
never redraws a face exactly the same way twice) are damped in proportion to their size. The edited photo is

    photo' = clip(photo + up(M * D), 0, 1)

with ``up`` a bilinear resize to the photo's resolution. Everything the model cannot draw (hair, skin texture,
background, the exact face) is kept by construction: outside the mask the photo is untouched.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torchvision.transforms.functional import gaussian_blur

SIGMA = 1.0  # px at the model's size: how far the mask spreads around the changed pixels
QUANTILE = 0.9  # pixels whose smoothed change reaches this quantile get the whole change


def change_mask(delta: torch.Tensor, sigma: float = SIGMA, quantile: float = QUANTILE) -> torch.Tensor:
    """M (N, 1, h, w) in [0, 1] from the change D (N, C, h, w) (see the module docstring); 0 where nothing
    changes at all."""
    m = delta.abs().mean(1, keepdim=True)
    if sigma > 0:
        k = 2 * int(3 * sigma + 0.999) + 1
        m = gaussian_blur(m, [k, k], [sigma, sigma])
    top = torch.quantile(m.flatten(1), quantile, dim=1).clamp_min(1e-8)
    return (m / top[:, None, None, None]).clamp(0, 1)


def residual_edit(photo: torch.Tensor, before: torch.Tensor, after: torch.Tensor, sigma: float = SIGMA,
                  quantile: float = QUANTILE) -> torch.Tensor:
    """photo' = clip(photo + up(M * (after - before)), 0, 1) for photos (N, C, H, W) at any resolution and the
    model's reconstruction ``before`` and edit ``after`` (N, C', h, w); a one-channel change is applied to every
    channel of a colour photo."""
    delta = after.float() - before.float()
    change = change_mask(delta, sigma, quantile) * delta
    if change.shape[-2:] != photo.shape[-2:]:
        change = F.interpolate(change, size=photo.shape[-2:], mode="bilinear", align_corners=False)
    if change.shape[1] != photo.shape[1]:
        change = change.expand(-1, photo.shape[1], -1, -1) if change.shape[1] == 1 else change.mean(1, keepdim=True)
    return (photo.float() + change).clamp(0, 1)


def masked_replace(photo: torch.Tensor, before: torch.Tensor, after: torch.Tensor, sigma: float = SIGMA,
                   quantile: float = QUANTILE) -> torch.Tensor:
    """photo' = (1 - up(M)) photo + up(M) up(after): where the model's change is, its edited face *replaces* the
    photo instead of being added to it (a wide smile's teeth cannot show through a closed mouth); M as in
    :func:`residual_edit`."""
    mask = change_mask(after.float() - before.float(), sigma, quantile)
    drawn = after.float()
    if drawn.shape[-2:] != photo.shape[-2:]:
        mask = F.interpolate(mask, size=photo.shape[-2:], mode="bilinear", align_corners=False)
        drawn = F.interpolate(drawn, size=photo.shape[-2:], mode="bilinear", align_corners=False)
    if drawn.shape[1] != photo.shape[1]:
        drawn = drawn.expand(-1, photo.shape[1], -1, -1) if drawn.shape[1] == 1 else drawn.mean(1, keepdim=True)
    return ((1 - mask) * photo.float() + mask * drawn).clamp(0, 1)
