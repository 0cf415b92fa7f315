"""What a face dataset is in memory: one uint8 image tensor plus per-image conditions and metadata."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import torch

from facegen.core.errors import FacegenError
from facegen.data.split import split_indices


@dataclass
class FaceSet:
    """Faces decoded once into memory.

    images:     uint8 (N, C, H, W), C in {1, 3}.
    cond:       float32 (N, K) conditions in [-1, +1] (K = len(cond_names), may be 0).
    cond_names: name of each condition column, e.g. ["smile"] or ["smile", "gender", "age"].
    labelled:   bool (N,): True where the conditions are known (False for unlabelled faces).
    names:      file name of each image (no folder).
    meta:       per-image tensors of length N: "age" (float, nan if unknown),
                "gender" (int, 0 male / 1 female / -1 unknown), "race" (int, -1 unknown),
                and for CelebA "attrs" (int8 (N, 40), +1 / -1).
    attr_names: names of the columns of meta["attrs"] (empty when there are none).
    source:     one line saying which data this is, for logs and flags.json.
    sources:    for paired data (depth -> face), uint8 (N, Cs, H, W) inputs aligned pixel for pixel with
                ``images`` (the targets), e.g. depth maps; None for plain face sets.
    """

    images: torch.Tensor
    cond: torch.Tensor
    cond_names: list[str]
    labelled: torch.Tensor
    names: list[str]
    meta: dict[str, torch.Tensor] = field(default_factory=dict)
    attr_names: list[str] = field(default_factory=list)
    source: str = ""
    sources: torch.Tensor | None = None

    def __len__(self) -> int:
        return self.images.shape[0]

    @property
    def channels(self) -> int:
        return self.images.shape[1]

    @property
    def size(self) -> int:
        return self.images.shape[-1]

    def subset(self, idx: torch.Tensor) -> FaceSet:
        """The faces at integer positions ``idx`` (views where torch allows)."""
        idx = torch.as_tensor(idx, dtype=torch.long)
        return FaceSet(
            images=self.images[idx],
            cond=self.cond[idx],
            cond_names=list(self.cond_names),
            labelled=self.labelled[idx],
            names=[self.names[i] for i in idx.tolist()],
            meta={k: v[idx] for k, v in self.meta.items()},
            attr_names=list(self.attr_names),
            source=self.source,
            sources=None if self.sources is None else self.sources[idx],
        )

    def split(self, val_fraction: float, seed: int) -> tuple[FaceSet, FaceSet]:
        """A fixed (per seed) train / validation split; validation gets at least one face."""
        train, val = split_indices(len(self), val_fraction, seed)
        return self.subset(train), self.subset(val)

    def with_attributes_as_conditions(self) -> FaceSet:
        """The same faces with every attribute (+1 / -1) as the condition vector: a classifier's targets."""
        if "attrs" not in self.meta:
            raise FacegenError(f"{self.source} has no attribute labels: use --dataset celeba with --attrs FILE")
        return replace(self, cond=self.meta["attrs"].float(), cond_names=list(self.attr_names),
                       labelled=torch.ones(len(self), dtype=torch.bool))
