"""The model comparison of compare_models.py as a declared study: which models, seeds, data and budget, run by
:func:`run_study`, which trains each run (reusing a finished one, resuming an unfinished one) and measures them
all with :mod:`facegen.analysis.evaluation.compare`.

Each model of each seed is a run folder OUT/seedS/MODEL made by the training scripts' own code, so every
exploration script works on it.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import shlex
from dataclasses import dataclass, field
from pathlib import Path

import torch

from facegen.analysis.evaluation import compare
from facegen.analysis.evaluation.sample_quality import PIXELS, NetFeatures, PixelFeatures
from facegen.analysis.latent import space
from facegen.cli.training import data_flags, train_main
from facegen.core import argtypes
from facegen.core.devices import pick_device
from facegen.core.errors import FacegenError
from facegen.core.files import load_checkpoint, write_json, write_text
from facegen.data.spec import DataSpec
from facegen.models.capabilities import Encoder
from facegen.nn.attrnet import load_attribute_net
from facegen.runs import LAST, Run

# name -> (model, its flags): the study's four models, the VAE at its three KL weights, and a VAE at KL weight 2,
# whose held-out reconstruction error at 64 px is close to the VAE-GAN's (sharpness compared at similar error)
MODELS = {
    "ae": ("ae", ["--latent_size", "128"]),
    "vae_b0.2": ("vae", ["--latent_size", "128", "--beta", "0.2"]),
    "vae_b0.1": ("vae", ["--latent_size", "128", "--beta", "0.1"]),
    "vae_b0.01": ("vae", ["--latent_size", "128", "--beta", "0.01"]),
    "vae_b2": ("vae", ["--latent_size", "128", "--beta", "2"]),
    "dcgan": ("dcgan", []),
    "vaegan": ("vaegan", []),
}
BASELINE = "real faces (held-out halves)"


@dataclass(frozen=True)
class ModelStudy:
    """What compare_models.py compares. ``data`` is every run's data (its seed is replaced by each of ``seeds``);
    ``extra`` holds more training flags per model name; ``images`` is the budget of images seen per run."""

    out: Path
    data: DataSpec
    models: list[str]
    seeds: list[int]
    images: int = 200_000
    batch_size: int = 64
    lr: float = 2e-4
    jitter: float = 0.0
    extra: dict[str, list[str]] = field(default_factory=dict)
    feature_net: str = "results/feature_net/attribute_net.pt"
    n_samples: int = 1000
    n_show: int = 8
    eval_only: bool = False
    device: str = "auto"

    def folder(self, seed: int, name: str) -> Path:
        return self.out / f"seed{seed}" / name

    def epochs(self, seed: int) -> int:
        """Epochs that see ``images`` faces: the training set depends on the seed's split."""
        spec = dataclasses.replace(self.data, seed=seed)
        return math.ceil(self.images / len(spec.split(spec.load())[0]))


def study_data(args: argparse.Namespace) -> DataSpec:
    """The faces every run of the study trains on, from the data flags (facegen.cli.args.add_data_args): the
    models compared are unconditional, so LFW's faces need no labels and the others' smile labels are kept."""
    return DataSpec(dataset=args.dataset, data=args.data, labels=args.labels, attrs=args.attrs, size=args.resize,
                    channels=1 if args.grayscale else 3, conditions=[] if args.dataset == "lfw" else ["smile"],
                    cache_dir=args.cache_dir, num_workers=args.num_workers, toy_dir=args.toy_dir, toy_n=args.toy_n,
                    val_fraction=args.val_fraction, seed=args.seed)


def parse_list(text: str, flag: str) -> list[str]:
    """A comma-separated list that names something."""
    items = [t.strip() for t in text.split(",") if t.strip()]
    if not items:
        raise FacegenError(f"{flag} {text!r} names nothing")
    return items


def parse_models(text: str) -> list[str]:
    """--models: comma-separated names of MODELS."""
    names = parse_list(text, "--models")
    unknown = [n for n in names if n not in MODELS]
    if unknown:
        raise FacegenError(f"--models: unknown {', '.join(unknown)}; choose from {', '.join(MODELS)}")
    return names


def parse_seeds(text: str) -> list[int]:
    """--seeds: comma-separated seeds, each a valid seed and none twice."""
    try:
        seeds = [argtypes.seed(s) for s in parse_list(text, "--seeds")]
    except argparse.ArgumentTypeError as e:
        raise FacegenError(f"--seeds {text}: each seed is {e}") from None
    if len(set(seeds)) != len(seeds):
        raise FacegenError(f"--seeds {text} names a seed twice: list each once, e.g. 0,1,2")
    return seeds


def parse_extras(items: list[str], models: list[str]) -> dict[str, list[str]]:
    """``--extra MODEL=FLAGS`` items as MODEL -> its flags (a model named twice gets both)."""
    out: dict[str, list[str]] = {}
    for item in items:
        name, sep, flags = item.partition("=")
        if not sep or name not in models:
            raise FacegenError(f"--extra {item!r}: write MODEL=FLAGS with MODEL one of {', '.join(models)}")
        out.setdefault(name, []).extend(shlex.split(flags))
    return out


def train_one(study: ModelStudy, name: str, seed: int, epochs: int) -> Path:
    """The run OUT/seedS/NAME trained to ``epochs`` (reused when it is there, resumed when it stopped short)."""
    out = study.folder(seed, name)
    model, flags = MODELS[name]
    if (out / LAST).exists():
        done = load_checkpoint(out / LAST)["epoch"]
        if done >= epochs:
            print(f"{name} (seed {seed}): reusing {out} ({done} epochs)")
            return out
        train_main(["--resume", "--out", str(out), "--n_epochs", str(epochs)], model)
        return out
    argv = [*data_flags(dataclasses.replace(study.data, seed=seed)), "--device", study.device, *flags,
            *study.extra.get(name, []), "--n_epochs", str(epochs), "--batch_size", str(study.batch_size),
            "--lr", str(study.lr), "--jitter", str(study.jitter), "--eval_every", str(max(1, epochs // 10)),
            "--out", str(out), "--overwrite"]
    train_main(argv, model)
    return out


def trained_runs(study: ModelStudy) -> dict[int, dict[str, Path]]:
    """Every seed's run folders by model name: trained now, or (``eval_only``) those already in ``out``."""
    runs: dict[int, dict[str, Path]] = {}
    for seed in study.seeds:
        epochs = 0 if study.eval_only else study.epochs(seed)
        runs[seed] = {}
        for name in study.models:
            path = study.folder(seed, name)
            if not study.eval_only:
                runs[seed][name] = train_one(study, name, seed, epochs)
            elif (path / LAST).exists():
                runs[seed][name] = path
            else:
                print(f"note: {path} has no checkpoint: left out")
        if not runs[seed]:
            raise FacegenError(f"no trained run in {study.out / f'seed{seed}'}: train them first (drop --eval_only)")
    return runs


def features_of(spec: str) -> torch.nn.Module:
    """The feature space samples are measured in: the attribute net in file ``spec``, or 8 x 8 pixels."""
    if spec == PIXELS:
        return PixelFeatures()
    return NetFeatures(load_attribute_net(Path(spec))[0])


def run_study(study: ModelStudy, flags: dict[str, str]) -> Path:
    """Train (or reuse) every run, measure them, and write OUT/table.md, OUT/results.json (with ``flags``, the
    script's) and the figures; returns the table's path."""
    features = features_of(study.feature_net)  # before any training: a missing net is a one-line error now
    device = pick_device(study.device)
    features.to(device)
    runs = trained_runs(study)
    results: dict[str, list[dict]] = {name: [] for name in [BASELINE, *study.models]}
    shown: dict[str, dict[str, torch.Tensor]] = {"samples": {}, "recon": {}}
    for seed, by_name in runs.items():
        for name, path in by_name.items():
            run = Run.load(path)
            model = run.load_model(device)
            torch.manual_seed(seed)
            results[name].append(compare.evaluate(run, model, features, n_samples=study.n_samples, seed=seed,
                                                  device=device))
            if seed == study.seeds[0]:
                show_run(study, name, run, model, seed, shown)
            print(f"measured {path}")
        first = Run.load(next(iter(by_name.values())))
        results[BASELINE].append(compare.baseline(first, features, seed=seed, device=device))
    summary = compare.summarise({name: found for name, found in results.items() if found})
    note = (f"{len(study.seeds)} seed(s); {study.images:,} images seen per model; sample numbers from "
            f"{study.n_samples} prior samples against the held-out faces in the feature space of "
            f"{study.feature_net} (not an FID).")
    write_text(study.out / "table.md", compare.markdown_table(summary, note))
    table = {name: {key: list(value) for key, value in numbers.items()} for name, numbers in summary.items()}
    write_json(study.out / "results.json", {"summary": table, "runs": results, "args": flags})
    compare.sample_figure(shown["samples"], study.out / "samples.png", "prior samples at sd 1, one row per model")
    if shown["recon"]:
        compare.sample_figure(shown["recon"], study.out / "reconstructions.png", "held-out faces and reconstructions")
    return study.out / "table.md"


def show_run(study: ModelStudy, name: str, run: Run, model: torch.nn.Module, seed: int,
             shown: dict[str, dict[str, torch.Tensor]]) -> None:
    """The run's prior samples by standard deviation (OUT/prior_sd_NAME.png); its sd-1 row, and for an encoder
    its reconstructions of held-out faces, kept in ``shown`` for the figures of all models."""
    rows = compare.sd_rows(run, model, study.n_show, seed)
    compare.sample_figure({f"sd {t:g}": r for t, r in zip(compare.SD_ROWS, rows, strict=True)},
                          study.out / f"prior_sd_{name}.png", f"{name}: prior samples by standard deviation")
    shown["samples"][name] = rows[compare.SD_ROWS.index(1.0)]
    if isinstance(model, Encoder):
        val = run.faces()[1].subset(torch.arange(study.n_show))
        x = val.images.float() / 255
        shown["recon"].setdefault("held-out faces", x)
        shown["recon"][name] = space.decode(model, space.encode_images(model, x, val.cond), val.cond)
