"""How good the trained attribute net is: per-attribute held-out accuracy against the majority baseline; and
the self-contained ``attribute_net.pt`` file that other runs (the DFC-VAE, evaluate_attributes.py) point at."""

from __future__ import annotations

import torch

from facegen.core.files import write_json
from facegen.data.faceset import FaceSet
from facegen.nn.attrnet import NET_FILE, predict_probs, save_attribute_net
from facegen.runs import Run


def majority_accuracy(train: FaceSet, val: FaceSet) -> torch.Tensor:
    """Per-attribute held-out accuracy of always answering the training set's majority: the bar to beat."""
    majority = (train.cond > 0).float().mean(0) > 0.5
    return ((val.cond > 0) == majority).float().mean(0)


def accuracy(net: torch.nn.Module, faces: FaceSet) -> torch.Tensor:
    """Per-attribute accuracy (n_attrs,) of the net on ``faces`` (threshold 0.5; targets are their y)."""
    return ((predict_probs(net, faces.images) > 0.5) == (faces.cond > 0)).float().mean(0)


def table(names: list[str], acc: torch.Tensor, base: torch.Tensor) -> str:
    rows = [f"{'attribute':<22}{'accuracy':>9}{'majority':>9}"]
    rows += [f"{n:<22}{a:>9.3f}{b:>9.3f}" for n, a, b in zip(names, acc.tolist(), base.tolist(), strict=True)]
    rows.append(f"{'mean':<22}{acc.mean().item():>9.3f}{base.mean().item():>9.3f}")
    return "\n".join(rows)


def report(run: Run) -> dict:
    """Score the run's attribute net on its held-out faces; write ``metrics.json`` and ``attribute_net.pt``."""
    train, val = run.faces()
    model = run.load_model("cpu")
    acc, base = accuracy(model.net, val), majority_accuracy(train, val)
    names = list(train.cond_names)
    metrics = {"mean_accuracy": acc.mean().item(), "mean_majority_accuracy": base.mean().item(),
               "accuracy": dict(zip(names, acc.tolist(), strict=True)),
               "majority_accuracy": dict(zip(names, base.tolist(), strict=True)),
               "n_train": len(train), "n_heldout": len(val)}
    save_attribute_net(run.path / NET_FILE, model.net, names, metrics)
    write_json(run.path / "metrics.json", metrics)
    print(table(names, acc, base))
    print(f"held-out mean accuracy {metrics['mean_accuracy']:.3f} (majority baseline "
          f"{metrics['mean_majority_accuracy']:.3f}); net in {run.path / NET_FILE}")
    return metrics
