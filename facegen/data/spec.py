"""Which faces a run trains on, as one typed object: built from the training flags, stored in flags.json,
and rebuilt by every later script from the run folder alone."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import torch

from facegen.core.errors import FacegenError
from facegen.data import load_dataset
from facegen.data.faceset import FaceSet
from facegen.data.lfw import person_classes
from facegen.data.split import split_groups, split_indices

PATHS = ("data", "labels", "attrs", "cache_dir", "toy_dir", "unlabeled")


@dataclass
class DataSpec:
    """The data flags of a training run; :meth:`load` decodes the faces (cached), :meth:`split` splits them."""

    dataset: str = "auto"
    data: Path | None = None
    labels: Path | None = None
    attrs: Path | None = None
    size: int = 50
    channels: int = 3
    conditions: list[str] = field(default_factory=lambda: ["smile"])
    cache_dir: Path | None = Path("data/cache")
    num_workers: int = 0
    toy_dir: Path = Path("data/toyfaces")
    toy_n: int = 3000
    unlabeled: Path | None = None
    max_unlabeled: int | None = None
    val_fraction: float = 0.1
    seed: int = 0
    attributes_as_conditions: bool = False  # a classifier's targets: every CelebA attribute (+1 / -1) as y
    person_as_condition: bool = False  # an identity net's targets: the person's class number as y (one column)

    def to_dict(self) -> dict:
        return {k: str(v) if isinstance(v, Path) else v for k, v in dataclasses.asdict(self).items()}

    @classmethod
    def from_dict(cls, values: dict) -> DataSpec:
        names = {f.name for f in dataclasses.fields(cls)}
        kept = {k: (Path(v) if k in PATHS and v not in (None, "None") else v) for k, v in values.items() if k in names}
        for k in PATHS:
            if kept.get(k) == "None":
                kept[k] = None
        return cls(**kept)

    def load(self) -> FaceSet:
        """Every face the flags describe (decoded once, cached on disk)."""
        if not 32 <= self.size <= 128:
            raise FacegenError(f"--resize {self.size} is outside 32-128: pick a size in that range (e.g. 50 or 64)")
        faces = load_dataset(dataset=self.dataset, data=self.data, labels=self.labels, attrs=self.attrs,
                             size=self.size, channels=self.channels,
                             conditions=[] if self.attributes_as_conditions or self.person_as_condition
                             else self.conditions,
                             cache_dir=self.cache_dir, num_workers=self.num_workers, toy_root=self.toy_dir,
                             toy_n=self.toy_n, unlabeled=self.unlabeled, max_unlabeled=self.max_unlabeled)
        if self.person_as_condition:
            return person_classes(faces, self.val_fraction, self.seed)
        return faces.with_attributes_as_conditions() if self.attributes_as_conditions else faces

    def split(self, faces: FaceSet) -> tuple[FaceSet, FaceSet]:
        """The run's fixed (train, validation) split. Faces with a ``meta["person"]`` (LFW) are split by person,
        so nobody is on both sides (``val_fraction`` is then the share of people). With labelled and unlabelled
        faces each kind is split on its own the way a labelled-only set is, so a labelled-only run with the same
        seed holds out the same labelled faces."""
        if len(faces) < 4:
            raise FacegenError(f"only {len(faces)} faces found ({faces.source}); need at least 4 to train")
        if "person" in faces.meta:
            train, val = split_groups(faces.meta["person"], self.val_fraction, self.seed)
            if len(train) < 2 or len(val) == 0:
                raise FacegenError(f"{faces.source}: only {len(torch.unique(faces.meta['person']))} people, too few "
                                   f"to hold some out by person: use more faces or a smaller --val_fraction")
            return faces.subset(train), faces.subset(val)
        if faces.labelled.all() or not faces.labelled.any():
            return faces.split(self.val_fraction, self.seed)
        train, val = [], []
        for part in (torch.nonzero(faces.labelled).flatten(), torch.nonzero(~faces.labelled).flatten()):
            t, v = split_indices(len(part), self.val_fraction, self.seed)
            train.append(part[t])
            val.append(part[v])
        return faces.subset(torch.cat(train).sort().values), faces.subset(torch.cat(val).sort().values)
