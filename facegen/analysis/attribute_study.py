"""What attribute_vectors.py, modify_attribute.py and edit_directions.py do with a trained run:
encode its faces, compute attribute vectors and linear edit directions, edit faces and draw the results."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from facegen import plots
from facegen.analysis.attribute_data import attribute_column, attribute_faces, heldout, pick, resolve_attribute
from facegen.analysis.attributes import (
    VECTORS_FILE,
    AttributeVectors,
    Direction,
    cosine,
    edit_codes,
    load_vectors,
    mean_difference,
    project_out,
    save_vectors,
    svm_direction,
)
from facegen.analysis.latent import decode, encode_faces, encode_images
from facegen.core.files import write_json
from facegen.data.celeba import normalize_attr_name
from facegen.data.faceset import FaceSet
from facegen.data.photos import load_photos
from facegen.models.base import Model
from facegen.runs import Run

ATTRIBUTES_DIR = "attributes"
DIRECTIONS_DIR = "attributes/directions"


def vectors_table(vecs: AttributeVectors, groups: dict[str, AttributeVectors] | None) -> str:
    """One line per attribute: counts, vector length and, with groups, how alike the groups' vectors are."""
    head = f"{'attribute':<22}{'with':>7}{'without':>9}{'|vector|':>10}"
    if groups:
        head += f"   cosine({' vs '.join(groups)})"
    rows = [head]
    norms = np.linalg.norm(vecs.vectors, axis=1)
    for i, name in enumerate(vecs.names):
        row = f"{name:<22}{vecs.n_with[i]:>7}{vecs.n_without[i]:>9}{norms[i]:>10.3f}"
        if groups:
            a, b = (g.vectors[i] for g in groups.values())
            row += f"   {cosine(a, b):.3f}"
        rows.append(row)
    return "\n".join(rows)


def write_attribute_vectors(run: Run, model: Model, data: Path | None, attrs: Path | None,
                            by: str | None) -> Path:
    """Encode every face (posterior means), compute the 40 attribute vectors (and, with ``by``, the same
    within each value of that attribute), write attributes/attribute_vectors.npz and print a summary."""
    faces = attribute_faces(run, data, attrs)
    codes = encode_faces(model, faces)[0]
    vecs = mean_difference(codes, faces.meta["attrs"], faces.attr_names)
    groups = None
    if by:
        by = resolve_attribute(by, faces)
        has = attribute_column(faces, by) > 0
        groups = {f"{by}": mean_difference(codes[has], faces.meta["attrs"][has], faces.attr_names),
                  f"not {by}": mean_difference(codes[~has], faces.meta["attrs"][~has], faces.attr_names)}
    path = run.path / ATTRIBUTES_DIR / VECTORS_FILE
    save_vectors(path, vecs, groups, by or "")
    print(vectors_table(vecs, groups))
    missing = [n for i, n in enumerate(vecs.names) if vecs.n_with[i] == 0 or vecs.n_without[i] == 0]
    if missing:
        print(f"warning: no vector for {', '.join(missing)} (no face with, or none without, the attribute)")
    print(f"{len(faces)} faces encoded ({faces.source}); attribute vectors in {path}")
    return path


def amount_labels(amounts: list[float]) -> list[str]:
    return [f"{a:+g}" for a in amounts]


def edit_rows(model: Model, x: torch.Tensor, y: torch.Tensor, directions: list[torch.Tensor],
              amounts: list[float]) -> torch.Tensor:
    """(N * D, 1 + K, C, H, W): per face and direction, the input then the face's code moved by each amount
    along the direction, decoded with the face's own conditions (rows: face 1 with each direction, ...)."""
    z = encode_images(model, x, y)
    rows = []
    for i in range(len(x)):
        for d in directions:
            codes = edit_codes(z[i:i + 1], d, amounts)[0]
            rows.append(torch.cat([x[i:i + 1], decode(model, codes, y[i:i + 1].expand(len(amounts), -1))]))
    return torch.stack(rows)


def faces_for_edit(run: Run, name: str, n: int, having: bool, seed: int) -> FaceSet:
    """``n`` held-out faces of the run that have (or lack) the attribute ``name``."""
    faces = heldout(run, attribute_faces(run))
    has = attribute_column(faces, name) > 0
    return pick(faces, has if having else ~has, n, seed, f"among the held-out faces {'with' if having else 'without'} "
                f"{name}")


def modify_attribute(run: Run, model: Model, attribute: str, images: list[Path] | None,
                     n: int, having: bool, amounts: list[float], seed: int) -> Path:
    """Add multiples of an attribute's vector to faces' codes: held-out faces without it (with it, for
    ``having``) or the user's photos. Writes attributes/add_<attr>.png (remove_<attr>.png when no amount
    is positive): one row per face, the input then one column per amount."""
    vecs = load_vectors(run.path / ATTRIBUTES_DIR / VECTORS_FILE)
    name = normalize_attr_name(attribute, vecs.names)
    vector = vecs.vector(name)
    if images:
        x, names = load_photos(images, model.cfg.size, model.cfg.channels), [Path(p).name for p in images]
        y = torch.zeros(len(x), model.cond_dim)
    else:
        faces = faces_for_edit(run, name, n, having, seed)
        x, y, names = faces.images.float().div(255), faces.cond[:, :model.cond_dim], faces.names
    verb = "add" if max(amounts) > 0 else "remove"
    if verb == "remove":
        amounts = sorted(amounts, reverse=True)  # from the input outwards: 0, -0.25, ..., -2
    rows = edit_rows(model, x, y, [vector], amounts)
    path = run.path / ATTRIBUTES_DIR / f"{verb}_{name}.png"
    plots.save_labelled_rows(rows, names, path, f"{name}: code + amount x ({name} vector)",
                             ["input", *amount_labels(amounts)])
    print(f"{verb} {name} on {len(x)} faces, amounts {', '.join(amount_labels(amounts))}: {path}")
    return path


def edit_step(codes: torch.Tensor, labels: torch.Tensor) -> float:
    """The distance between the mean codes with and without an attribute: the length of one unit of edit
    along any direction, so vectors and directions move a code equally far."""
    has = labels > 0
    return float((codes[has].double().mean(0) - codes[~has].double().mean(0)).norm())


def fit_directions(codes: torch.Tensor, faces: FaceSet, target: str, conditions: list[str],
                   seed: int) -> tuple[Direction, list[Direction], np.ndarray]:
    """The SVM direction of ``target``, those of the conditioning attributes, and the target's direction
    with theirs projected out (the plain one when there are no conditions)."""
    plain = svm_direction(codes, attribute_column(faces, target), target, seed)
    given = [svm_direction(codes, attribute_column(faces, c), c, seed) for c in conditions]
    return plain, given, project_out(plain.normal, [d.normal for d in given])


def write_directions(run: Run, model: Model, attribute: str, condition: list[str], n: int,
                     amounts: list[float], seed: int) -> Path:
    """Fit linear-SVM edit directions on all codes, save them under attributes/directions/, and draw plain
    against conditioned edits on held-out faces that lack the attribute."""
    faces = attribute_faces(run)
    target = resolve_attribute(attribute, faces)
    conditions = [resolve_attribute(c, faces) for c in condition]
    conditions = [c for c in dict.fromkeys(conditions) if c != target]
    codes = encode_faces(model, faces)[0]
    plain, given, conditioned = fit_directions(codes, faces, target, conditions, seed)
    labels = attribute_column(faces, target)
    out = run.path / DIRECTIONS_DIR
    step = edit_step(codes, labels)
    summary = {"attribute": target, "accuracy": plain.accuracy, "balanced_accuracy": plain.balanced_accuracy,
               "n_train": plain.n_train, "n_test": plain.n_test, "step": step}
    out.mkdir(parents=True, exist_ok=True)
    np.savez(out / f"{target}.npz", normal=plain.normal, step=step, accuracy=plain.accuracy)
    print(f"{target}: linear SVM held-out accuracy {plain.accuracy:.3f} (balanced {plain.balanced_accuracy:.3f}, "
          f"{plain.n_train} train / {plain.n_test} test codes)")
    directions = [torch.from_numpy(plain.normal * step).float()]
    labels_rows = ["plain"]
    stem = target
    if conditions:
        stem = f"{target}_given_{'_'.join(conditions)}"
        summary["conditioned"] = {
            "conditions": conditions, "cosine_to_plain": float(plain.normal @ conditioned),
            "condition_accuracy": {d.attribute: d.accuracy for d in given},
            "plain_cosine_to_condition": {d.attribute: float(plain.normal @ d.normal) for d in given}}
        np.savez(out / f"{stem}.npz", normal=conditioned, step=step, conditions=np.array(conditions),
                 condition_normals=np.stack([d.normal for d in given]))
        for d in given:
            print(f"  condition {d.attribute}: SVM accuracy {d.accuracy:.3f}, cosine with {target} direction "
                  f"{plain.normal @ d.normal:+.3f}")
        print(f"  conditioned direction: cosine {plain.normal @ conditioned:.3f} with the plain one, orthogonal "
              f"to {', '.join(conditions)}")
        directions.append(torch.from_numpy(conditioned * step).float())
        labels_rows.append(f"given {','.join(conditions)}")
    write_json(out / f"{stem}.json", summary)
    sel = faces_for_edit(run, target, n, False, seed)
    rows = edit_rows(model, sel.images.float().div(255), sel.cond[:, :model.cond_dim], directions, amounts)
    row_names = [f"{face} {how}" for face in sel.names for how in labels_rows]
    path = out / f"{stem}.png"
    title = f"{target} along the SVM direction" + (f": plain vs. {', '.join(conditions)} held fixed"
                                                    if conditions else "")
    plots.save_labelled_rows(rows, row_names, path, title, ["input", *amount_labels(amounts)])
    print(f"directions and figure in {out} ({path.name})")
    return path
