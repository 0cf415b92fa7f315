"""Large-margin cosine softmax (CosFace; Wang et al. 2018) for learning an identity embedding.

With unit vectors f = e / ||e|| (the embedding) and w_j = W_j / ||W_j|| (one row per training person),
cos t_j = w_j . f, and the loss of a face of person y is

    L = -log  exp(s (cos t_y - m)) / ( exp(s (cos t_y - m)) + sum_{j != y} exp(s cos t_j) )

i.e. cross-entropy on the logits s (cos t_j - m [j = y]). The margin m makes a face count as its own person
only when its cosine to that person beats every other person's by m, so faces of one person gather in a
cone and different people's cones are pushed apart: distances between unit embeddings then compare people
never seen in training. The scale s sets how peaked the softmax can get (with cosines in [-1, 1] and no
scale the loss could not go below log(number of classes) - 2).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def cosine_logits(embeddings: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """cos t_j (B, C): cosines between every embedding (B, D) and every class row of ``weight`` (C, D)."""
    return F.linear(F.normalize(embeddings.float(), dim=1), F.normalize(weight.float(), dim=1))


def cosface_logits(cosines: torch.Tensor, labels: torch.Tensor, scale: float, margin: float) -> torch.Tensor:
    """s (cos t_j - m [j = label]) (B, C) from the cosines (B, C) and integer labels (B,)."""
    return scale * (cosines - margin * F.one_hot(labels, cosines.shape[1]).to(cosines.dtype))


def cosface_loss(embeddings: torch.Tensor, weight: torch.Tensor, labels: torch.Tensor, scale: float,
                 margin: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(batch-mean CosFace loss, batch-mean accuracy of the plain cosine classifier: argmax_j cos t_j = label)."""
    cosines = cosine_logits(embeddings, weight)
    loss = F.cross_entropy(cosface_logits(cosines, labels, scale, margin), labels)
    return loss, (cosines.argmax(1) == labels).float().mean()
