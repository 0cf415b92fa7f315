"""Does a smile edit keep the person? Plain decoding against residual editing, on faces the run never saw.

For each face x with its own condition y: z = mean of q(z | x, y); plain decoding gives the reconstruction
decode(z, y) and the forced faces decode(z, y with smile -1 / +1); residual editing gives
x + M (decode(z, y_new) - decode(z, y)) (:mod:`facegen.analysis.editing.residual`).
A third candidate, masked replacement, puts the model's edited face itself where the change is:
(1 - M) x + M decode(z, y_new). Per-photo inversion (:mod:`facegen.analysis.editing.inversion`) adds four: the
MAP code z* of the photo decoded at y_new ("inverted") with its residual edit and masked replacement, and the same
with a decoder copy tuned on the photo at z* ("pivotal", pivotal tuning). Each output is then measured by
- identity kept: the identity judge's distance to x, the share under its "same person" threshold and under
  its strict one (1 % false accepts), and the share *identified* (the output's nearest original among the
  set is its own); x and the outputs are cut to the run's framing box, fitted once from its mean face;
- smile: the project's smile regressor on the faces forced to -1 and +1; a face *flips* when the regressor
  calls its -1 version not smiling (< 0) and its +1 version smiling (> 0);
- gender: the share of faces on which the project's gender classifier changes its call (female iff
  p > 0.5) between x and the output.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from facegen import plots
from facegen.analysis.editing import inversion
from facegen.analysis.editing.methods import METHODS, method_name, own_degree
from facegen.analysis.editing.residual import masked_replace, residual_edit
from facegen.analysis.judges import pixel
from facegen.analysis.judges.identity import IdentityJudge
from facegen.analysis.judges.judge import Judge
from facegen.analysis.latent import space
from facegen.core.errors import FacegenError
from facegen.core.files import write_json
from facegen.data import resolve_data
from facegen.data.cache import decode_images, list_images
from facegen.data.faceset import FaceSet
from facegen.data.framing import Box
from facegen.data.utkface import parse_utk_name
from facegen.models.base import Model
from facegen.nn.identity import cosine_distance
from facegen.runs import Run

LEVELS = (-1.0, 1.0)


def unseen_faces(run: Run, n: int, seed: int = 0) -> tuple[torch.Tensor, list[str]]:
    """Up to ``n`` faces (uint8) drawn at random from the run's image folder among those it never trained on and
    that are not its labelled validation faces (the other set measured), decoded as the run's were. A
    semi-supervised run trained on most of the folder: its held-out unlabelled faces are among these."""
    d = run.data
    folder = resolve_data(d.data, d.labels, d.dataset, d.toy_dir, d.attrs, d.toy_n)[1]
    train, val = run.faces()
    known = set(train.names) | {val.names[i] for i in torch.nonzero(val.labelled).flatten().tolist()}
    paths = [p for p in list_images(folder) if p.name not in known]
    if not paths:
        raise FacegenError(f"every face in {folder} is among the run's faces: there are none it never saw")
    pick = np.sort(np.random.default_rng(seed).permutation(len(paths))[:n])
    chosen = [paths[i] for i in pick]
    images = decode_images(chosen, size=run.size, channels=run.channels, cache_dir=None, desc="decoding unseen faces")
    return images, [p.name for p in chosen]


def own_conditions(model: Model, run: Run, images: torch.Tensor, smile: Judge) -> torch.Tensor:
    """Conditions for faces without a label: their own smile degree (:func:`own_degree`), other columns 0."""
    return space.condition_vector(run, own_degree(model, smile, images), len(images))


def genders_from_names(names: list[str]) -> np.ndarray:
    """0 male / 1 female / -1 unknown from UTKFace file names."""
    return np.array([g if (g := parse_utk_name(n).get("gender")) in (0, 1) else -1 for n in names])


def _forced(model: Model, run: Run, z: torch.Tensor, y: torch.Tensor) -> dict[float, torch.Tensor]:
    """Codes z decoded with the smile of y set to each of :data:`LEVELS`."""
    with torch.no_grad():
        return {level: space.decode(model, z, space.condition_vector(run, level, len(z), base=y)) for level in LEVELS}


def _edits(prefix: str, x: torch.Tensor, rec: torch.Tensor,
           forced: dict[float, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The reconstruction, the forced faces, their residual edits and masked replacements, named by ``prefix``
    (:func:`method_name`)."""
    applied = {"": lambda level: forced[level], "residual": lambda level: residual_edit(x, rec, forced[level]),
               "replace": lambda level: masked_replace(x, rec, forced[level])}
    return {f"{prefix} reconstruction".strip(): rec,
            **{f"{method_name(prefix, kind)} {level:+g}": edit(level)
               for kind, edit in applied.items() for level in LEVELS}}


def outputs(model: Model, run: Run, x: torch.Tensor, y: torch.Tensor, inversion_steps: int = 0,
            pivotal_steps: int = 0) -> dict[str, torch.Tensor]:
    """The reconstruction and, for each method, the faces forced to smile -1 and +1 (floats in [0, 1]); the
    inverted and pivotal candidates only with ``inversion_steps`` (and ``pivotal_steps``) > 0."""
    with torch.no_grad():
        mu = space.encode_images(model, x, y)
        rec = space.decode(model, mu, y)
    out = _edits("", x, rec, _forced(model, run, mu, y))
    if inversion_steps <= 0:
        return out
    z = inversion.invert_codes(model, x, y, mu, steps=inversion_steps)
    with torch.no_grad():
        rec_z = space.decode(model, z, y)
    out.update(_edits("inverted", x, rec_z, _forced(model, run, z, y)))
    if pivotal_steps <= 0:
        return out
    parts: list[tuple[torch.Tensor, dict[float, torch.Tensor]]] = []
    for i, tuned in enumerate(inversion.tuned_models(model, x, y, z, steps=pivotal_steps)):
        with torch.no_grad():
            parts.append((space.decode(tuned, z[i:i + 1], y[i:i + 1]), _forced(tuned, run, z[i:i + 1], y[i:i + 1])))
    rec_t = torch.cat([r for r, _ in parts])
    forced_t = {level: torch.cat([f[level] for _, f in parts]) for level in LEVELS}
    out.update(_edits("pivotal", x, rec_t, forced_t))
    return out


def framing(judge: IdentityJudge, run: Run) -> tuple[Box, float]:
    """The box of the run's faces that frames a face as the identity net's crops do, fitted on the mean of all
    the run's faces (and its correlation with the identity run's mean face)."""
    return judge.box_for(run.all_faces().images)


def measure(judge: IdentityJudge, smile: Judge | None, gender: Judge | None, x: torch.Tensor,
            out: dict[str, torch.Tensor], framed: tuple[Box, float]) -> dict:
    """Identity kept for every output; smile flips and gender changes per method (see the module docstring)."""
    box, fit = framed
    e = judge.embeddings(x, box)
    result: dict = {"n_faces": len(x), "framing_box": list(box), "framing_fit": fit, "identity": {}, "distances": {}}
    for name, images in out.items():
        f = judge.embeddings(images, box)
        result["distances"][name] = cosine_distance(e, f).tolist()
        result["identity"][name] = judge.summarise(e, f)
    called = None if gender is None else gender.score(x) > gender.threshold
    for method in [m for m in METHODS if f"{m} -1" in out]:
        row: dict = {}
        low, high = out[f"{method} -1"], out[f"{method} +1"]
        d_low = torch.tensor(result["distances"][f"{method} -1"])
        d_high = torch.tensor(result["distances"][f"{method} +1"])
        row["identity_kept_both"] = float(((d_low <= judge.threshold) & (d_high <= judge.threshold)).float().mean())
        if smile is not None:
            p_low, p_high = smile.score(low), smile.score(high)
            row.update(smile_at_minus_1=float(p_low.mean()), smile_at_plus_1=float(p_high.mean()),
                       smile_flip_rate=float(((p_low < 0) & (p_high > 0)).mean()))
        if called is not None:
            row.update({f"gender_change_at_{tag}": float(((gender.score(img) > gender.threshold) != called)
                                                         .mean()) for tag, img in (("minus_1", low), ("plus_1", high))})
            row["female_share_original"] = float(called.mean())
            row["female_share_at_plus_1"] = float((gender.score(high) > gender.threshold).mean())
        result[method] = row
    if called is not None:
        result["gender_change_recon"] = {
            name: float(((gender.score(images) > gender.threshold) != called).mean())
            for name, images in out.items() if name.endswith("reconstruction")}
    return result


def method_columns(method: str) -> list[str]:
    """The outputs that show one method: its reconstruction and its faces at smile -1 and +1."""
    prefix = method.split()[0] if method.split()[0] in ("inverted", "pivotal") else ""
    return [f"{prefix} reconstruction".strip(), *(f"{method} {level:+g}" for level in LEVELS)]


def plot_strip(x: torch.Tensor, out: dict[str, torch.Tensor], distances: dict[str, list[float]], threshold: float,
               path: Path, title: str, n: int = 8, columns: list[str] | None = None) -> None:
    """original | the outputs (all, or ``columns``), one face per row, each output with its identity distance
    to the original under it (green, "ok": the same person)."""
    import matplotlib.pyplot as plt

    names = ["original", *(columns or out)]
    n = min(n, len(x))
    fig, axes = plt.subplots(n, len(names), figsize=(1.35 * len(names), 1.45 * n + 0.4), squeeze=False)
    for i in range(n):
        for j, name in enumerate(names):
            ax = axes[i, j]
            img = (x if name == "original" else out[name])[i].float().clamp(0, 1)
            ax.imshow(img.permute(1, 2, 0).squeeze(-1).numpy(), cmap="gray" if img.shape[0] == 1 else None,
                      vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            if name != "original":
                d = distances[name][i]
                ax.set_xlabel(f"{d:.2f}{' ok' if d <= threshold else ''}", fontsize=7, labelpad=1,
                              color="tab:green" if d <= threshold else "tab:red")
            if i == 0:
                ax.set_title(name, fontsize=7)
    fig.suptitle(title, fontsize=8)
    fig.tight_layout()
    plots.save_figure(fig, path)


def identity_kept(model: Model, run: Run, judge: IdentityJudge, faces: FaceSet) -> dict:
    """evaluate.py's identity numbers on ``faces`` (with their own conditions): reconstruction and plain
    decoding at smile -1 and +1, each as mean distance and share called the same person."""
    x = faces.images.float() / 255
    out = outputs(model, run, x, faces.cond)
    plain = {k: v for k, v in out.items() if not k.startswith("residual")}
    m = measure(judge, None, None, x, plain, framing(judge, run))
    return {"identity_run": str(judge.path), "threshold": judge.threshold, "n_faces": len(x),
            "framing_box": m["framing_box"], **m["identity"]}


def study(run: Run, model: Model, judge: IdentityJudge, n_unseen: int = 200, seed: int = 0,
          inversion_steps: int = 0, pivotal_steps: int = 0) -> dict:
    """Every editing candidate on the run's labelled validation faces (their own degree) and on ``n_unseen``
    faces of its folder it never saw (the degree q(y|x) or the smile regressor gives them); writes
    RUN/identity/editing.json, one strip of every output per set (RUN/identity/editing_SET.png) and one per set
    and method (editing_SET_METHOD.png: original | reconstruction | -1 | +1)."""
    space.require_conditional(run, "forcing smiles")
    train, val = run.faces()
    if not pixel.has_smiles(train):
        raise FacegenError("the run's faces carry too few smile labels to fit the smile regressor")
    smile = pixel.load_or_fit(run.path, pixel.SMILE, train, val)
    gender = pixel.load_or_fit(run.path, pixel.GENDER, train, val) if pixel.has_genders(train) else None
    sets = {}
    labelled = val.subset(torch.nonzero(val.labelled).flatten())
    if len(labelled):
        sets["validation"] = (labelled.images.float() / 255, labelled.cond, labelled.names)
    if n_unseen > 0:
        images, names = unseen_faces(run, n_unseen, seed)
        sets["unseen"] = (images.float() / 255, own_conditions(model, run, images, smile), names)
    result: dict = {"identity_run": str(judge.path), "threshold": judge.threshold, "sets": {}}
    folder = run.path / "identity"
    framed = framing(judge, run)
    for name, (x, y, files) in sets.items():
        out = outputs(model, run, x, y, inversion_steps, pivotal_steps)
        m = measure(judge, smile, gender, x, out, framed)
        m["own_smile_mean"] = float(y[:, 0].mean())
        known = genders_from_names(files)
        if (known >= 0).any():
            m["female_share_by_file_name"] = float((known[known >= 0] == 1).mean())
        result["sets"][name] = m
        plot_strip(x, out, m["distances"], judge.threshold, folder / f"editing_{name}.png",
                   f"{run.model_name} run {run.path.name}, {name} faces: identity distance under each "
                   f"(same person: <= {judge.threshold:.2f})")
        for method in [k for k in METHODS if f"{k} -1" in out]:
            plot_strip(x, out, m["distances"], judge.threshold,
                       folder / f"editing_{name}_{method.replace(' ', '_')}.png",
                       f"{method}: {name} faces, identity distance to the original under each "
                       f"(same person: <= {judge.threshold:.2f})", columns=method_columns(method))
    write_json(folder / "editing.json", result)
    return result


def _pair(lo: dict, hi: dict, key: str, spec: str = ".0%") -> str:
    if key not in lo:
        return "n/a"
    return f"{format(lo[key], spec)} / {format(hi[key], spec)}"


def study_table(result: dict) -> list[str]:
    """The candidates' table, one row per face set and output (markdown)."""
    lines = ["| faces | output | same person at -1 / +1 (both) | strict, 1 % false accepts | identified among the set "
             "| mean distance | smile flip rate | smile judged at -1 / +1 | gender call changed at -1 / +1 |",
             "|---|---|---|---|---|---|---|---|---|"]
    for name, m in result["sets"].items():
        for method in [k for k in METHODS if k in m]:
            recon = method_columns(method)[0]
            if method in ("plain", "inverted", "pivotal"):
                rec = m["identity"][recon]
                strict = f"{rec['share_same_strict']:.0%}" if "share_same_strict" in rec else "n/a"
                gender = m.get("gender_change_recon", {}).get(recon, float("nan"))
                lines.append(f"| {name} ({m['n_faces']}) | {recon} | {rec['share_same']:.0%} | {strict} | "
                             f"{rec['share_identified']:.0%} | {rec['mean_distance']:.3f} | | | {gender:.0%} |")
            lo, hi, row = m["identity"][f"{method} -1"], m["identity"][f"{method} +1"], m[method]
            gender = (f"{row['gender_change_at_minus_1']:.0%} / {row['gender_change_at_plus_1']:.0%}"
                      if "gender_change_at_plus_1" in row else "n/a")
            lines.append(f"| {name} ({m['n_faces']}) | {method} | {_pair(lo, hi, 'share_same')} "
                         f"({row['identity_kept_both']:.0%}) | {_pair(lo, hi, 'share_same_strict')} | "
                         f"{_pair(lo, hi, 'share_identified')} | {_pair(lo, hi, 'mean_distance', '.3f')} | "
                         f"{row['smile_flip_rate']:.0%} | {row['smile_at_minus_1']:+.2f} / "
                         f"{row['smile_at_plus_1']:+.2f} | {gender} |")
    return lines
