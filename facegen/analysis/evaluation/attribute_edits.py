"""How well attribute edits work, judged by the project's attribute classifier (train_feature_net.py).

For each attribute and each way of editing (difference-of-means vector, SVM direction, SVM direction with
the conditioning attributes projected out), held-out faces without the attribute get it added and faces with
it get it removed, all moving each code equally far (``amount`` times the distance between the two classes'
mean codes, the length of the difference-of-means vector).
Success is the share of edited faces the classifier now calls positive (added) or negative (removed);
entanglement is how much the classifier's probabilities for the other attributes moved, compared with the
unedited reconstructions; target change is the mean move of its own probability in the intended direction.
"""

from __future__ import annotations

from pathlib import Path

import torch

from facegen.analysis.directions.attribute import check_both_classes, cosine
from facegen.analysis.directions.attribute_figures import ATTRIBUTES_DIR
from facegen.analysis.directions.steering import AttributeSource, Sampling, attribute_directions
from facegen.analysis.latent.attribute_faces import attribute_column, attribute_faces, heldout, pick, resolve_attribute
from facegen.analysis.latent.space import decode, encode_images
from facegen.core.errors import FacegenError
from facegen.core.files import write_csv, write_json
from facegen.data.faceset import FaceSet
from facegen.models.base import Model
from facegen.nn.attrnet import load_attribute_net, predict_probs
from facegen.runs import Run

COLUMNS = ["attribute", "method", "amount", "added_before", "added_after", "removed_before", "removed_after",
           "target_change", "other_change", "other_flips", "condition_change", "cosine_to_mean_difference", "diverged"]


def _judge(before: torch.Tensor, after: torch.Tensor, cols: dict) -> dict:
    """From classifier probabilities (N, A) before and after an edit: the target's positive share before /
    after, its mean change, and how much the other and the conditioning attributes moved. Faces whose edited
    code decodes to non-finite pixels (a flow's inverse can diverge far from the data) are left out of every
    share and counted in ``diverged``."""
    ok = torch.isfinite(after).all(1) & torch.isfinite(before).all(1)
    diverged = 1 - ok.float().mean().item()
    before, after = before[ok], after[ok]
    t, others, conds = cols["target"], cols["others"], cols["conditions"]
    change = (after - before).abs()
    flips = ((after > 0.5) != (before > 0.5))[:, others].float().sum(1)
    return {"before": (before[:, t] > 0.5).float().mean().item(), "after": (after[:, t] > 0.5).float().mean().item(),
            "target_change": (after[:, t] - before[:, t]).mean().item(),
            "other_change": change[:, others].mean().item(), "other_flips": flips.mean().item(),
            "condition_change": change[:, conds].mean().item() if conds else float("nan"), "diverged": diverged}


def _methods(run: Run, model: Model, source: AttributeSource, target: str, conds: list[str],
             seed: int, svm: bool = True) -> dict[str, torch.Tensor]:
    """The three edits of one attribute, all as long as its difference-of-means vector (only the first without
    ``svm``)."""
    sampling = Sampling(seed=seed)
    mean_diff = attribute_directions(run, model, "mean_diff", target, [], sampling=sampling, source=source)
    if not svm:
        return {"mean difference": mean_diff.vector(0)}
    fitted = attribute_directions(run, model, "svm", target, conds, sampling=sampling, source=source)
    methods = {"mean difference": mean_diff.vector(0), "SVM": fitted.vector(0)}
    if conds:
        methods[f"SVM given {','.join(conds)}"] = fitted.vector(1)
    return methods


def _rows(model: Model, net, held: FaceSet, target: str, methods: dict[str, torch.Tensor], cols: dict,
          amounts: list[float], n: int, seed: int) -> list[dict]:
    """One row per method and amount: add to held-out faces without the attribute, remove from faces with it."""
    has = attribute_column(held, target) > 0
    sets = {"add": pick(held, ~has, n, seed, f"among the held-out faces without {target}"),
            "remove": pick(held, has, n, seed, f"among the held-out faces with {target}")}
    encoded = {}
    for what, sel in sets.items():
        y = sel.cond[:, :model.cond_dim]
        z = encode_images(model, sel.images.float().div(255), y)
        encoded[what] = (z, y, predict_probs(net, decode(model, z, y)))
    mean_diff = methods["mean difference"].numpy()
    rows = []
    for method, d in methods.items():
        for amount in amounts:
            res = {}
            for what, sign in (("add", 1.0), ("remove", -1.0)):
                z, y, before = encoded[what]
                res[what] = _judge(before, predict_probs(net, decode(model, z + sign * amount * d, y)), cols)
            a, r = res["add"], res["remove"]
            rows.append({"attribute": target, "method": method, "amount": amount, "added_before": a["before"],
                         "added_after": a["after"], "removed_before": 1 - r["before"], "removed_after": 1 - r["after"],
                         "target_change": (a["target_change"] - r["target_change"]) / 2,
                         "other_change": (a["other_change"] + r["other_change"]) / 2,
                         "other_flips": (a["other_flips"] + r["other_flips"]) / 2,
                         "condition_change": (a["condition_change"] + r["condition_change"]) / 2,
                         "diverged": (a["diverged"] + r["diverged"]) / 2,
                         "cosine_to_mean_difference": cosine(d.numpy(), mean_diff)})
    return rows


def evaluate_attributes(run: Run, model: Model, classifier: Path, attributes: list[str],
                        condition: list[str], amounts: list[float], n: int, seed: int, device: torch.device,
                        svm: bool = True) -> Path:
    """Write attributes/evaluation.csv, .json and .md (one row per attribute, method and amount) and print
    the table. Without ``svm`` only the difference-of-means vectors are judged (no SVM is fitted: on a flow's
    codes, as large as the image, each fit takes minutes)."""
    net, net_names = load_attribute_net(classifier)
    net.to(device)
    faces = attribute_faces(run)
    missing = [a for a in faces.attr_names if a not in net_names]
    if missing:
        raise FacegenError(f"the classifier {classifier} does not predict {', '.join(missing)}: train it on "
                           f"CelebA's attributes with train_feature_net.py")
    targets = faces.attr_names if attributes == ["all"] else [resolve_attribute(a, faces) for a in attributes]
    conditions = list(dict.fromkeys(resolve_attribute(c, faces) for c in condition))
    source = AttributeSource(run, model, "data", sampling=Sampling(seed=seed))
    held = heldout(run, faces)
    rows = []
    for target in targets:
        labels = attribute_column(faces, target)
        if attributes == ["all"] and min((labels > 0).sum(), (labels < 0).sum()) < 2:
            continue
        check_both_classes(labels.numpy(), target)
        conds = [c for c in conditions if c != target]
        cols = {"target": net_names.index(target), "conditions": [net_names.index(c) for c in conds],
                "others": [i for i, a in enumerate(net_names) if a != target]}
        methods = _methods(run, model, source, target, conds, seed, svm)
        rows += _rows(model, net, held, target, methods, cols, amounts, n, seed)
    out = run.path / ATTRIBUTES_DIR
    write_csv(out / "evaluation.csv", COLUMNS, [[r[c] for c in COLUMNS] for r in rows])
    write_json(out / "evaluation.json", {"classifier": str(classifier), "conditions": conditions, "n_faces": n,
                                         "amounts": amounts, "rows": rows})
    table = markdown_table(rows)
    (out / "evaluation.md").write_text(table + "\n")
    print(table)
    print(f"evaluation of {len(targets)} attribute(s) in {out}/evaluation.csv, .json, .md")
    return out / "evaluation.csv"


def markdown_table(rows: list[dict]) -> str:
    """The table as Markdown: shares in %, changes as mean |delta probability|."""
    head = ("| attribute | method | amount | added: positive before -> after | removed: negative before -> after | "
            "target: mean change | other 39: mean abs. change | other 39: flips per face | "
            "conditions: mean abs. change | cosine to mean diff. | decodes not finite (left out) |")
    lines = [head, "|" + "---|" * 11]
    for r in rows:
        lines.append(f"| {r['attribute']} | {r['method']} | {r['amount']:g} | {100 * r['added_before']:.0f}% -> "
                     f"{100 * r['added_after']:.0f}% | {100 * r['removed_before']:.0f}% -> "
                     f"{100 * r['removed_after']:.0f}% | {r['target_change']:+.3f} | {r['other_change']:.3f} | "
                     f"{r['other_flips']:.2f} | "
                     f"{r['condition_change']:.3f} | {r['cosine_to_mean_difference']:.2f} | "
                     f"{100 * r['diverged']:.0f}% |")
    return "\n".join(lines)

