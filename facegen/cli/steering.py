"""The flags every steering script shares (--method, the judges, InterFaceGAN's sampling) and what they build."""

from __future__ import annotations

import argparse
from pathlib import Path

from facegen.analysis.directions.steering import Sampling
from facegen.analysis.judges.by_attribute import Judges
from facegen.core.argtypes import int_at_least, open_unit
from facegen.models.base import Model
from facegen.runs import Run


def add_method_arg(p: argparse.ArgumentParser, methods: tuple[str, ...], default: str) -> None:
    p.add_argument("--method", default=default, choices=methods,
                   help="how the direction is found (docs/steering.md): " + ", ".join(methods))


def add_judge_args(p: argparse.ArgumentParser) -> None:
    """Which judges label samples and measure edits, and how InterFaceGAN samples."""
    g = p.add_argument_group("judges and sampling")
    g.add_argument("--classifier", type=Path, default=None,
                   help="attribute net (train_feature_net.py) that judges CelebA attributes "
                        "(default: results/feature_net/attribute_net.pt when it exists)")
    g.add_argument("--judges", type=Path, default=None,
                   help="a run whose cached smile regressor and gender classifier judge (default: this run's, "
                        "fitted on its labelled faces on first use)")
    g.add_argument("--samples", type=int_at_least(20), default=2000,
                   help="prior samples InterFaceGAN labels and GANSpace analyses")
    g.add_argument("--share", type=open_unit, default=0.3,
                   help="InterFaceGAN: the share of samples at each end of the judge's scores kept for the SVM "
                        "(at most 0.5)")


def judges_from(args: argparse.Namespace, run: Run, model: Model) -> Judges:
    return Judges(run, model, args.classifier, args.judges)


def sampling_from(args: argparse.Namespace) -> Sampling:
    return Sampling(n_samples=args.samples, share=args.share, seed=args.seed)
