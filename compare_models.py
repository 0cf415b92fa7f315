"""Train (or reuse) AE, VAE at three KL weights, DC-GAN and VAE-GAN under one budget of images seen, and compare
them with numbers (see --help); the table and figures go to --out.

    python compare_models.py --dataset lfw --data ../shared/data/lfw --resize 64 --images 200000 \\
        --feature_net results/feature_net/attribute_net.pt --seeds 0,1,2

Each model of each seed is a run folder OUT/seedS/MODEL made by its own training script's code (a finished one
is reused, an unfinished one resumed), so every exploration script works on it. Sample quality is measured in the
feature space of the project's own attribute net (train_feature_net.py) or of 8 x 8 pixels (--feature_net
pixels): a Fréchet and a kernel distance, precision / recall, nearest training face, diversity. None of it is an
FID: the feature network is not Inception, and the numbers compare these runs with each other only.
"""

from __future__ import annotations

import argparse
import math
import shlex
from pathlib import Path

import torch

from facegen.analysis.evaluation import compare
from facegen.analysis.evaluation.sample_quality import PIXELS, NetFeatures, PixelFeatures
from facegen.analysis.latent import space
from facegen.cli.args import Parser, add_common_args, add_data_args, guard, resolve_resize
from facegen.cli.training import train_main
from facegen.core import argtypes
from facegen.core.argtypes import int_at_least
from facegen.core.devices import pick_device
from facegen.core.errors import FacegenError
from facegen.core.files import load_checkpoint, write_json, write_text
from facegen.data.spec import DataSpec
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


def parser() -> Parser:
    p = Parser(description="Train (or reuse) and compare AE, VAE (beta 0.2 / 0.1 / 0.01), DC-GAN and VAE-GAN under "
                           "one budget of images seen; writes OUT/table.md, OUT/results.json and figures.")
    add_common_args(p)
    add_data_args(p)
    g = p.add_argument_group("comparison")
    g.add_argument("--out", type=Path, default=Path("results/compare"), help="folder of the runs, table and figures")
    g.add_argument("--models", default=",".join(m for m in MODELS if m != "vae_b2"),
                   help=f"comma-separated, from {', '.join(MODELS)} (default: all but vae_b2)")
    g.add_argument("--seeds", default="0", help="comma-separated seeds; each trains every model (mean ± sd reported)")
    g.add_argument("--images", type=int_at_least(1), default=200_000,
                   help="images seen in training per model: epochs = ceil(images / training faces)")
    g.add_argument("--batch_size", type=int_at_least(2), default=64, help="faces per step for every model")
    g.add_argument("--lr", type=float, default=2e-4, help="learning rate of every model")
    g.add_argument("--jitter", type=float, default=0.0, help="colour jitter of every model's batches (e.g. 0.05)")
    g.add_argument("--extra", action="append", default=[], metavar="MODEL=FLAGS",
                   help="more training flags for one model, e.g. 'dcgan=--g_channels 32' (repeatable)")
    g.add_argument("--feature_net", default="results/feature_net/attribute_net.pt",
                   help="attribute net written by train_feature_net.py, or 'pixels' (8 x 8 pixels)")
    g.add_argument("--n_samples", type=int_at_least(10), default=1000, help="prior samples measured per run")
    g.add_argument("--n_show", type=int_at_least(1), default=8, help="samples per row of the figures")
    g.add_argument("--eval_only", action="store_true", help="measure the runs in --out; train nothing")
    return p


def split_list(text: str, what: str) -> list[str]:
    items = [t.strip() for t in text.split(",") if t.strip()]
    if not items:
        raise FacegenError(f"{what} {text!r} names nothing")
    return items


def extras(items: list[str], models: list[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for item in items:
        name, sep, flags = item.partition("=")
        if not sep or name not in models:
            raise FacegenError(f"--extra {item!r}: write MODEL=FLAGS with MODEL one of {', '.join(models)}")
        out.setdefault(name, []).extend(shlex.split(flags))
    return out


def data_flags(args: argparse.Namespace) -> list[str]:
    flags = ["--dataset", args.dataset, "--resize", str(args.resize), "--val_fraction", str(args.val_fraction),
             "--cache_dir", str(args.cache_dir), "--num_workers", str(args.num_workers), "--toy_dir",
             str(args.toy_dir), "--toy_n", str(args.toy_n), "--device", args.device]
    for flag, value in (("--data", args.data), ("--labels", args.labels), ("--attrs", args.attrs)):
        if value is not None:
            flags += [flag, str(value)]
    return flags + (["--grayscale"] if args.grayscale else [])


def training_faces(args: argparse.Namespace, seed: int) -> int:
    """How many training faces a run of this data and seed has (the split depends on the seed)."""
    spec = DataSpec(dataset=args.dataset, data=args.data, labels=args.labels, attrs=args.attrs, size=args.resize,
                    channels=1 if args.grayscale else 3, conditions=[] if args.dataset == "lfw" else ["smile"],
                    cache_dir=args.cache_dir, num_workers=args.num_workers, toy_dir=args.toy_dir, toy_n=args.toy_n,
                    val_fraction=args.val_fraction, seed=seed)
    return len(spec.split(spec.load())[0])


def train_one(args: argparse.Namespace, name: str, seed: int, epochs: int, more: list[str]) -> Path:
    """The run OUT/seedS/NAME trained to ``epochs`` (reused when it is there, resumed when it stopped short)."""
    out = args.out / f"seed{seed}" / name
    model, flags = MODELS[name]
    if (out / LAST).exists():
        done = load_checkpoint(out / LAST)["epoch"]
        if done >= epochs:
            print(f"{name} (seed {seed}): reusing {out} ({done} epochs)")
            return out
        train_main(["--resume", "--out", str(out), "--n_epochs", str(epochs)], model)
        return out
    argv = [*data_flags(args), *flags, *more, "--seed", str(seed), "--n_epochs", str(epochs), "--batch_size",
            str(args.batch_size), "--lr", str(args.lr), "--jitter", str(args.jitter), "--eval_every",
            str(max(1, epochs // 10)), "--out", str(out), "--overwrite"]
    train_main(argv, model)
    return out


def features_of(spec: str) -> torch.nn.Module:
    if spec == PIXELS:
        return PixelFeatures()
    return NetFeatures(load_attribute_net(Path(spec))[0])


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    resolve_resize(args)
    names = split_list(args.models, "--models")
    unknown = [n for n in names if n not in MODELS]
    if unknown:
        raise FacegenError(f"--models: unknown {', '.join(unknown)}; choose from {', '.join(MODELS)}")
    try:
        seeds = [argtypes.seed(s) for s in split_list(args.seeds, "--seeds")]
    except argparse.ArgumentTypeError as e:
        raise FacegenError(f"--seeds {args.seeds}: each seed is {e}") from None
    if len(set(seeds)) != len(seeds):
        raise FacegenError(f"--seeds {args.seeds} names a seed twice: list each once, e.g. 0,1,2")
    more = extras(args.extra, names)
    features = features_of(args.feature_net)  # before any training: a missing net is a one-line error now
    device = pick_device(args.device)
    features.to(device)
    runs: dict[int, dict[str, Path]] = {}
    for seed in seeds:
        epochs = 0 if args.eval_only else math.ceil(args.images / training_faces(args, seed))
        runs[seed] = {}
        for name in names:
            path = args.out / f"seed{seed}" / name
            if not args.eval_only:
                runs[seed][name] = train_one(args, name, seed, epochs, more.get(name, []))
            elif (path / LAST).exists():
                runs[seed][name] = path
            else:
                print(f"note: {path} has no checkpoint: left out")
        if not runs[seed]:
            raise FacegenError(f"no trained run in {args.out / f'seed{seed}'}: train them first (drop --eval_only)")
    results: dict[str, list[dict]] = {name: [] for name in ["real faces (held-out halves)", *names]}
    shown: dict[str, dict[str, torch.Tensor]] = {"samples": {}, "recon": {}}
    for seed, by_name in runs.items():
        for name, path in by_name.items():
            run = Run.load(path)
            model = run.load_model(device)
            torch.manual_seed(seed)
            results[name].append(compare.evaluate(run, model, features, n_samples=args.n_samples, seed=seed,
                                                  device=device))
            if seed == seeds[0]:
                rows = compare.sd_rows(run, model, args.n_show, seed)
                compare.sample_figure({f"sd {t:g}": r for t, r in zip(compare.SD_ROWS, rows, strict=True)},
                                      args.out / f"prior_sd_{name}.png", f"{name}: prior samples by standard deviation")
                shown["samples"][name] = rows[compare.SD_ROWS.index(1.0)]
                if model.can("encode"):
                    val = run.faces()[1].subset(torch.arange(args.n_show))
                    x = val.images.float() / 255
                    shown["recon"].setdefault("held-out faces", x)
                    shown["recon"][name] = space.decode(model, space.encode_images(model, x, val.cond), val.cond)
            print(f"measured {path}")
        first = Run.load(next(iter(by_name.values())))
        results["real faces (held-out halves)"].append(compare.baseline(first, features, seed=seed, device=device))
    summary = compare.summarise({name: found for name, found in results.items() if found})
    note = (f"{len(seeds)} seed(s); {args.images:,} images seen per model; sample numbers from {args.n_samples} prior "
            f"samples against the held-out faces in the feature space of {args.feature_net} (not an FID).")
    write_text(args.out / "table.md", compare.markdown_table(summary, note))
    table = {name: {key: list(value) for key, value in numbers.items()} for name, numbers in summary.items()}
    write_json(args.out / "results.json", {"summary": table, "runs": results,
                                           "args": {k: str(v) for k, v in vars(args).items()}})
    compare.sample_figure(shown["samples"], args.out / "samples.png", "prior samples at sd 1, one row per model")
    if shown["recon"]:
        compare.sample_figure(shown["recon"], args.out / "reconstructions.png", "held-out faces and reconstructions")
    print((args.out / "table.md").read_text(encoding="utf-8"))
    print(f"wrote {args.out / 'table.md'}, {args.out / 'results.json'} and figures in {args.out}")


if __name__ == "__main__":
    guard(main)
