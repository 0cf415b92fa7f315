"""What a model trains on, declared once (DataNeeds): the flags it brings, the stream the trainer feeds, the
condition size; and the training scripts' own defaults (with_defaults) and a study's data as training flags."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
import torch

from facegen.cli.training import data_flags, data_spec, parse_training_args, with_defaults
from facegen.core.errors import FacegenError
from facegen.data.faceset import FaceSet
from facegen.data.needs import DataNeeds, Targets
from facegen.data.spec import DataSpec
from facegen.models.registry import model_class

DATA_FLAGS = {"--unlabeled", "--max_unlabeled", "--pairs", "--paired_count", "--labeled_fraction", "--unpaired"}


def flags_of(needs: DataNeeds) -> set[str]:
    p = argparse.ArgumentParser()
    needs.add_flags(p.add_argument_group("data"))
    return {o for a in p._actions for o in a.option_strings} & DATA_FLAGS


@pytest.mark.parametrize(("needs", "flags"), [
    (DataNeeds(), set()),
    (DataNeeds(unlabelled=True), {"--unlabeled", "--max_unlabeled", "--labeled_fraction"}),
    (DataNeeds(pairs=True), {"--pairs"}),
    (DataNeeds(pairs=True, unpaired=True), {"--pairs", "--unpaired"}),
    (DataNeeds(pairs=True, unlabelled=True, unpaired=True), {"--pairs", "--paired_count", "--labeled_fraction",
                                                             "--unpaired"}),
])
def test_the_needs_bring_their_flags_and_labeled_fraction_once(needs, flags):
    assert flags_of(needs) == flags


def test_each_registered_model_offers_the_data_flags_of_its_needs():
    """sscvae mixes in unlabelled faces, d2f_semi pairs without a photo and unpaired faces, a CVAE none of it."""
    assert model_class("sscvae").data_needs == DataNeeds(unlabelled=True)
    assert model_class("d2f_semi").data_needs == DataNeeds(pairs=True, unlabelled=True, unpaired=True)
    assert model_class("cvae").data_needs == DataNeeds()
    assert model_class("identity").data_needs.targets is Targets.PERSON
    args = parse_training_args(model_class("d2f_semi"), ["--paired_count", "3", "--labeled_fraction", "0.5"])
    assert (args.paired_count, args.labeled_fraction, args.pairs, args.unpaired) == (3, 0.5, None, None)
    with pytest.raises(SystemExit):
        parse_training_args(model_class("cvae"), ["--labeled_fraction", "0.5"])


def faces(labelled: list[bool], cond: list[float] | None = None) -> FaceSet:
    n = len(labelled)
    y = torch.tensor(cond if cond is not None else [0.0] * n)[:, None]
    return FaceSet(images=torch.zeros(n, 3, 4, 4, dtype=torch.uint8), cond=y, cond_names=["smile"],
                   labelled=torch.tensor(labelled), names=[f"{i}.png" for i in range(n)], source="test")


def test_the_trainer_mixes_only_for_needs_with_unlabelled_examples_and_both_kinds_present():
    some = faces([True, False, True, False])
    assert DataNeeds(unlabelled=True).mixed(some) and DataNeeds(pairs=True, unlabelled=True).mixed(some)
    assert not DataNeeds().mixed(some)  # a model that takes no unlabelled examples is fed one stream
    assert not DataNeeds(unlabelled=True).mixed(faces([True, True]))  # --max_unlabeled 0: the labelled baseline
    with pytest.raises(FacegenError, match="no labelled training faces"):
        DataNeeds(unlabelled=True).check(faces([False, False]), "sscvae")
    DataNeeds(pairs=True, unlabelled=True).check(faces([False, False]), "d2f_semi")  # --paired_count 0 is allowed


def test_person_targets_size_the_condition_by_the_training_people():
    train = faces([True] * 3, [0.0, 4.0, 2.0])
    every = faces([True] * 5, [0.0, 4.0, 2.0, 5.0, 6.0])
    assert DataNeeds(Targets.PERSON).cond_dim(every, train) == 5  # classes 0 .. 4 train; 5, 6 are held out
    assert DataNeeds().cond_dim(every, train) == 1


def test_a_study_data_spec_round_trips_through_the_training_flags():
    spec = DataSpec(dataset="toy", size=48, channels=1, conditions=["smile"], cache_dir=Path("c"), num_workers=1,
                    toy_dir=Path("t"), toy_n=99, val_fraction=0.25, seed=7, labels=Path("l.txt"))
    args = parse_training_args(model_class("ae"), data_flags(spec))
    assert data_spec(args, model_class("ae")) == spec


def test_a_scripts_defaults_yield_to_given_flags_and_to_resume():
    defaults = {"--resize": "64", "--out": "results/x", "--data": "d"}
    assert with_defaults(["--lr", "1"], defaults, {}) == ["--resize", "64", "--out", "results/x", "--data", "d",
                                                         "--lr", "1"]
    assert with_defaults(["--resize=32"], defaults, {}) == ["--out", "results/x", "--data", "d", "--resize=32"]
    assert with_defaults(["--resume"], defaults, {}) == ["--out", "results/x", "--resume"]  # the run holds the rest
    assert with_defaults(["--dataset", "toy"], defaults, {"--dataset": ("--data",)}) == \
        ["--resize", "64", "--out", "results/x", "--dataset", "toy"]
