"""What attribute_vectors.py, modify_attribute.py and edit_directions.py do with a trained run:
encode its faces, compute attribute vectors and linear edit directions, edit faces and draw the results."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from facegen import plots
from facegen.analysis.directions.attribute import (
    VECTORS_FILE,
    AttributeVectors,
    cosine,
    edit_codes,
    mean_difference,
    save_vectors,
)
from facegen.analysis.directions.direction import prior_samples
from facegen.analysis.directions.steering import (
    SAMPLING,
    Sampling,
    attribute_directions,
    dataset_attribute,
    dataset_labels,
)
from facegen.analysis.judges.by_attribute import Judges
from facegen.analysis.latent.attribute_faces import attribute_column, attribute_faces, heldout, pick, resolve_attribute
from facegen.analysis.latent.space import decode, encode_faces, encode_images
from facegen.core.errors import FacegenError
from facegen.core.files import write_json
from facegen.data.faceset import FaceSet
from facegen.data.photos import load_photos
from facegen.models.base import Model
from facegen.models.capabilities import Encoder
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


def edit_rows(model: Model, first: torch.Tensor, z: torch.Tensor, y: torch.Tensor, directions: list[torch.Tensor],
              amounts: list[float]) -> torch.Tensor:
    """(N * D, 1 + K, C, H, W): per face and direction, the image ``first`` (the input photo, or the decoded
    sample) then the face's code z moved by each amount along the direction, decoded with the face's own
    conditions (rows: face 1 with each direction, ...)."""
    rows = []
    for i in range(len(z)):
        for d in directions:
            codes = edit_codes(z[i:i + 1], d, amounts)[0]
            rows.append(torch.cat([first[i:i + 1], decode(model, codes, y[i:i + 1].expand(len(amounts), -1))]))
    return torch.stack(rows)


def faces_for_edit(run: Run, name: str, n: int, having: bool, seed: int, judges: Judges | None = None) -> FaceSet:
    """``n`` held-out faces of the run that have (or lack) the attribute ``name``: by the dataset's labels when
    it has them, else by the judge of ``name``."""
    faces = heldout(run, run.all_faces())
    try:
        labels = dataset_labels(faces, dataset_attribute(faces, name))
        mask = labels > 0 if having else labels < 0
    except FacegenError:
        if judges is None:
            raise
        judge = judges.get(name)
        scores = judge.score(faces.images)
        mask = torch.from_numpy(scores > judge.threshold if having else scores <= judge.threshold)
    return pick(faces, mask, n, seed, f"among the held-out faces {'with' if having else 'without'} {name}")


def samples_for_edit(run: Run, model: Model, judges: Judges, name: str, n: int,
                     seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Images, codes and conditions of ``n`` prior samples the judge of ``name`` calls without it (for runs
    that cannot encode real faces)."""
    z, y = prior_samples(run, model, max(8 * n, 64), seed + 7)
    images = decode(model, z, y)
    judge = judges.get(name)
    lacking = np.flatnonzero(judge.score(images) <= judge.threshold)[:n]
    if len(lacking) == 0:
        raise FacegenError(f"no prior sample is judged without {name}: nothing to add it to")
    idx = torch.from_numpy(lacking)
    return images[idx], z[idx], y[idx]


def modify_attribute(run: Run, model: Model, attribute: str, images: list[Path] | None, n: int, having: bool,
                     amounts: list[float], seed: int, method: str = "mean_diff", judges: Judges | None = None,
                     sampling: Sampling = SAMPLING) -> Path:
    """Add multiples of an attribute's direction (times its step: for mean_diff, the attribute vector itself) to
    faces' codes: held-out faces without it (with it, for ``having``) or the user's photos. Writes
    attributes/add_<attr>.png (remove_<attr>.png when no amount is positive; ``_<method>`` before .png unless
    mean_diff): one row per face, the input then one column per amount."""
    dirs = attribute_directions(run, model, method, attribute, [], judges, replace(sampling, seed=seed))
    name, vector = dirs.names[0], dirs.vector(0)
    if images:
        x, names = load_photos(images, model.size, model.channels), [Path(p).name for p in images]
        y = torch.zeros(len(x), model.cond_dim)
    else:
        faces = faces_for_edit(run, name, n, having, seed, judges)
        x, y, names = faces.images.float().div(255), faces.cond[:, :model.cond_dim], faces.names
    verb = "add" if max(amounts) > 0 else "remove"
    if verb == "remove":
        amounts = sorted(amounts, reverse=True)  # from the input outwards: 0, -0.25, ..., -2
    rows = edit_rows(model, x, encode_images(model, x, y), y, [vector], amounts)
    suffix = "" if method == "mean_diff" else f"_{method}"
    path = run.path / ATTRIBUTES_DIR / f"{verb}_{name}{suffix}.png"
    plots.save_labelled_rows(rows, names, path, f"{name}: code + amount x ({name} {method} step)",
                             ["input", *amount_labels(amounts)])
    print(f"{verb} {name} on {len(x)} faces ({method}), amounts {', '.join(amount_labels(amounts))}: {path}")
    return path


def write_directions(run: Run, model: Model, attribute: str, condition: list[str], n: int, amounts: list[float],
                     seed: int, method: str = "svm", judges: Judges | None = None,
                     sampling: Sampling = SAMPLING) -> Path:
    """Find an attribute's edit direction by ``method`` (and, with ``condition``, the same with those attributes'
    directions projected out), save it under attributes/directions/ (file names end in ``_<method>`` unless
    svm), and draw plain against conditioned edits on held-out faces that lack the attribute (prior samples the
    judge calls without it, for runs that cannot encode)."""
    dirs = attribute_directions(run, model, method, attribute, condition, judges, replace(sampling, seed=seed))
    info = dirs.info
    target, conditions = dirs.names[0], info.get("conditioned", {}).get("conditions", [])
    out = run.path / DIRECTIONS_DIR
    suffix = "" if method == "svm" else f"_{method}"
    stem = target + (f"_given_{'_'.join(conditions)}" if conditions else "") + suffix
    summary = {k: info[k] for k in ("attribute", "accuracy", "balanced_accuracy", "n_train", "n_test", "step")}
    summary["method"] = method
    out.mkdir(parents=True, exist_ok=True)
    np.savez(out / f"{target}{suffix}.npz", normal=dirs.vectors[0], step=info["step"], accuracy=info["accuracy"])
    what = {"svm": "linear SVM", "interfacegan": "InterFaceGAN SVM on judged samples"}.get(method, method)
    print(f"{target}: {what} held-out accuracy {info['accuracy']:.3f} (balanced {info['balanced_accuracy']:.3f}, "
          f"{info['n_train']} train / {info['n_test']} test codes)" if method != "mean_diff"
          else f"{target}: difference of the mean codes, length {info['step']:.3f}")
    if conditions:
        cond = info["conditioned"]
        summary["conditioned"] = {k: v for k, v in cond.items() if k != "condition_normals"}
        np.savez(out / f"{stem}.npz", normal=dirs.vectors[1], step=info["step"], conditions=np.array(conditions),
                 condition_normals=np.array(cond["condition_normals"]))
        for c in conditions:
            print(f"  condition {c}: accuracy {cond['condition_accuracy'][c]:.3f}, cosine with {target} direction "
                  f"{cond['plain_cosine_to_condition'][c]:+.3f}")
        print(f"  conditioned direction: cosine {cond['cosine_to_plain']:.3f} with the plain one, orthogonal "
              f"to {', '.join(conditions)}")
    write_json(out / f"{stem}.json", summary)
    if isinstance(model, Encoder):
        sel = faces_for_edit(run, target, n, False, seed, judges)
        x, y, row_names = sel.images.float().div(255), sel.cond[:, :model.cond_dim], sel.names
        z = encode_images(model, x, y)
    else:
        x, z, y = samples_for_edit(run, model, judges, target, n, seed)
        row_names = [f"sample {i + 1}" for i in range(len(z))]
    how = ["plain", *[f"given {','.join(conditions)}"] * bool(conditions)]
    rows = edit_rows(model, x, z, y, [dirs.vector(i) for i in range(len(dirs))], amounts)
    path = out / f"{stem}.png"
    title = f"{target} along the {method} direction" + (f": plain vs. {', '.join(conditions)} held fixed"
                                                         if conditions else "")
    plots.save_labelled_rows(rows, [f"{face} {h}" for face in row_names for h in how], path, title,
                             ["input" if isinstance(model, Encoder) else "sample", *amount_labels(amounts)])
    print(f"directions and figure in {out} ({path.name})")
    return path
