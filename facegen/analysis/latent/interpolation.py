"""Interpolating between two faces in latent space: which pairs (two photos, two face ids, random pairs,
pairs with and without an attribute, of the same or of different gender) and the figure of the paths."""

from __future__ import annotations

from pathlib import Path

import torch

from facegen import plots
from facegen.analysis.latent.attribute_faces import (
    attribute_column,
    attribute_faces,
    face_index,
    gender,
    heldout,
    resolve_attribute,
)
from facegen.analysis.latent.space import decode, encode_images, interpolate
from facegen.core.errors import FacegenError
from facegen.data.faceset import FaceSet
from facegen.data.photos import load_photos
from facegen.models.base import Model
from facegen.runs import Run

MODES = ("random", "attribute", "same_gender", "different_gender")
INTERP_DIR = "interp"


def _draw(pool: torch.Tensor, gen: torch.Generator, avoid: int = -1) -> int:
    """One position from ``pool`` (a 1-D tensor of positions), other than ``avoid``."""
    pool = pool[pool != avoid]
    return int(pool[torch.randint(len(pool), (1,), generator=gen)])


def pick_pairs(faces: FaceSet, mode: str, n_pairs: int, seed: int,
               attribute: str | None = None) -> list[tuple[int, int]]:
    """``n_pairs`` pairs of positions (A, B): random; A with the attribute and B without; or of the same or
    different gender (A a man, B a woman)."""
    gen = torch.Generator().manual_seed(seed)
    everyone = torch.arange(len(faces))
    if mode == "random":
        pools = (everyone, everyone)
    elif mode == "attribute":
        has = attribute_column(faces, attribute) > 0
        pools = (has.nonzero().squeeze(1), (~has).nonzero().squeeze(1))
    else:
        g = gender(faces)
        men, women = (g == 1).nonzero().squeeze(1), (g == 0).nonzero().squeeze(1)
        pools = (men, women)
    pairs = []
    for k in range(n_pairs):
        a_pool, b_pool = pools
        if mode == "same_gender":
            a_pool = b_pool = pools[k % 2]  # alternately two men and two women
        if len(a_pool) == 0 or len(b_pool) == 0 or (len(a_pool) == 1 and a_pool.equal(b_pool)):
            raise FacegenError(f"not enough faces for {mode.replace('_', ' ')} pairs among {len(faces)} faces: "
                               f"use more faces or another --pairs mode")
        a = _draw(a_pool, gen)
        pairs.append((a, _draw(b_pool, gen, avoid=a)))
    return pairs


def interpolation_rows(model: Model, xa: torch.Tensor, ya: torch.Tensor, xb: torch.Tensor, yb: torch.Tensor,
                       steps: int) -> torch.Tensor:
    """(P, steps + 2, C, H, W): face A, the decoded straight path from A's code to B's (conditions
    interpolated alongside), face B."""
    za, zb = encode_images(model, xa, ya), encode_images(model, xb, yb)
    z, y = interpolate(za, zb, steps), interpolate(ya, yb, steps)  # (steps, P, ...)
    path = decode(model, z.flatten(0, 1), y.flatten(0, 1)).unflatten(0, (steps, len(xa))).transpose(0, 1)
    return torch.cat([xa[:, None], path, xb[:, None]], dim=1)


def write_interpolations(run: Run, model: Model, *, images: list[Path] | None,
                         ids: list[str] | None, mode: str, attribute: str | None, n_pairs: int, steps: int,
                         seed: int) -> Path:
    """Draw the interpolations into interp/: ``files.png``, ``ids_A_B.png`` or ``<mode>.png``."""
    def take(faces: FaceSet, idx: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
        sub = faces.subset(torch.tensor(idx))
        return sub.images.float().div(255), sub.cond[:, :model.cond_dim]

    if images:
        if len(images) != 2:
            raise FacegenError(f"--images takes exactly two photos (got {len(images)})")
        x, names = load_photos(images, model.size, model.channels), [Path(p).name for p in images]
        y = torch.zeros(2, model.cond_dim)
        (xa, xb), (ya, yb), labels = x.split(1), y.split(1), [f"{names[0]} -> {names[1]}"]
        path = run.path / INTERP_DIR / "files.png"
    elif ids:
        if len(ids) != 2:
            raise FacegenError(f"--ids takes exactly two face ids (got {len(ids)})")
        faces = run.all_faces()
        a, b = (face_index(faces, i) for i in ids)
        (xa, ya), (xb, yb) = take(faces, [a]), take(faces, [b])
        labels = [f"{faces.names[a]} -> {faces.names[b]}"]
        path = run.path / INTERP_DIR / f"ids_{Path(faces.names[a]).stem}_{Path(faces.names[b]).stem}.png"
    else:
        faces = heldout(run, attribute_faces(run) if mode == "attribute" else run.all_faces())
        if mode == "attribute":
            if not attribute:
                raise FacegenError("--pairs attribute needs --attribute NAME (e.g. Smiling)")
            attribute = resolve_attribute(attribute, faces)
        pairs = pick_pairs(faces, mode, n_pairs, seed, attribute)
        (xa, ya), (xb, yb) = take(faces, [a for a, _ in pairs]), take(faces, [b for _, b in pairs])
        labels = [f"{faces.names[a]} -> {faces.names[b]}" for a, b in pairs]
        path = run.path / INTERP_DIR / (f"with_without_{attribute}.png" if mode == "attribute" else f"{mode}.png")
    rows = interpolation_rows(model, xa, ya, xb, yb, steps)
    t = [f"{v:.2f}" for v in torch.linspace(0, 1, steps).tolist()]
    title = "" if images or ids else {"attribute": f"from a face with {attribute} to one without",
                                      "same_gender": "same gender", "different_gender": "man to woman",
                                      "random": "random pairs"}[mode]
    plots.save_labelled_rows(rows, labels, path, title, ["A", *t, "B"])
    print(f"{len(rows)} interpolation(s), {steps} steps: {path}")
    return path
