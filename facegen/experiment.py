"""Training from the command line: the flags of ae.py / vae.py / cvae.py and what they run."""

from __future__ import annotations

import argparse
import sys
from dataclasses import asdict
from pathlib import Path

import torch

from facegen.cli import Parser, add_common_args, add_data_args, check_resize, parse_floats, pick_device, resolve_resize
from facegen.core.errors import FacegenError
from facegen.data import load_dataset
from facegen.data.faceset import FaceSet
from facegen.data.split import split_indices
from facegen.models import MODELS, ModelConfig, build_model
from facegen.perceptual import check_layers, default_layers, resolve_feature_net
from facegen.run import prepare_run_dir, read_flags, write_json
from facegen.train import TrainConfig, Trainer, seed_everything

# Flags that may change when a run is resumed; every other flag must match the run's flags.json.
RESUMABLE = {"out", "n_epochs", "eval_every", "save_every", "num_workers", "device", "resume", "overwrite", "cache_dir"}

DEFAULT_EPOCHS = {"ae": 200, "vae": 200, "cvae": 1000}
PERCEPTUAL_MODEL = {"vae": "dfcvae"}  # what a script trains when given --loss perceptual
DEFAULT_FEATURE_NET = Path("results") / "feature_net" / "attribute_net.pt"  # written by train_feature_net.py
SEMI_SUPERVISED_MODEL = "sscvae"  # what cvae.py trains when given --unlabeled


def training_parser(model: str) -> Parser:
    """The flags of a training script for ``model``."""
    p = Parser(description=f"Train a {model.upper()} on face crops; results go to --out.",
               allow_abbrev=False)  # every flag spelled out, so --resume can tell which ones were given
    add_common_args(p)
    add_data_args(p)
    g = p.add_argument_group("model")
    g.add_argument("--latent_size", type=int, default=20, help="dimensions of the latent code z")
    g.add_argument("--base_channels", type=int, default=32, help="channels of the first conv level (doubling)")
    g.add_argument("--max_channels", type=int, default=256, help="cap on channels per conv level")
    losses = ["mse", "bce"] + (["perceptual"] if model in PERCEPTUAL_MODEL else [])
    g.add_argument("--recon_loss", "--loss", dest="recon_loss", default="mse", choices=losses,
                   help="reconstruction loss, summed over pixels (perceptual: a DFC-VAE, see below)")
    if MODELS[model].variational:
        g.add_argument("--beta", type=float, default=1.0, help="weight of the KL term (beta-VAE when != 1)")
    if MODELS[model].conditional:
        g.add_argument("--conditions", "--condition", default="smile",
                       help="comma-separated conditions, smile first (CelebA: attribute names, e.g. Smiling)")
    if model in PERCEPTUAL_MODEL:
        add_perceptual_args(p)
    if model == "cvae":
        add_semi_supervised_args(p)
    t = p.add_argument_group("training")
    t.add_argument("--n_epochs", type=int, default=DEFAULT_EPOCHS.get(model, 200), help="epochs to train")
    t.add_argument("--lr", type=float, default=2e-4, help="Adam learning rate")
    t.add_argument("--batch_size", type=int, default=8, help="faces per step")
    t.add_argument("--lr_step", type=int, default=250, help="multiply the learning rate by --lr_gamma every N epochs")
    t.add_argument("--lr_gamma", type=float, default=0.5, help="learning-rate decay factor")
    t.add_argument("--clip_grad", type=float, default=100.0, help="gradient-norm clipping threshold")
    t.add_argument("--no_flip", action="store_true", help="no random horizontal flips")
    t.add_argument("--amp", action="store_true",
                   help="mixed precision: bfloat16 autocast (float16 with loss scaling on GPUs without bfloat16); "
                        "pays off on GPUs, see the README's performance section before using it on a CPU")
    t.add_argument("--eval_every", type=int, default=10, help="validate and save a reconstruction grid every N epochs")
    t.add_argument("--save_every", type=int, default=0, help="also keep checkpoints/epoch_N.pt every N epochs (0: off)")
    r = p.add_argument_group("run folder")
    r.add_argument("--out", type=Path, default=Path("results") / model, help="run folder")
    r.add_argument("--resume", action="store_true",
                   help="continue from the run's checkpoints/last.pt; flags not given take the run's values")
    r.add_argument("--overwrite", action="store_true", help="replace an existing run in --out")
    return p


def parse_training_args(model: str, argv: list[str] | None = None) -> argparse.Namespace:
    """The flags of a training script. With --resume every flag not given on the command line takes its value
    from the run's flags.json, so ``cvae.py --resume --out DIR`` continues a run as it was started; a flag that
    is given and differs from the run is refused later (see RESUMABLE)."""
    parser = training_parser(model)
    argv = sys.argv[1:] if argv is None else argv
    args = parser.parse_args(argv)
    if not args.resume:
        return args
    saved = read_flags(args.out)["args"]
    for action in parser._actions:
        given = any(a == o or a.startswith(o + "=") for o in action.option_strings for a in argv)
        if given or action.dest not in saved or action.dest in ("resume", "out", "overwrite"):
            continue
        value = saved[action.dest]
        setattr(args, action.dest, Path(value) if action.type is Path and value is not None else value)
    return args


def add_perceptual_args(p: argparse.ArgumentParser) -> None:
    """The DFC-VAE's flags (used with --loss perceptual)."""
    g = p.add_argument_group("perceptual loss (--loss perceptual: DFC-VAE)")
    g.add_argument("--feature_net", default=str(DEFAULT_FEATURE_NET),
                   help="frozen feature network: the attribute net written by train_feature_net.py, or vgg19 "
                        "(torchvision's ImageNet weights, used only if already in the torch cache)")
    g.add_argument("--loss_features", default="",
                   help="comma-separated layers to compare (default relu1,relu2,relu3 of the attribute net; "
                        "relu1_1,relu2_1,relu3_1 of vgg19)")
    g.add_argument("--feature_weights", default="", help="comma-separated weight of each layer (default 1 each)")
    g.add_argument("--alpha", dest="pixel_weight", type=float, default=0.0,
                   help="weight of an extra pixel MSE term (0: features only)")


def perceptual_config(args: argparse.Namespace) -> dict:
    """The ModelConfig fields of a --loss perceptual run (none otherwise), with the feature net checked."""
    if args.recon_loss != "perceptual":
        return {}
    layers = [v.strip() for v in args.loss_features.split(",") if v.strip()]
    weights = parse_floats(args.feature_weights, "--feature_weights") if args.feature_weights.strip() else []
    spec = resolve_feature_net(args.feature_net)
    check_layers(spec, layers or default_layers(spec), weights)
    return {"feature_net": spec, "loss_features": layers, "feature_weights": weights, "pixel_weight": args.pixel_weight}


def add_semi_supervised_args(p: argparse.ArgumentParser) -> None:
    """The semi-supervised CVAE's flags (used with --unlabeled)."""
    g = p.add_argument_group("semi-supervised (--unlabeled: Kingma et al.'s M2 with an inference head q(y|x))")
    g.add_argument("--unlabeled", type=Path, default=None,
                   help="folder of unlabelled faces (e.g. data/UTKFace): trains the semi-supervised CVAE")
    g.add_argument("--max_unlabeled", type=int, default=None,
                   help="use at most N unlabelled faces (0: none, the labelled-only baseline of the same model)")
    g.add_argument("--alpha", type=float, default=ModelConfig.alpha,
                   help="weight of the supervised term -log q(y|x) on labelled faces")
    g.add_argument("--labeled_fraction", type=float, default=TrainConfig.labeled_fraction,
                   help="share of labelled faces in every batch (an epoch is one pass over the unlabelled faces)")


def semi_supervised_config(args: argparse.Namespace) -> dict:
    """The ModelConfig fields of a --unlabeled run (none otherwise)."""
    return {"alpha": args.alpha} if getattr(args, "unlabeled", None) is not None else {}


def load_faces(args: argparse.Namespace) -> FaceSet:
    """The dataset the flags describe (decoded once, cached on disk)."""
    check_resize(args.resize)
    conditions = getattr(args, "conditions", "smile")
    return load_dataset(dataset=args.dataset, data=args.data, labels=args.labels, attrs=args.attrs,
                        size=args.resize, channels=1 if args.grayscale else 3,
                        conditions=[c.strip() for c in conditions.split(",") if c.strip()],
                        cache_dir=args.cache_dir, num_workers=args.num_workers,
                        toy_root=args.toy_dir, toy_n=args.toy_n, unlabeled=getattr(args, "unlabeled", None),
                        max_unlabeled=getattr(args, "max_unlabeled", None))


def split_faces(faces: FaceSet, args: argparse.Namespace) -> tuple[FaceSet, FaceSet]:
    """The run's fixed train / validation split."""
    if len(faces) < 4:
        raise FacegenError(f"only {len(faces)} faces found ({faces.source}); need at least 4 to train")
    if faces.labelled.all() or not faces.labelled.any():
        return faces.split(args.val_fraction, args.seed)
    # semi-supervised: labelled and unlabelled faces are split apart, each the way FaceSet.split splits a set,
    # so the held-out labelled faces are those a labelled-only run with the same seed holds out
    train, val = [], []
    for part in (torch.nonzero(faces.labelled).flatten(), torch.nonzero(~faces.labelled).flatten()):
        t, v = split_indices(len(part), args.val_fraction, args.seed)
        train.append(part[t])
        val.append(part[v])
    return faces.subset(torch.cat(train).sort().values), faces.subset(torch.cat(val).sort().values)


def run_args(flags: dict) -> argparse.Namespace:
    """A trained run's command-line flags, paths as Paths."""
    args = argparse.Namespace(**flags["args"])
    for key in ("data", "labels", "attrs", "cache_dir", "toy_dir", "unlabeled"):
        value = getattr(args, key, None)
        setattr(args, key, Path(value) if value not in (None, "None") else None)
    return args


def run_dataset(flags: dict) -> FaceSet:
    """Every face of a trained run's dataset (training and validation), rebuilt from its flags.json."""
    return load_faces(run_args(flags))


def run_faces(flags: dict) -> tuple[FaceSet, FaceSet]:
    """The (train, validation) faces of a trained run, rebuilt from its flags.json (cached, so fast)."""
    args = run_args(flags)
    return split_faces(load_faces(args), args)


def _check_resume_flags(out: Path, args: argparse.Namespace) -> None:
    old = read_flags(out)["args"]
    for key, value in vars(args).items():
        if key in RESUMABLE or key not in old:
            continue
        if str(old[key]) != str(value):
            raise FacegenError(f"--{key} {value} does not match the run in {out} (trained with {old[key]}); "
                               f"leave the flag out to resume with the run's value, or train into a new --out")


def train_from_args(model_name: str, args: argparse.Namespace) -> Path:
    """Load data, build the model, train it into ``args.out``; returns the run folder."""
    for key, value in vars(args).items():  # absolute paths, so a run folder works from any directory
        if isinstance(value, Path):
            setattr(args, key, value.resolve())
    resolve_resize(args)
    if args.resume:
        prepare_run_dir(args.out, resume=True, overwrite=False)
        _check_resume_flags(args.out, args)
    device = pick_device(args.device)
    seed_everything(args.seed)
    faces = load_faces(args)
    train, val = split_faces(faces, args)
    cfg = ModelConfig(size=args.resize, channels=faces.channels, latent_size=args.latent_size,
                      cond_dim=len(faces.cond_names), base_channels=args.base_channels,
                      max_channels=args.max_channels, beta=getattr(args, "beta", 1.0), recon_loss=args.recon_loss,
                      **perceptual_config(args), **semi_supervised_config(args))
    if args.recon_loss == "perceptual":
        model_name = PERCEPTUAL_MODEL[model_name]
    if semi_supervised_config(args):
        model_name = SEMI_SUPERVISED_MODEL
        if not train.labelled.any():
            raise FacegenError(f"no labelled training faces in {faces.source}: the semi-supervised CVAE needs "
                               f"--labels FILE naming faces in --data DIR")
    tcfg = TrainConfig(n_epochs=args.n_epochs, lr=args.lr, batch_size=args.batch_size, lr_step=args.lr_step,
                       lr_gamma=args.lr_gamma, clip_grad=args.clip_grad, eval_every=args.eval_every,
                       save_every=args.save_every, flip=not args.no_flip, seed=args.seed,
                       labeled_fraction=getattr(args, "labeled_fraction", TrainConfig.labeled_fraction),
                       amp=args.amp)
    flags = {"model": model_name, "model_config": cfg.to_dict(), "train_config": asdict(tcfg),
             "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
             "dataset": {"source": faces.source, "n_faces": len(faces), "n_train": len(train), "n_val": len(val),
                         "size": faces.size, "channels": faces.channels, "cond_names": faces.cond_names},
             "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]])}
    if not args.resume:
        prepare_run_dir(args.out, resume=False, overwrite=args.overwrite)
    model = build_model(model_name, cfg)
    trainer = Trainer(model, train, val, tcfg, args.out, device, flags)
    if args.resume:
        trainer.resume()
        print(f"resuming {args.out} at epoch {trainer.epoch}")
    write_json(args.out / "flags.json", flags)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"{model_name}: {n_params / 1e6:.2f} M parameters, {len(train)} training / {len(val)} validation faces "
          f"at {faces.size} px, device {device}")
    history = trainer.fit()
    last = history[-1]
    print(f"done: epoch {last['epoch']}, train loss {last['train_loss']:.2f}, "
          f"validation loss {trainer.last_val():.2f}; results in {args.out}")
    return args.out
