"""Numbers about a trained run: reconstruction, smile control, forcing, diversity and gender bias."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from facegen import plots
from facegen.analysis.evaluation import edit_identity
from facegen.analysis.judges import pixel
from facegen.analysis.judges.identity import load_judge
from facegen.analysis.judges.judge import Judge
from facegen.analysis.latent import smile_head, space
from facegen.core.errors import FacegenError
from facegen.core.files import write_json
from facegen.core.stats import mean_pairwise_distance
from facegen.data.batches import DeviceFaces
from facegen.data.cache import list_images
from facegen.data.faceset import FaceSet
from facegen.data.labels import read_smile_labels
from facegen.data.utkface import parse_utk_name
from facegen.models.base import Model
from facegen.models.capabilities import EvidenceBound, Likelihood, SmilePredictor
from facegen.runs import Run

DEGREES = [round(-1 + 0.25 * i, 2) for i in range(9)]  # requested degrees -1 ... +1
N_PER_DEGREE = 64
N_FACES = 64  # real validation faces used for forcing and diversity
N_RECON = 512  # validation faces reconstructed as the gender classifier's baseline
MOUTH = (0.55, 0.88, 0.25, 0.75)  # top, bottom, left, right of the mouth box, as fractions of the image


@torch.no_grad()
def reconstruction(model: Model, val: FaceSet, seed: int) -> dict:
    """Validation MSE per pixel (inputs in [0, 1]) of the posterior-mean reconstruction, and the ELBO
    -(reconstruction loss + KL) per face in the training loss's units (None for an autoencoder, and for models
    without a pixel ELBO such as the VAE-GAN, whose likelihood lives in its discriminator's features)."""
    torch.manual_seed(seed)
    device = next(model.parameters()).device
    sq, nll, n = 0.0, 0.0, 0
    has_elbo = isinstance(model, EvidenceBound)
    for batch in DeviceFaces(val, device).in_order(space.BATCH):
        recon = model.decode(model.encode(batch.x, batch.y)[0], batch.y)
        sq += (recon - batch.x).square().mean((1, 2, 3)).sum().item()
        if has_elbo:
            nll -= model.elbo(batch.x, batch.y, batch.labelled).item() * len(batch.x)
        n += len(batch.x)
    return {"n_val": n, "val_mse_per_pixel": sq / n, "val_elbo": -nll / n if has_elbo else None}


@torch.no_grad()
def likelihood(model: Model, val: FaceSet, seed: int) -> dict:
    """Held-out bits per dimension of a model with an exact likelihood (a flow), dequantisation noise drawn from
    ``seed``: the mean over the validation faces, and its standard error."""
    torch.manual_seed(seed)
    device = next(model.parameters()).device
    bpd = torch.cat([model.bits_per_dim(b.x, b.y).double().cpu()
                     for b in DeviceFaces(val, device).in_order(space.BATCH)])
    return {"n_val": len(bpd), "n_bits": model.n_bits, "val_bits_per_dim": bpd.mean().item(),
            "standard_error": (bpd.std() / len(bpd) ** 0.5).item() if len(bpd) > 1 else None}


def mean_pairwise_rms(images: torch.Tensor) -> float:
    """Mean root-mean-square pixel distance between all pairs of images (0 when they are all the same): the mean
    pairwise Euclidean distance divided by the square root of the number of values per image."""
    return float(mean_pairwise_distance(images.double())) / images[0].numel() ** 0.5


def mouth_mask(size: int) -> torch.Tensor:
    """Boolean (size, size) mask of the mouth box."""
    top, bottom, left, right = (round(f * size) for f in MOUTH)
    mask = torch.zeros(size, size, dtype=torch.bool)
    mask[top:bottom, left:right] = True
    return mask


def gender_by_smile(gender: np.ndarray, degree: np.ndarray) -> dict:
    """Counts of female / male / unknown faces among smiling (degree > 0) and not smiling faces, and the
    share female among those whose gender is known."""
    out = {}
    for group, rows in (("smiling", degree > 0), ("not_smiling", degree <= 0)):
        g = gender[rows]
        counts = {"female": int((g == 1).sum()), "male": int((g == 0).sum()), "unknown": int((g < 0).sum())}
        known = counts["female"] + counts["male"]
        out[group] = {**counts, "share_female": counts["female"] / known if known else None}
    return out


def _labelled_faces(faces: FaceSet, n: int) -> FaceSet:
    idx = torch.nonzero(faces.labelled).flatten() if faces.labelled.any() else torch.arange(len(faces))
    return faces.subset(idx[:n])


def smile_control(model: Model, run: Run, smile: Judge, z: torch.Tensor) -> tuple[dict, torch.Tensor]:
    """The regressor's degree for samples decoded at each requested degree (the same codes z at every degree):
    correlation and least-squares slope of predicted on requested degree (1 is perfect control; the
    correlation alone ignores how large the response is), mean and sd per degree; also returns the samples
    (D, N, C, H, W)."""
    samples = space.degree_sweep(model, run, z, DEGREES)
    pred = smile.score(samples.flatten(0, 1)).reshape(len(DEGREES), len(z))
    requested = np.repeat(DEGREES, len(z))
    corr = np.corrcoef(requested, pred.ravel())[0, 1] if pred.std() > 0 else 0.0
    slope = np.polyfit(requested, pred.ravel(), 1)[0]
    return {"degrees": DEGREES, "n_per_degree": len(z), "correlation": float(corr), "slope": float(slope),
            "mean_predicted": pred.mean(1).tolist(), "sd_predicted": pred.std(1).tolist()}, samples


def forcing(model: Model, run: Run, smile: Judge, faces: FaceSet) -> dict:
    """Real faces encoded with their own degree, decoded with the degree set to -1 and to +1: the change in
    predicted degree, and the mean absolute pixel change inside and outside the mouth box."""
    x = faces.images.float() / 255
    mu = space.encode_images(model, x, faces.cond)
    low = space.decode(model, mu, space.condition_vector(run, -1.0, len(x), base=faces.cond))
    high = space.decode(model, mu, space.condition_vector(run, 1.0, len(x), base=faces.cond))
    p_low, p_high = smile.score(low), smile.score(high)
    change = (high - low).abs().mean(1)  # (N, H, W)
    mask = mouth_mask(change.shape[-1])
    inside, outside = change[:, mask].mean().item(), change[:, ~mask].mean().item()
    return {"n_faces": len(x), "predicted_at_minus_1": float(p_low.mean()), "predicted_at_plus_1": float(p_high.mean()),
            "predicted_change": float((p_high - p_low).mean()), "pixel_change_inside_mouth": inside,
            "pixel_change_outside_mouth": outside, "outside_over_inside": outside / inside if inside > 0 else None}


def bias(model: Model, gender: Judge, samples: torch.Tensor, train: FaceSet, val: FaceSet) -> dict:
    """Share of samples called female at each degree, against the labelled data's share among smiling and
    not smiling faces; the gaps (smiling minus not smiling) say whether the model exaggerates the skew.
    ``reconstructions`` is the classifier's share on reconstructed validation faces: its baseline on the
    model's (blurrier) images."""
    share = [float((gender.score(s) > gender.threshold).mean()) for s in samples]
    labelled = train.subset(torch.nonzero(train.labelled).flatten())
    data = gender_by_smile(labelled.meta["gender"].numpy(), labelled.cond[:, 0].numpy())
    smiling, not_smiling = data["smiling"]["share_female"], data["not_smiling"]["share_female"]
    data_gap = smiling - not_smiling if smiling is not None and not_smiling is not None else None
    x = val.images[:N_RECON].float() / 255
    recon = space.decode(model, space.encode_images(model, x, val.cond[:N_RECON]), val.cond[:N_RECON])
    return {"degrees": DEGREES, "share_female": share, "data": data, "data_gap": data_gap,
            "model_gap": share[-1] - share[0],
            "reconstructions": float((gender.score(recon) > gender.threshold).mean())}


def gender_control(model: Model, run: Run, gender: Judge, z: torch.Tensor) -> dict:
    """For runs conditioned on gender: the share of samples the classifier calls female when decoded as male
    (gender -1) and as female (+1), each at smile -1 and +1 (the same codes z throughout). A smiling man
    and a serious woman are what a model whose smiles come out female cannot draw."""
    out = {}
    for who, g in (("male", -1.0), ("female", 1.0)):
        for degree in (-1.0, 1.0):
            x = space.decode(model, z, space.condition_vector(run, degree, len(z), gender=g))
            out[f"{who}_smile_{degree:+g}"] = float((gender.score(x) > gender.threshold).mean())
    return out


def evaluate_run(run: Run, model: Model, seed: int = 0, judges: Path | None = None,
                 identity: Path | None = None) -> dict:
    """Every number of ``metrics.json`` (written into ``run``), with its figures in ``run/plots``.

    Smile control, forcing and bias need a conditional model; the smile and gender judges need labelled
    smiles and known genders among the run's faces (or come from the run ``judges``, which must have been
    evaluated). ``identity``: an identity run (verified); it adds whether the reconstructions and the forced
    faces are still the same person as the input
    (:func:`facegen.analysis.evaluation.edit_identity.identity_kept`). What cannot be measured is left out."""
    train, val = run.faces()
    result: dict = ({"likelihood": likelihood(model, val, seed)} if isinstance(model, Likelihood)
                    else {"reconstruction": reconstruction(model, val, seed)})
    result.update(evaluators={}, judges_from=str(judges or run.path))
    if judges is not None:  # another run's judges, so that two runs are measured by the same yardstick
        smile, gender = pixel.load_from(judges, pixel.SMILE), pixel.load_from(judges, pixel.GENDER)
    else:
        smile = pixel.load_or_fit(run.path, pixel.SMILE, train, val) if pixel.has_smiles(train) else None
        gender = (pixel.load_or_fit(run.path, pixel.GENDER, train, val) if pixel.has_genders(train)
                  else None)
    for name, judge in ((pixel.SMILE, smile), (pixel.GENDER, gender)):
        if judge is not None:
            result["evaluators"][name] = judge.heldout
    z = space.prior_noise(N_PER_DEGREE, model.latent_size, seed)
    real = _labelled_faces(val, N_FACES)
    if run.cond_names and smile is not None:
        control, samples = smile_control(model, run, smile, z)
        result["smile_control"] = control
        plots.plot_response(DEGREES, control["mean_predicted"], control["sd_predicted"],
                            run.path / "plots/smile_response.png", f"smile control (r = {control['correlation']:.2f})",
                            "requested smile degree", "predicted smile degree (regressor)")
        result["forcing"] = forcing(model, run, smile, real)
        if gender is not None:
            b = result["bias"] = bias(model, gender, samples, train, val)
            plots.plot_bias_by_degree(DEGREES, b["share_female"], b["data"]["not_smiling"]["share_female"],
                                      b["data"]["smiling"]["share_female"], run.path / "plots/bias_by_degree.png",
                                      reference=b["reconstructions"])
        if gender is not None and "gender" in run.cond_names:
            result["gender_control"] = gender_control(model, run, gender, z)
    if identity is not None and run.cond_names:
        judge = load_judge(identity, next(model.parameters()).device)
        result["identity"] = edit_identity.identity_kept(model, run, judge, real)
    if isinstance(model, SmilePredictor) and val.labelled.any():
        result["smile_inference"] = smile_head.heldout_error(model, train, val)
    fixed = space.decode(model, z, space.condition_vector(run, 0.0, len(z)))
    result["diversity"] = {"degree": 0.0, "samples": mean_pairwise_rms(fixed),
                           "real_faces": mean_pairwise_rms(real.images.float() / 255)}
    result["diversity"]["ratio"] = result["diversity"]["samples"] / result["diversity"]["real_faces"]
    write_json(run.path / "metrics.json", result)
    return result


def _num(v: float | None, spec: str = ".2f") -> str:
    return "n/a" if v is None else format(v, spec)


def summary(m: dict) -> list[str]:
    """A short table of the headline numbers."""
    e = m["evaluators"]
    if "likelihood" in m:
        q = m["likelihood"]
        lines = [f"likelihood       held-out {q['val_bits_per_dim']:.4f} bits/dim at {q['n_bits']} bits "
                 f"(+- {_num(q['standard_error'], '.4f')}, {q['n_val']} faces)"]
    else:
        r = m["reconstruction"]
        lines = [f"reconstruction   val MSE/pixel {r['val_mse_per_pixel']:.4f}, val ELBO {_num(r['val_elbo'], '.1f')} "
                 f"({r['n_val']} faces)"]
    if pixel.SMILE in e:
        s = e[pixel.SMILE]
        lines.append(f"smile regressor  held-out MAE {_num(s.get('mae'), '.3f')}, r {_num(s.get('correlation'))} "
                     f"({s['n_train']} train / {s['n_heldout']} held-out faces)")
    if pixel.GENDER in e:
        g = e[pixel.GENDER]
        lines.append(f"gender classif.  held-out accuracy {_num(g.get('accuracy'))} "
                     f"({g['n_train']} train / {g['n_heldout']} held-out faces)")
    if "smile_control" in m:
        c, f = m["smile_control"], m["forcing"]
        means = " ".join(f"{v:+.2f}" for v in c["mean_predicted"])
        lines += [f"smile control    correlation {c['correlation']:.2f}, slope {c['slope']:.2f}; mean predicted at "
                  f"-1..+1: {means}",
                  f"forcing          predicted {f['predicted_at_minus_1']:+.2f} at -1, {f['predicted_at_plus_1']:+.2f} "
                  f"at +1; pixel change inside mouth {f['pixel_change_inside_mouth']:.3f}, outside "
                  f"{f['pixel_change_outside_mouth']:.3f}"]
    if "identity" in m:
        i = m["identity"]
        kept = ", ".join(f"{what} {i[key]['share_same']:.0%} (distance {i[key]['mean_distance']:.2f}, identified "
                         f"{i[key]['share_identified']:.0%})" for what, key in
                         (("reconstruction", "reconstruction"), ("forced to -1", "plain -1"), ("to +1", "plain +1")))
        lines.append(f"identity kept    same person as the input (distance <= {i['threshold']:.2f}): {kept}; "
                     f"{i['n_faces']} faces")
    if "gender_control" in m:
        g = m["gender_control"]
        lines.append(f"gender control   called female: as male {g['male_smile_-1']:.0%} (smile -1) / "
                     f"{g['male_smile_+1']:.0%} (+1); as female {g['female_smile_-1']:.0%} / "
                     f"{g['female_smile_+1']:.0%}")
    if "smile_inference" in m:
        q = m["smile_inference"]
        lines.append(f"q(y|x)           held-out MAE {q['mae']:.3f}, r {_num(q['correlation'])} "
                     f"({q['n_heldout']} faces); predicting the mean: MAE {q['mae_mean_predictor']:.3f}")
    d = m["diversity"]
    lines.append(f"diversity        samples {d['samples']:.3f} vs real faces {d['real_faces']:.3f} "
                 f"(ratio {d['ratio']:.2f})")
    if "bias" in m:
        b, data = m["bias"], m["bias"]["data"]
        lines.append(f"bias             female samples {b['share_female'][0]:.0%} at -1, {b['share_female'][-1]:.0%} "
                     f"at +1 (gap {b['model_gap']:+.2f}; reconstructions {b['reconstructions']:.0%}); data "
                     f"{_share(data['not_smiling']['share_female'])} not smiling, "
                     f"{_share(data['smiling']['share_female'])} smiling (gap {_num(b['data_gap'], '+.2f')})")
    return lines


def _share(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.0%}"


def dataset_bias(data: Path, labels: Path, path: Path) -> tuple[Path, list[str]]:
    """Pie charts of gender (from UTKFace file names) among the smiling and not smiling labelled faces of a
    folder; returns the figure's path and a few lines of text."""
    degrees = read_smile_labels(labels)
    present = {p.name for p in list_images(data)}
    names = [n for n in degrees if n in present]
    if not names:
        raise FacegenError(f"none of the {len(degrees)} faces in {labels} is in {data}: pass the matching --data")
    gender = np.array([g if (g := parse_utk_name(n).get("gender")) in (0, 1) else -1 for n in names])
    table = gender_by_smile(gender, np.array([degrees[n] for n in names]))
    groups = {"not smiling": table["not_smiling"], "smiling": table["smiling"]}
    plots.plot_share_pies({k: {c: v[c] for c in ("female", "male", "unknown")} for k, v in groups.items()}, path,
                          f"gender of the {len(names)} labelled faces in {Path(*data.resolve().parts[-2:])}")
    lines = [f"{k:<12} female {v['female']:4d}  male {v['male']:4d}  unknown {v['unknown']:3d}  "
             f"share female {_share(v['share_female'])}" for k, v in groups.items()]
    if len(names) < len(degrees):
        lines.append(f"(left out: {len(degrees) - len(names)} labelled face(s) not in {data})")
    return path, lines
