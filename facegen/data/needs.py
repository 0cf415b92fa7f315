"""What data a kind of model trains on, declared once on its class (``Model.data_needs``): the data flags its
training script offers, what :class:`~facegen.data.spec.DataSpec` loads, and which stream the trainer feeds."""

from __future__ import annotations

import argparse
import enum
from dataclasses import dataclass
from pathlib import Path

from facegen.core.argtypes import nonnegative_int, open_unit
from facegen.core.errors import FacegenError
from facegen.data.faceset import FaceSet
from facegen.data.unpaired import unpaired_arg

LABELED_FRACTION = 0.25  # --labeled_fraction's default: the labelled share of a batch that mixes in unlabelled ones


class Targets(enum.Enum):
    """What a face's condition vector y holds."""

    CONDITIONS = "conditions"  # the --conditions columns (smile degree, gender, age, a CelebA attribute)
    ATTRIBUTES = "attributes"  # every CelebA attribute as +1 / -1 (a classifier's targets)
    PERSON = "person"  # one column: the person's class number (training people 0 .. T-1, held-out people above)


@dataclass(frozen=True)
class DataNeeds:
    """The data of a model's training. ``pairs``: depth -> face pairs (--pairs DIR, else the toy pairs) instead
    of faces; ``unlabelled``: some examples lack their target (faces without a label, --unlabeled; pairs without
    their photo, --paired_count), and the trainer then feeds a mixed stream with a fixed labelled share per batch
    (--labeled_fraction); ``unpaired``: real faces drawn apart from the training data (--unpaired), handed to
    ``Model.use_unpaired``."""

    targets: Targets = Targets.CONDITIONS
    pairs: bool = False
    unlabelled: bool = False
    unpaired: bool = False

    def add_flags(self, group: argparse._ArgumentGroup) -> None:
        """The data flags these needs bring to a training script."""
        if self.unlabelled and not self.pairs:
            group.add_argument("--unlabeled", type=Path, default=None,
                               help="folder of unlabelled faces (e.g. data/UTKFace)")
            group.add_argument("--max_unlabeled", type=nonnegative_int, default=None,
                               help="use at most N unlabelled faces (0: none, the labelled-only baseline of the same "
                                    "model)")
        if self.pairs:
            group.add_argument("--pairs", type=Path, default=None,
                               help="folder of depth -> face pairs (pairs.csv, or depth/ + photo/ subfolders paired "
                                    "by file name); default: the toy pairs drawn into --toy_dir")
        if self.pairs and self.unlabelled:
            group.add_argument("--paired_count", type=nonnegative_int, default=None,
                               help="only N training pairs (drawn with --seed) keep their photo as target; the "
                                    "others serve as depth maps alone (default: all)")
        if self.unlabelled:
            what = "target pairs" if self.pairs else "labelled faces"
            rest = "those without" if self.pairs else "the unlabelled faces"
            group.add_argument("--labeled_fraction", type=open_unit, default=LABELED_FRACTION,
                               help=f"share of {what} in every batch, strictly between 0 and 1, when some are "
                                    f"without (an epoch is one pass over {rest})")
        if self.unpaired:
            group.add_argument("--unpaired", type=unpaired_arg, default=None,
                               help="real faces for the discriminator: a folder of photos (UTKFace, LFW, CelebA or "
                                    "any) or 'toy'; default: the training pairs' photos, never shown with their "
                                    "depth maps")

    def flag_values(self, args: argparse.Namespace) -> dict:
        """The values of the data flags :meth:`add_flags` brought, by DataSpec field (None for those it did not)."""
        names = ("unlabeled", "max_unlabeled", "pairs", "paired_count", "unpaired")
        return {name: getattr(args, name, None) for name in names}

    def mixed(self, train: FaceSet) -> bool:
        """Whether the trainer feeds ``train`` as a mixed stream: labelled and unlabelled examples, a fixed share
        of each per batch. Needs without ``unlabelled`` never do; with it, only when both kinds are there."""
        return self.unlabelled and bool(train.labelled.any()) and not bool(train.labelled.all())

    def check(self, train: FaceSet, model: str) -> None:
        """Refuse in one line training faces these needs cannot train on."""
        if self.unlabelled and not self.pairs and not train.labelled.any():
            raise FacegenError(f"no labelled training faces in {train.source}: the {model} needs --labels FILE "
                               f"naming faces in --data DIR")

    def cond_dim(self, faces: FaceSet, train: FaceSet) -> int:
        """The model's cond_dim: the number of condition columns, or for person targets (one column of class
        numbers) the number of classes, i.e. of training people."""
        if self.targets is Targets.PERSON:
            return int(train.cond[:, 0].max()) + 1
        return len(faces.cond_names)
