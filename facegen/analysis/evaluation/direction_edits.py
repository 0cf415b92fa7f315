"""Measured edits: what moving along each direction does to faces, as the project's judges see it.

The faces are n prior samples (conditions drawn from the run's faces), so any run that can decode and sample is
measured the same way. For an attribute edit with unit direction u and distance t (latent units, one prior
standard deviation each), the faces the target's judge calls without the attribute get z + t u and those with it
z - t u; a condition edit shifts that condition column by +t or -t instead (in the condition's own units, e.g.
smile degrees). Per edit and distance:

- flips: the share of the first group the judge now calls with the attribute, and of the second now without it;
- the change of every judge's score per unit edit towards the attribute: over all faces, the mean of
  (after - before) for the first group and of -(after - before) for the second (a principal direction, which has
  no target, moves every face by +t and reports the mean of after - before): the entanglement matrix;
- feature move: the mean distance each face moved in the judges' feature space, divided by the mean distance
  between two different unedited faces (1 = as far as from one face to another).

Cosines between all the directions found (attribute directions of every method, top principal directions)
say which methods agree. Everything goes to RUN/steering/edits.csv, .md, .json and cosines.csv.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from facegen.analysis.directions.direction import Directions, cosine_matrix, prior_samples
from facegen.analysis.directions.principal import principal_directions
from facegen.analysis.directions.steering import Sampling, attribute_directions
from facegen.analysis.judges.by_attribute import Judges
from facegen.analysis.latent.space import decode
from facegen.core.errors import FacegenError
from facegen.core.files import write_csv, write_json, write_text
from facegen.core.stats import mean_pairwise_distance
from facegen.models.base import Model
from facegen.models.capabilities import Encoder
from facegen.runs import Run

STEERING_DIR = "steering"
MAX_JUDGE_COLUMNS = 5  # the markdown shows every judge up to this many, else the most moved ones


@dataclass
class Edit:
    """One way to move faces: along direction ``k`` of ``directions`` (a unit latent vector), or, without
    directions, by shifting condition column ``condition``."""

    label: str
    target: str | None  # the judged attribute the edit should add; None for a principal direction
    directions: Directions | None = None
    k: int = 0
    condition: int | None = None
    unit: str = "latent sd"

    @property
    def method(self) -> str:
        return "condition" if self.directions is None else self.directions.method

    @property
    def vector(self) -> np.ndarray | None:
        """The unit latent vector of a direction's edit, None for a condition's."""
        return None if self.directions is None else self.directions.vectors[self.k]


@dataclass
class Faces:
    """The unedited faces: codes, conditions, images, every judge's scores and the feature embedding."""

    z: torch.Tensor
    y: torch.Tensor
    scores: dict[str, np.ndarray]
    embedding: np.ndarray
    spread: float


def edited(model: Model, z: torch.Tensor, y: torch.Tensor, edit: Edit, t: np.ndarray) -> torch.Tensor:
    """Images of the faces moved by signed distances t (N,) along the edit."""
    t = torch.as_tensor(t, dtype=torch.float32)[:, None]
    if edit.vector is not None:
        return decode(model, z + t * torch.from_numpy(edit.vector).float()[None], y)
    y = y.clone()
    y[:, edit.condition] += t[:, 0]
    return decode(model, z, y)


def measure(model: Model, judges: Judges, faces: Faces, edit: Edit, distance: float) -> dict:
    """One row of the table (see the module docstring)."""
    names = list(faces.scores)
    before = faces.scores
    if edit.target is None:
        sign = np.ones(len(faces.z))
    else:
        sign = np.where(before[edit.target] > judges.get(edit.target).threshold, -1.0, 1.0)
    images = edited(model, faces.z, faces.y, edit, sign * distance)
    after = judges.scores(images, names)
    row = {"edit": edit.label, "method": edit.method, "target": edit.target or "", "unit": edit.unit,
           "distance": distance}
    if edit.target is not None:
        thr = judges.get(edit.target).threshold
        add, remove = sign > 0, sign < 0
        row.update(n_add=int(add.sum()), flips_add=_share(after[edit.target][add] > thr),
                   n_remove=int(remove.sum()), flips_remove=_share(after[edit.target][remove] <= thr))
    else:
        row.update(n_add=len(sign), flips_add=float("nan"), n_remove=0, flips_remove=float("nan"))
    for name in names:
        row[f"delta_{name}"] = float(np.mean(sign * (after[name] - before[name])))
    moved = np.linalg.norm(judges.embed(images) - faces.embedding, axis=1)
    row["feature_move"] = float(moved.mean() / faces.spread)
    return row


def _share(flags: np.ndarray) -> float:
    return float(flags.mean()) if len(flags) else float("nan")


def unedited(run: Run, model: Model, judges: Judges, n: int, seed: int) -> Faces:
    z, y = prior_samples(run, model, n, seed)
    images = decode(model, z, y)
    embedding = judges.embed(images)
    return Faces(z, y, judges.scores(images), embedding, float(mean_pairwise_distance(embedding)))


def default_attributes(judges: Judges) -> list[str]:
    """smile, gender and q(y|x)'s smile where judged; Smiling, Eyeglasses and Male with an attribute net."""
    return [a for a in ("smile", "gender", "smile_q", "Smiling", "Eyeglasses", "Male") if a in judges.names]


def default_methods(model: Model) -> list[str]:
    """interfacegan; mean_diff and svm too where the run can encode (they need the data's labels)."""
    return ["interfacegan"] + (["mean_diff", "svm"] if isinstance(model, Encoder) else [])


def edits_of(dirs: Directions, target: str | None) -> list[Edit]:
    """One edit per direction of a Directions (labels "<method> <name>")."""
    return [Edit(f"{dirs.method} {name}", target, dirs, k) for k, name in enumerate(dirs.names)]


def collect_edits(run: Run, model: Model, judges: Judges, attributes: list[str], methods: list[str],
                  principal: list[str], k: int, fixed: list[str], sampling: Sampling,
                  shifts: bool) -> tuple[list[Edit], dict[str, dict]]:
    """Every edit to measure and what each direction's method reported (accuracy, variance shares)."""
    edits, info = [], {}
    for attribute in attributes:
        target = judges.resolve(attribute)
        for method in methods:
            try:
                dirs = attribute_directions(run, model, method, attribute, fixed, judges, sampling)
            except FacegenError as e:
                if method == "interfacegan":
                    raise
                print(f"note: no {method} direction for {attribute}: {e}")
                continue
            edits += edits_of(dirs, target)
            info[f"{method} {target}"] = dirs.info
    for method in principal:
        dirs = principal_directions(run, model, method, k, sampling.n_samples, sampling.seed)
        edits += edits_of(dirs, None)
        info[method] = dirs.info
    if shifts:
        for col, name in enumerate(run.cond_names):
            target = name if name in judges.names else None
            edits.append(Edit(f"condition {name}", target, condition=col, unit=f"{name} units"))
    return edits, info


def evaluate_edits(run: Run, model: Model, judges: Judges, *, attributes: list[str], methods: list[str],
                   principal: list[str], k: int, distances: list[float], shifts: list[float], fixed: list[str],
                   n: int, sampling: Sampling) -> Path:
    """Measure every edit at every distance (condition edits at every shift) on n prior samples; write
    RUN/steering/edits.csv, .md, .json and cosines.csv, print the markdown and return the CSV's path."""
    if not judges.names:
        raise FacegenError(f"no judge can score this {run.model_name} run's faces: pass --judges RUN (a run with "
                           f"smile labels) or --classifier FILE (an attribute net)")
    edits, info = collect_edits(run, model, judges, attributes, methods, principal, k, fixed, sampling,
                                bool(shifts))
    faces = unedited(run, model, judges, n, sampling.seed + 1000)
    rows = []
    for edit in edits:
        for t in shifts if edit.condition is not None else distances:
            rows.append(measure(model, judges, faces, edit, t))
    vectors = [e for e in edits if e.vector is not None]
    cos = cosine_matrix(np.stack([e.vector for e in vectors])) if vectors else np.zeros((0, 0))
    out = run.path / STEERING_DIR
    write_csv(out / "edits.csv", list(rows[0]), [[r[k] for k in rows[0]] for r in rows])
    write_csv(out / "cosines.csv", ["", *[e.label for e in vectors]],
              [[e.label, *[f"{c:.4f}" for c in cos[i]]] for i, e in enumerate(vectors)])
    meta = {"run": str(run.path), "model": run.model_name, "n_faces": n, "distances": distances, "shifts": shifts,
            "judges": {name: {"what": j.what, "threshold": j.threshold} for name, j in judges.judges.items()},
            "feature_space": judges.feature_space, "baseline_positive_share":
                {name: float((s > judges.judges[name].threshold).mean()) for name, s in faces.scores.items()},
            "directions": info,
            "cosines": {"labels": [e.label for e in vectors], "targets": [e.target for e in vectors],
                        "matrix": cos.tolist()}}
    write_json(out / "edits.json", {**meta, "rows": rows})
    text = markdown(rows, list(faces.scores), meta)
    write_text(out / "edits.md", text + "\n")
    print(text)
    print(f"\n{len(edits)} edits measured on {n} prior samples: {out}/edits.csv, edits.md, edits.json, cosines.csv")
    return out / "edits.csv"


def _pct(v: float) -> str:
    return "–" if np.isnan(v) else f"{100 * v:.0f}%"


def markdown(rows: list[dict], judges: list[str], meta: dict) -> str:
    """The edits table (every judge's score change when there are few judges, else the target's, the most moved
    other's and the mean absolute change of the others) and the cosines between directions."""
    few = len(judges) <= MAX_JUDGE_COLUMNS
    cols = [f"Δ {j}" for j in judges] if few else ["Δ target", "most moved other", "mean \\|Δ\\| others"]
    head = ["edit", "distance", "flips: add", "flips: remove", *cols, "feature move"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        if few:
            deltas = [f"{r[f'delta_{j}']:+.3f}" for j in judges]
        else:
            others = {j: r[f"delta_{j}"] for j in judges if j != r["target"]}
            top = max(others, key=lambda j: abs(others[j]))
            target = f"{r['delta_' + r['target']]:+.3f}" if r["target"] else "–"
            deltas = [target, f"{top} {others[top]:+.3f}", f"{np.mean(np.abs(list(others.values()))):.3f}"]
        unit = "" if r["unit"] == "latent sd" else f" ({r['unit']})"
        flips = (f"{_pct(r['flips_add'])} of {r['n_add']} | {_pct(r['flips_remove'])} of {r['n_remove']}"
                 if r["target"] else "– | –")
        lines.append(f"| {r['edit']} | {r['distance']:g}{unit} | {flips} | " + " | ".join(deltas) +
                     f" | {r['feature_move']:.2f} |")
    targets = {r["target"] for r in rows if r["target"]}
    judged = "; ".join(f"{name}: {j['what']}, with it above {j['threshold']:g} "
                       f"({100 * meta['baseline_positive_share'][name]:.0f}% of the samples)"
                       for name, j in meta["judges"].items() if name in targets or len(meta["judges"]) <= 6)
    rest = len(meta["judges"]) - (len(targets) if len(meta["judges"]) > 6 else len(meta["judges"]))
    if rest:  # the attribute net's 40 judges: only the edited ones are spelled out
        judged += f"; and {rest} other judges (every one, with its share, in edits.json)"
    notes = [f"{meta['n_faces']} prior samples of the {meta['model']} run. Judges: {judged}. Feature move in "
             f"{meta['feature_space']}, relative to the mean distance between two samples."]
    labels, matrix = meta["cosines"]["labels"], np.array(meta["cosines"]["matrix"])
    # rows: the attribute directions (those with a target), or every direction when there are none
    rows = [i for i, t in enumerate(meta["cosines"]["targets"]) if t] or list(range(len(labels)))
    if labels:
        notes += ["", "Cosines between the directions (all pairs in cosines.csv):", "",
                  "| | " + " | ".join(labels) + " |", "|" + "---|" * (len(labels) + 1)]
        notes += [f"| {labels[i]} | " + " | ".join(f"{c:+.2f}" for c in matrix[i]) + " |" for i in rows]
    return "\n".join(lines + [""] + notes)
