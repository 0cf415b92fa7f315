"""Training from the command line: the flags of ae.py / vae.py / cvae.py and what they run."""

from __future__ import annotations

import argparse
import sys
from dataclasses import asdict
from pathlib import Path

from facegen.cli import Parser, add_common_args, add_data_args, check_resize, pick_device
from facegen.data import load_dataset
from facegen.data.faceset import FaceSet
from facegen.errors import FacegenError
from facegen.models import MODELS, ModelConfig, build_model
from facegen.run import prepare_run_dir, read_flags, write_json
from facegen.train import TrainConfig, Trainer, seed_everything

# Flags that may change when a run is resumed; every other flag must match the run's flags.json.
RESUMABLE = {"n_epochs", "eval_every", "save_every", "num_workers", "device", "resume", "overwrite", "cache_dir"}

DEFAULT_EPOCHS = {"ae": 200, "vae": 200, "cvae": 1000}


def training_parser(model: str) -> Parser:
    """The flags of a training script for ``model``."""
    p = Parser(description=f"Train a {model.upper()} on face crops; results go to --out.")
    add_common_args(p)
    add_data_args(p)
    g = p.add_argument_group("model")
    g.add_argument("--latent_size", type=int, default=20, help="dimensions of the latent code z")
    g.add_argument("--base_channels", type=int, default=32, help="channels of the first conv level (doubling)")
    g.add_argument("--max_channels", type=int, default=256, help="cap on channels per conv level")
    g.add_argument("--recon_loss", default="mse", choices=["mse", "bce"], help="reconstruction loss, summed over pixels")
    if MODELS[model].variational:
        g.add_argument("--beta", type=float, default=1.0, help="weight of the KL term (beta-VAE when != 1)")
    if MODELS[model].conditional:
        g.add_argument("--conditions", default="smile", help="comma-separated conditions, smile first")
    t = p.add_argument_group("training")
    t.add_argument("--n_epochs", type=int, default=DEFAULT_EPOCHS.get(model, 200), help="epochs to train")
    t.add_argument("--lr", type=float, default=2e-4, help="Adam learning rate")
    t.add_argument("--batch_size", type=int, default=8, help="faces per step")
    t.add_argument("--lr_step", type=int, default=250, help="multiply the learning rate by --lr_gamma every N epochs")
    t.add_argument("--lr_gamma", type=float, default=0.5, help="learning-rate decay factor")
    t.add_argument("--clip_grad", type=float, default=100.0, help="gradient-norm clipping threshold")
    t.add_argument("--no_flip", action="store_true", help="no random horizontal flips")
    t.add_argument("--eval_every", type=int, default=10, help="validate and save a reconstruction grid every N epochs")
    t.add_argument("--save_every", type=int, default=0, help="also keep checkpoints/epoch_N.pt every N epochs (0: off)")
    r = p.add_argument_group("run folder")
    r.add_argument("--out", type=Path, default=Path("results") / model, help="run folder")
    r.add_argument("--resume", action="store_true", help="continue from the run's checkpoints/last.pt")
    r.add_argument("--overwrite", action="store_true", help="replace an existing run in --out")
    return p


def load_faces(args: argparse.Namespace) -> FaceSet:
    """The dataset the flags describe (decoded once, cached on disk)."""
    check_resize(args.resize)
    conditions = getattr(args, "conditions", "smile")
    return load_dataset(dataset=args.dataset, data=args.data, labels=args.labels, attrs=args.attrs,
                        size=args.resize, channels=1 if args.grayscale else 3,
                        conditions=[c.strip() for c in conditions.split(",") if c.strip()],
                        cache_dir=args.cache_dir, num_workers=args.num_workers,
                        toy_root=args.toy_dir, toy_n=args.toy_n)


def split_faces(faces: FaceSet, args: argparse.Namespace) -> tuple[FaceSet, FaceSet]:
    """The run's fixed train / validation split."""
    if len(faces) < 4:
        raise FacegenError(f"only {len(faces)} faces found ({faces.source}); need at least 4 to train")
    return faces.split(args.val_fraction, args.seed)


def run_faces(flags: dict) -> tuple[FaceSet, FaceSet]:
    """The (train, validation) faces of a trained run, rebuilt from its flags.json (cached, so fast)."""
    args = argparse.Namespace(**flags["args"])
    for key in ("data", "labels", "attrs", "cache_dir", "toy_dir"):
        value = getattr(args, key, None)
        setattr(args, key, Path(value) if value not in (None, "None") else None)
    return split_faces(load_faces(args), args)


def _check_resume_flags(out: Path, args: argparse.Namespace) -> None:
    old = read_flags(out)["args"]
    for key, value in vars(args).items():
        if key in RESUMABLE or key not in old:
            continue
        if str(old[key]) != str(value):
            raise FacegenError(f"--{key} {value} does not match the run in {out} (trained with {old[key]}); "
                               f"resume with the same flags, or train into a new --out")


def train_from_args(model_name: str, args: argparse.Namespace) -> Path:
    """Load data, build the model, train it into ``args.out``; returns the run folder."""
    for key, value in vars(args).items():  # absolute paths, so a run folder works from any directory
        if isinstance(value, Path):
            setattr(args, key, value.resolve())
    if args.resume:
        prepare_run_dir(args.out, resume=True, overwrite=False)
        _check_resume_flags(args.out, args)
    device = pick_device(args.device)
    seed_everything(args.seed)
    faces = load_faces(args)
    print(f"dataset: {faces.source}")
    train, val = split_faces(faces, args)
    cfg = ModelConfig(size=args.resize, channels=faces.channels, latent_size=args.latent_size,
                      cond_dim=len(faces.cond_names), base_channels=args.base_channels,
                      max_channels=args.max_channels, beta=getattr(args, "beta", 1.0), recon_loss=args.recon_loss)
    tcfg = TrainConfig(n_epochs=args.n_epochs, lr=args.lr, batch_size=args.batch_size, lr_step=args.lr_step,
                       lr_gamma=args.lr_gamma, clip_grad=args.clip_grad, eval_every=args.eval_every,
                       save_every=args.save_every, flip=not args.no_flip, seed=args.seed)
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
