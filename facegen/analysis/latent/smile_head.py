"""Using the inference head q(y|x) of a semi-supervised run: predicted smile degrees, and how good they are."""

from __future__ import annotations

import math
from pathlib import Path

import torch

from facegen.core.batching import batched
from facegen.core.errors import FacegenError
from facegen.data.cache import decode_images, list_images
from facegen.data.faceset import FaceSet
from facegen.models.capabilities import SmilePredictor
from facegen.runs import Run


def predict(model: SmilePredictor, images: torch.Tensor) -> torch.Tensor:
    """Mean smile degree of q(y|x) for (N, C, H, W) images (uint8, or float in [0, 1]), shape (N,), on the CPU."""
    model.eval()
    return batched(model.predict_smile, images, device=next(model.parameters()).device)


def predict_folder(model: SmilePredictor, run: Run, folder: Path) -> dict[str, float]:
    """File name -> predicted degree for every image in ``folder``, decoded the way the run's faces were."""
    paths = list_images(folder)
    images = decode_images(paths, size=run.size, channels=run.channels,
                           cache_dir=run.data.cache_dir)
    return dict(zip((p.name for p in paths), predict(model, images).tolist(), strict=True))


def heldout_error(model: SmilePredictor, train: FaceSet, val: FaceSet) -> dict:
    """q(y|x)'s error on the labelled validation faces, beside the mean predictor (the mean labelled training
    degree): mean absolute error, root mean squared error, and correlation of prediction and label."""
    val = val.subset(torch.nonzero(val.labelled).flatten())
    if len(val) == 0:
        raise FacegenError("the run's validation split holds no labelled faces: nothing to measure q(y|x) on")
    truth = val.cond[:, 0].double()
    pred = predict(model, val.images).double()
    mean = float(train.cond[train.labelled, 0].double().mean())
    corr = torch.corrcoef(torch.stack([pred, truth]))[0, 1].item() if len(val) > 1 else math.nan
    return {"n_heldout": len(val), "mae": float((pred - truth).abs().mean()),
            "rmse": float((pred - truth).square().mean().sqrt()), "correlation": corr, "mean_degree": mean,
            "mae_mean_predictor": float((mean - truth).abs().mean()),
            "rmse_mean_predictor": float((mean - truth).square().mean().sqrt())}
