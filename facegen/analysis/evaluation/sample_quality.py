"""Sample quality without downloading anything: distances between a model's samples and real faces in the feature
space of a network the project trains itself (or plain downsampled pixels).

None of these numbers is an FID or comparable with published ones: the feature network is not Inception.

- Fréchet distance (Heusel et al. 2017's formula, on our features; :func:`facegen.core.stats.frechet_distance`):
  with means m_a, m_b and covariances S_a, S_b of the two feature sets,
  FD = ||m_a - m_b||^2 + tr(S_a + S_b - 2 (S_a^1/2 S_b S_a^1/2)^1/2).
- Kernel distance (Bińkowski et al. 2018's KID formula): the unbiased estimate of the squared maximum mean
  discrepancy with the cubic polynomial kernel k(u, v) = (u.v / d + 1)^3,
  MMD^2 = mean_{i != j} k(a_i, a_j) + mean_{i != j} k(b_i, b_j) - 2 mean_{i, j} k(a_i, b_j).
- Precision and recall (Kynkäänniemi et al. 2019): each real feature gets a ball reaching its k-th nearest real
  neighbour; precision is the share of samples inside some real ball, recall the share of real faces inside
  some sample ball (balls from the samples' own k-th neighbours).
- Memorisation: each sample's distance to its nearest training face, against the same for held-out real faces
  (a ratio well below 1 means samples sit closer to training faces than new faces do: copies).
- Diversity: the mean pairwise distance of the samples over that of real faces.
- Sharpness (in pixels, no network): the mean squared response of the 4-neighbour Laplacian on the grey image,
  over that of real faces. Blur removes exactly this high-frequency energy, so a ratio well below 1 is a blurry
  model; near 1 has real faces' detail (or noise of the same energy: read it beside the other numbers).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.transforms.functional import rgb_to_grayscale

from facegen.core.batching import batched
from facegen.core.errors import FacegenError
from facegen.core.stats import frechet_distance, mean_pairwise_distance
from facegen.nn.attrnet import AttributeNet

PIXELS = "pixels"
PIXEL_SIZE = 8  # the "pixels" feature map: images area-averaged to 8 x 8


def polynomial_kernel(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """k(u, v) = (u.v / d + 1)^3 for every row pair: (N, M)."""
    return (a.double() @ b.double().T / a.shape[1] + 1) ** 3


def kernel_distance(a: torch.Tensor, b: torch.Tensor) -> float:
    """The unbiased squared MMD between feature sets a and b with :func:`polynomial_kernel` (may be slightly
    negative when the sets come from one distribution)."""
    m, n = len(a), len(b)
    if m < 2 or n < 2:
        raise FacegenError(f"a kernel distance needs at least 2 faces on each side, got {m} and {n}")
    k_aa, k_bb, k_ab = polynomial_kernel(a, a), polynomial_kernel(b, b), polynomial_kernel(a, b)
    return float((k_aa.sum() - k_aa.trace()) / (m * (m - 1)) + (k_bb.sum() - k_bb.trace()) / (n * (n - 1))
                 - 2 * k_ab.mean())


def _kth_neighbour_radius(x: torch.Tensor, k: int) -> torch.Tensor:
    """Distance of each row of x to its k-th nearest other row."""
    d = torch.cdist(x.double(), x.double())
    d.fill_diagonal_(float("inf"))
    return d.kthvalue(k, dim=1).values


def precision_recall(real: torch.Tensor, fake: torch.Tensor, k: int = 3) -> tuple[float, float]:
    """(precision, recall) of samples ``fake`` against real faces ``real`` with k-nearest-neighbour balls."""
    if min(len(real), len(fake)) <= k:
        raise FacegenError(f"precision / recall with k = {k} needs more than {k} faces on each side, got "
                           f"{len(real)} real and {len(fake)} samples")
    d = torch.cdist(fake.double(), real.double())  # (F, R)
    precision = (d <= _kth_neighbour_radius(real, k)[None, :]).any(1).double().mean()
    recall = (d <= _kth_neighbour_radius(fake, k)[:, None]).any(0).double().mean()
    return float(precision), float(recall)


def nearest_distance(x: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """Each row of x's distance to its nearest row of ``reference``."""
    return torch.cdist(x.double(), reference.double()).min(1).values


def memorisation(samples: torch.Tensor, heldout: torch.Tensor, train: torch.Tensor) -> dict[str, float]:
    """Mean nearest-training-face distance of samples and of held-out real faces, and their ratio."""
    s, h = float(nearest_distance(samples, train).mean()), float(nearest_distance(heldout, train).mean())
    return {"samples_to_train": s, "heldout_to_train": h, "ratio": s / h if h > 0 else float("nan")}


def compare(samples: torch.Tensor, heldout: torch.Tensor, train: torch.Tensor, k: int = 3) -> dict[str, float]:
    """Every number above for sample features against held-out real features (and training ones)."""
    precision, recall = precision_recall(heldout, samples, k)
    diversity = float(mean_pairwise_distance(samples.double()) / mean_pairwise_distance(heldout.double()))
    return {"frechet": frechet_distance(samples, heldout), "kernel": kernel_distance(samples, heldout),
            "precision": precision, "recall": recall, "diversity": diversity,
            **{f"nearest_{k}": v for k, v in memorisation(samples, heldout, train).items()}}


LAPLACIAN = torch.tensor([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]])


def laplacian_energy(images: torch.Tensor) -> torch.Tensor:
    """Per image (N,): the mean squared 4-neighbour Laplacian of its grey version, images (N, C, H, W) in [0, 1]
    (floats, or uint8 scaled here); only whole 3 x 3 neighbourhoods count (no padding at the border)."""
    x = images.float() / 255 if images.dtype == torch.uint8 else images.float()
    grey = rgb_to_grayscale(x) if x.shape[1] == 3 else x.mean(1, keepdim=True)
    return F.conv2d(grey, LAPLACIAN.to(grey)[None, None]).square().flatten(1).mean(1)


def sharpness_ratio(images: torch.Tensor, reference: torch.Tensor) -> float:
    """Mean Laplacian energy of ``images`` over that of ``reference`` (1: as sharp as the reference)."""
    ref = float(torch.cat([laplacian_energy(b) for b in reference.split(256)]).mean())
    own = float(torch.cat([laplacian_energy(b) for b in images.split(256)]).mean())
    return own / ref if ref > 0 else float("nan")


class PixelFeatures(nn.Module):
    """Images area-averaged to 8 x 8 and flattened: a fixed feature map that needs no training."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.adaptive_avg_pool2d(x.float(), PIXEL_SIZE).flatten(1)


class NetFeatures(nn.Module):
    """The global average of the attribute net's last conv level (relu4): one 128-number vector per face."""

    def __init__(self, net: AttributeNet):
        super().__init__()
        self.net = net.eval()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net.features(x.float(), ["relu4"])[0].mean((2, 3))


def feature_vectors(features: Callable[[torch.Tensor], torch.Tensor], images: torch.Tensor,
                    device: torch.device | str = "cpu") -> torch.Tensor:
    """Features (N, D) on the CPU of images (N, C, H, W) in [0, 1] (floats, or uint8 scaled here)."""
    return batched(features, images, device=device)
