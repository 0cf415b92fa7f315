"""Training the attribute net from the command line: data, split, fit, held-out accuracy, files."""

from __future__ import annotations

import argparse
import time

import torch

from facegen.attrnet import accuracy, attribute_targets, save_attribute_net, train_attribute_net
from facegen.cli import pick_device
from facegen.core.errors import FacegenError
from facegen.data.faceset import FaceSet
from facegen.experiment import load_faces, split_faces
from facegen.run import write_json
from facegen.train import seed_everything

NET_FILE = "attribute_net.pt"


def majority_accuracy(train: FaceSet, val: FaceSet) -> torch.Tensor:
    """Per-attribute held-out accuracy of always answering the training set's majority: the bar to beat."""
    majority = attribute_targets(train).mean(0) > 0.5
    return (attribute_targets(val).bool() == majority).float().mean(0)


def accuracy_table(names: list[str], acc: torch.Tensor, base: torch.Tensor) -> str:
    rows = [f"{'attribute':<22}{'accuracy':>9}{'majority':>9}"]
    rows += [f"{n:<22}{a:>9.3f}{b:>9.3f}" for n, a, b in zip(names, acc.tolist(), base.tolist(), strict=True)]
    rows.append(f"{'mean':<22}{acc.mean().item():>9.3f}{base.mean().item():>9.3f}")
    return "\n".join(rows)


def train_feature_net(args: argparse.Namespace) -> dict:
    """Fit the attribute net on the run's training split, score it on the held-out split, write
    ``attribute_net.pt`` and ``metrics.json`` into ``args.out``; returns the metrics."""
    args.out = args.out.resolve()
    if (args.out / NET_FILE).exists() and not args.overwrite:
        raise FacegenError(f"{args.out / NET_FILE} already exists: pass --overwrite to replace it, or --out NEW_DIR")
    device = pick_device(args.device)
    seed_everything(args.seed)
    faces = load_faces(args)
    attribute_targets(faces)  # a clear error for data without attribute labels, before any training
    train, val = split_faces(faces, args)
    print(f"dataset: {faces.source}; {len(train)} training / {len(val)} held-out faces at {faces.size} px")
    start = time.perf_counter()
    net, history = train_attribute_net(train, val, n_epochs=args.n_epochs, lr=args.lr, batch_size=args.batch_size,
                                       device=device, seed=args.seed)
    seconds = time.perf_counter() - start
    acc, base = accuracy(net, val, device), majority_accuracy(train, val)
    metrics = {"mean_accuracy": acc.mean().item(), "mean_majority_accuracy": base.mean().item(),
               "accuracy": dict(zip(faces.attr_names, acc.tolist(), strict=True)),
               "majority_accuracy": dict(zip(faces.attr_names, base.tolist(), strict=True)),
               "n_train": len(train), "n_heldout": len(val), "train_seconds": round(seconds, 1), "history": history,
               "args": {k: str(v) for k, v in vars(args).items()}}
    save_attribute_net(args.out / NET_FILE, net.cpu(), faces.attr_names, metrics)
    write_json(args.out / "metrics.json", metrics)
    print(accuracy_table(faces.attr_names, acc, base))
    print(f"held-out mean accuracy {metrics['mean_accuracy']:.3f} (majority baseline "
          f"{metrics['mean_majority_accuracy']:.3f}); trained in {seconds:.0f} s; net in {args.out / NET_FILE}")
    return metrics
