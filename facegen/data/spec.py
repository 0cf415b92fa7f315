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
from facegen.data.needs import DataNeeds, Targets
from facegen.data.shards import load_shards
from facegen.data.split import split_groups, split_indices
from facegen.data.unpaired import load_unpaired

PATHS = ("data", "labels", "attrs", "cache_dir", "toy_dir", "unlabeled", "pairs", "shards")


@dataclass
class DataSpec:
    """The data flags of a training run and the model's :class:`DataNeeds` (which are not stored: the run's model
    class declares them); :meth:`load` decodes the faces (cached), :meth:`split` splits them."""

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
    pairs: Path | None = None  # depth -> face pairs (needs.pairs): this folder, or the toy pairs in toy_dir
    paired_count: int | None = None  # only this many training pairs keep their photo as target (labelled)
    unpaired: str | None = None  # a folder of photos, or "toy": faces drawn apart from the pairs (load_unpaired)
    shards: Path | None = None  # faces written by prepare_data.py, read from disk a batch at a time (data/shards.py)
    needs: DataNeeds = DataNeeds()

    def to_dict(self) -> dict:
        """What flags.json keeps (the needs left out)."""
        values = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "needs"}
        return {k: str(v) if isinstance(v, Path) else v for k, v in values.items()}

    @classmethod
    def from_dict(cls, values: dict, needs: DataNeeds) -> DataSpec:
        """The spec flags.json recorded, for a model with ``needs`` (fields it does not know are left out)."""
        names = {f.name for f in dataclasses.fields(cls)} - {"needs"}
        kept = {k: (Path(v) if k in PATHS and v not in (None, "None") else v) for k, v in values.items() if k in names}
        for k in PATHS:
            if kept.get(k) == "None":
                kept[k] = None
        return cls(**kept, needs=needs)

    def load(self, on_disk: bool = False) -> FaceSet:
        """Every face the flags describe (decoded once, cached on disk). Faces from shards stay on disk with
        ``on_disk`` (training reads them a batch at a time) and are otherwise read into one tensor, as any other
        source gives them to the scripts that analyse a run."""
        if not 32 <= self.size <= 128:
            raise FacegenError(f"--resize {self.size} is outside 32-128: pick a size in that range (e.g. 50 or 64)")
        if self.needs.pairs:
            if self.shards is not None:
                raise FacegenError("depth -> face pairs are not read from shards: drop --shards, pass --pairs DIR")
            if self.data is not None or self.labels is not None or self.attrs is not None:
                raise FacegenError("a depth-to-face run reads pairs, not --data / --labels / --attrs: pass "
                                   "--pairs DIR (or nothing, for the toy pairs)")
            return load_dataset(paired=True, pairs=self.pairs, size=self.size, channels=self.channels,
                                cache_dir=self.cache_dir, num_workers=self.num_workers, toy_root=self.toy_dir,
                                toy_n=self.toy_n)
        if self.shards is not None:
            faces = load_shards(self.shards, self.conditions if self.needs.targets is Targets.CONDITIONS else [])
            if not on_disk:
                faces.images = faces.images.read(torch.arange(len(faces)))
        else:
            faces = load_dataset(dataset=self.dataset, data=self.data, labels=self.labels, attrs=self.attrs,
                                 size=self.size, channels=self.channels,
                                 conditions=self.conditions if self.needs.targets is Targets.CONDITIONS else [],
                                 cache_dir=self.cache_dir, num_workers=self.num_workers, toy_root=self.toy_dir,
                                 toy_n=self.toy_n, unlabeled=self.unlabeled, max_unlabeled=self.max_unlabeled)
        if self.needs.targets is Targets.PERSON:
            return person_classes(faces, self.val_fraction, self.seed)
        return faces.with_attributes_as_conditions() if self.needs.targets is Targets.ATTRIBUTES else faces

    def split(self, faces: FaceSet) -> tuple[FaceSet, FaceSet]:
        """The run's fixed (train, validation) split. Depth/photo pairs are split by subject and faces with a
        ``meta["person"]`` (LFW) by person, so nobody is on both sides (``val_fraction`` is then the share of
        people). With labelled and unlabelled faces each kind is split on its own the way a labelled-only set is,
        so a labelled-only run with the same seed holds out the same labelled faces."""
        if len(faces) < 4:
            raise FacegenError(f"only {len(faces)} faces found ({faces.source}); need at least 4 to train")
        if faces.sources is not None:
            return self._split_pairs(faces)
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

    def _split_pairs(self, faces: FaceSet) -> tuple[FaceSet, FaceSet]:
        """Pairs split by subject (nobody on both sides); the validation pairs ordered round-robin over their
        subjects, so its first pairs (the snapshot's) show different people. With ``paired_count`` N only N
        training pairs, drawn with the seed, stay labelled (their photo is a target); the others keep their
        depth map and photo but are unlabelled."""
        subjects = faces.meta["subject"]
        train_idx, val_idx = split_groups(subjects, self.val_fraction, self.seed)
        train, val = faces.subset(train_idx), faces.subset(val_idx[round_robin(subjects[val_idx])])
        if self.paired_count is not None:
            if self.paired_count < 0:
                raise FacegenError(f"--paired_count {self.paired_count}: give 0 or more pairs")
            keep = torch.randperm(len(train), generator=torch.Generator().manual_seed(self.seed))[:self.paired_count]
            labelled = torch.zeros(len(train), dtype=torch.bool)
            labelled[keep] = True
            train.labelled = labelled
        return train, val

    def load_unpaired(self) -> FaceSet | None:
        """The faces named by ``unpaired`` (decoded once, cached), or None."""
        if self.unpaired is None:
            return None
        faces = load_unpaired(self.unpaired, size=self.size, channels=self.channels, cache_dir=self.cache_dir,
                              num_workers=self.num_workers, toy_root=self.toy_dir, toy_n=self.toy_n)
        print(f"unpaired: {faces.source}")
        return faces


def round_robin(groups: torch.Tensor) -> torch.Tensor:
    """The order of positions that takes the first item of every group (groups in ascending id), then the second
    of every group that has one, and so on; items of a group keep their order."""
    order = torch.argsort(groups, stable=True)
    g = groups[order]
    n = len(g)
    starts = torch.ones(n, dtype=torch.bool)
    starts[1:] = g[1:] != g[:-1]
    positions = torch.arange(n)
    rank = positions - torch.cummax(torch.where(starts, positions, 0), 0).values
    rank_of_group = torch.unique(g, return_inverse=True)[1]
    return order[torch.argsort(rank * n + rank_of_group, stable=True)]
