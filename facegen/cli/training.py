"""The one training entry point: flags built from the chosen model's config, then data, model, trainer.

``ae.py``, ``vae.py``, ``cvae.py``, ``train_feature_net.py`` and the generic ``train.py --model NAME`` all call
:func:`train_main`. The flags are those every run has (data, training, run folder) plus the chosen model's own
config fields, so ``--help`` shows only what applies to that model. Under ``torchrun`` the same command trains
on several processes (see :mod:`facegen.core.distributed`).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from contextlib import nullcontext
from pathlib import Path

import torch

from facegen.cli.args import Parser, add_common_args, add_data_args, resolve_resize
from facegen.cli.scale_args import add_scale_args, resolve_shards
from facegen.core import distributed
from facegen.core.argtypes import (
    finite_float,
    float_between,
    learning_rate,
    nonnegative_float,
    nonnegative_int,
    positive_int,
    probability,
)
from facegen.core.devices import pick_device
from facegen.core.errors import FacegenError
from facegen.core.seeding import seed_everything
from facegen.core.threads import usable_cores
from facegen.data.needs import LABELED_FRACTION
from facegen.data.spec import DataSpec
from facegen.models.base import Model, ModelConfig, Schedule
from facegen.models.registry import model_class
from facegen.runs import FLAGS, Run
from facegen.train.run_folder import RunFolder, check_out
from facegen.train.trainer import TrainConfig, Trainer

# Flags that may differ when a run is resumed (they change neither the model nor its data); every other flag
# must match the run's flags.json.
RESUMABLE = {"out", "n_epochs", "eval_every", "save_every", "num_workers", "device", "resume", "overwrite",
             "cache_dir", "lr", "lr_step", "lr_gamma", "clip_grad", "checkpoint_seconds", "threads",
             "checkpoint_steps"}
NOT_FROM_RUN = {"resume", "out", "overwrite"}


# ---- flags --------------------------------------------------------------------------------------------------
def add_model_args(p: argparse.ArgumentParser, cls: type[Model]) -> None:
    """One flag per option field of the model's config."""
    g = p.add_argument_group(f"model: {cls.name}" + (f" ({cls.summary})" if cls.summary else ""))
    for f in cls.Config.options():
        meta = f.metadata
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
        flag = meta["flag"] or f"--{f.name}"
        kwargs = {"dest": f.name, "default": default, "help": meta["help"]}
        if isinstance(default, bool):
            g.add_argument(flag, action=argparse.BooleanOptionalAction, **kwargs)
            continue
        # a float option without its own type is any finite number (nan and inf refused in one line)
        kwargs["type"] = meta["parse"] or (finite_float if isinstance(default, float) else type(default))
        if meta["choices"]:
            kwargs["choices"] = meta["choices"]
        g.add_argument(flag, **kwargs)


def training_parser(cls: type[Model], script: str = "", epochs: int = 200) -> Parser:
    """The flags of a training run of model ``cls``."""
    p = Parser(description=f"Train a {cls.name} ({cls.summary or cls.__doc__.splitlines()[0]}); results go to "
                           f"--out.{(' ' + script) if script else ''}",
               allow_abbrev=False)  # every flag spelled out, so --resume can tell which ones were given
    add_common_args(p)
    add_data_args(p)
    add_scale_args(p)
    d = p.add_argument_group("data for this model")
    if cls.conditional:
        d.add_argument("--conditions", default="smile",
                       help="comma-separated conditions, smile first (CelebA: attribute names, e.g. Smiling)")
    cls.data_needs.add_flags(d)
    add_model_args(p, cls)
    t = p.add_argument_group("training")
    t.add_argument("--n_epochs", type=positive_int, default=epochs, help="epochs to train (>= 1)")
    t.add_argument("--lr", type=learning_rate, default=2e-4, help="Adam learning rate (> 0)")
    t.add_argument("--batch_size", type=positive_int, default=8,
                   help="faces per step and process (under torchrun the global batch is this times the processes)")
    t.add_argument("--lr_step", type=positive_int, default=250,
                   help="multiply the learning rate by --lr_gamma every N epochs")
    t.add_argument("--lr_gamma", type=float_between(0, 1, exclude_low=True), default=0.5,
                   help="learning-rate decay factor, above 0 and at most 1 (1: constant)")
    t.add_argument("--clip_grad", type=nonnegative_float, default=100.0,
                   help="gradient-norm clipping per optimizer (0: off)")
    t.add_argument("--no_flip", action="store_true", help="no random horizontal flips")
    t.add_argument("--jitter", type=probability, default=0.0,
                   help="colour jitter of every training batch, on its device: brightness, contrast and saturation "
                        "each scaled by a factor from [1 - J, 1 + J] per face (0: off; the LFW study used mild "
                        "jitter, e.g. 0.1)")
    t.add_argument("--amp", action="store_true",
                   help="mixed precision: bfloat16 autocast (float16 with loss scaling on GPUs without bfloat16); "
                        "pays off on GPUs, see the README's performance section before using it on a CPU")
    t.add_argument("--eval_every", type=positive_int, default=10,
                   help="validate and save a snapshot grid every N epochs")
    t.add_argument("--save_every", type=nonnegative_int, default=0,
                   help="also keep checkpoints/epoch_N.pt every N epochs (0: off)")
    t.add_argument("--checkpoint_seconds", type=nonnegative_float, default=TrainConfig.checkpoint_seconds,
                   help="write checkpoints/last.pt at most every N seconds of training, and at the end, on Ctrl-C "
                        "and on divergence (a kill -9 loses at most the last N seconds; 0: after every epoch)")
    t.add_argument("--threads", type=nonnegative_int, default=0,
                   help="CPU threads for the model's arithmetic (0: one per core this process may use; a resumed "
                        "run keeps its count, which fixes the last bits of its results)")
    r = p.add_argument_group("run folder")
    r.add_argument("--out", type=Path, default=Path("results") / cls.name, help="run folder")
    r.add_argument("--resume", action="store_true",
                   help="continue from the run's checkpoints/last.pt; flags not given take the run's values")
    r.add_argument("--overwrite", action="store_true", help="replace an existing run in --out")
    return p


def _given(parser: argparse.ArgumentParser, argv: list[str]) -> set[str]:
    """The dests of the flags spelled out in ``argv``."""
    return {a.dest for a in parser._actions
            if any(arg == o or arg.startswith(o + "=") for o in a.option_strings for arg in argv)}


def parse_training_args(cls: type[Model], argv: list[str], **parser_kwargs) -> argparse.Namespace:
    """The flags; with --resume every flag not given takes its value from the run's flags.json, so
    ``cvae.py --resume --out DIR`` continues a run as it was started."""
    parser = training_parser(cls, **parser_kwargs)
    args = parser.parse_args(argv)
    if args.resume:
        if not (args.out / FLAGS).is_file():
            raise FacegenError(f"nothing to resume: {args.out} holds no run ({FLAGS} not found); drop --resume to "
                               f"start a new run, or pass the run's folder as --out")
        saved = Run.load(args.out).args
        given = _given(parser, argv)
        for action in parser._actions:
            if action.dest in given or action.dest not in saved or action.dest in NOT_FROM_RUN:
                continue
            setattr(args, action.dest, saved_value(action, saved[action.dest], args.out / FLAGS))
    return args


def saved_value(action: argparse.Action, value: object, file: Path) -> object:
    """A flag's value as ``file`` (a run's flags.json) recorded it, checked the way the flag checks its text: a
    list where a number belongs, or a number out of range, is one line naming the file and the flag."""
    flag = action.option_strings[0] if action.option_strings else action.dest
    bad = f"{file} records {flag} as {value!r:.40}"
    if value is None or value == [] or (action.nargs == 0 and isinstance(value, bool)):  # None, [], a switch
        return value
    listed = isinstance(value, list) and isinstance(action.default, list)  # a comma-separated flag
    if action.nargs == 0 or (isinstance(value, (list, dict, bool)) and not listed):
        raise FacegenError(f"{bad}, which is not a value of that flag: the file was edited or damaged; restore it "
                           f"or train the run again")
    if action.choices is not None and value not in action.choices:
        raise FacegenError(f"{bad}, not one of {', '.join(map(str, action.choices))}: restore the file or train "
                           f"the run again")
    if action.type is None:
        return value
    try:
        return action.type(",".join(map(str, value)) if listed else str(value))
    except (argparse.ArgumentTypeError, ValueError, TypeError) as e:
        raise FacegenError(f"{bad}: {e}; restore the file or train the run again") from None


def resumed_model(out: Path, family: set[str]) -> str | None:
    """The model of the run in ``out`` when it is one this script trains (for --resume)."""
    if not (out / FLAGS).exists():
        return None
    name = Run.load(out).model_name
    if name not in family:
        raise FacegenError(f"{out} holds a {name} run, which this script does not train: resume it with the "
                           f"script that made it ({Run.load(out).command.split(' ')[0]})")
    return name


# ---- from flags to a run ------------------------------------------------------------------------------------
def data_spec(args: argparse.Namespace, cls: type[Model]) -> DataSpec:
    conditions = args.conditions if cls.conditional else ("" if args.dataset == "lfw" else "smile")  # LFW: no labels
    return DataSpec(dataset=args.dataset, data=args.data, labels=args.labels, attrs=args.attrs, size=args.resize,
                    channels=1 if args.grayscale else 3,
                    conditions=[c.strip() for c in conditions.split(",") if c.strip()], cache_dir=args.cache_dir,
                    num_workers=args.num_workers, toy_dir=args.toy_dir, toy_n=args.toy_n,
                    val_fraction=args.val_fraction, seed=args.seed, needs=cls.data_needs, shards=args.shards,
                    **cls.data_needs.flag_values(args))


def data_flags(spec: DataSpec) -> list[str]:
    """The training flags that give ``spec``: the inverse of :func:`data_spec` for a model without conditions and
    with the default data needs (a study's runs are trained from its typed data this way)."""
    flags = ["--dataset", spec.dataset, "--resize", str(spec.size), "--val_fraction", str(spec.val_fraction),
             "--cache_dir", str(spec.cache_dir), "--num_workers", str(spec.num_workers), "--toy_dir",
             str(spec.toy_dir), "--toy_n", str(spec.toy_n), "--seed", str(spec.seed)]
    for flag, value in (("--data", spec.data), ("--labels", spec.labels), ("--attrs", spec.attrs)):
        if value is not None:
            flags += [flag, str(value)]
    return flags + (["--grayscale"] if spec.channels == 1 else [])


def model_config(args: argparse.Namespace, cls: type[Model], size: int, channels: int, cond_dim: int) -> ModelConfig:
    """The model's config from its flags and the data, checked (one line for values that cannot work)."""
    cfg = cls.Config(size=size, channels=channels, cond_dim=cond_dim,
                     **{f.name: getattr(args, f.name) for f in cls.Config.options()})
    cfg.check()
    return cfg


def train_config(args: argparse.Namespace) -> TrainConfig:
    return TrainConfig(n_epochs=args.n_epochs, lr=args.lr, batch_size=args.batch_size, lr_step=args.lr_step,
                       lr_gamma=args.lr_gamma, clip_grad=args.clip_grad, eval_every=args.eval_every,
                       save_every=args.save_every, flip=not args.no_flip, jitter=args.jitter, seed=args.seed,
                       labeled_fraction=getattr(args, "labeled_fraction", LABELED_FRACTION), amp=args.amp,
                       checkpoint_seconds=args.checkpoint_seconds, checkpoint_steps=args.checkpoint_steps,
                       shuffle_buffer=args.shuffle_buffer, compile=args.compile)


def _check_resume_flags(out: Path, args: argparse.Namespace, cls: type[Model]) -> None:
    old = Run.load(out).args
    for key, value in vars(args).items():
        if (key in RESUMABLE and not (key == "n_epochs" and cls.schedule is Schedule.RUN)) or key not in old:
            continue
        if str(old[key]) != str(value):
            why = (f" (the {cls.name}'s schedule spans the run's length)" if key == "n_epochs" else "")
            raise FacegenError(f"--{key} {value} does not match the run in {out} (trained with {old[key]}){why}; "
                               f"leave the flag out to resume with the run's value, or train into a new --out")


def compute_threads(requested: int) -> int:
    """Set torch's CPU thread count: ``requested``, or with 0 the launcher's OMP_NUM_THREADS if set (torchrun
    sets 1), else one per usable core (:func:`~facegen.core.threads.usable_cores`); returns the count."""
    if requested:
        threads = requested
    elif "OMP_NUM_THREADS" in os.environ:
        threads = torch.get_num_threads()
    else:
        threads = min(torch.get_num_threads(), usable_cores())
    if threads != torch.get_num_threads():
        torch.set_num_threads(threads)
    return threads


def train(cls: type[Model], args: argparse.Namespace) -> Path:
    """Check every flag, load the data, build the model, then train it into ``args.out`` (on every torchrun
    process); returns the run folder. Nothing in ``--out`` is touched until all of that has worked, and an
    existing run is replaced only once the new one has written its first checkpoint (see RunFolder)."""
    for key, value in vars(args).items():  # absolute paths, so a run folder works from any directory
        if isinstance(value, Path):
            setattr(args, key, value.resolve())
    resolve_shards(args)
    resolve_resize(args)
    args.threads = compute_threads(args.threads)  # recorded in flags.json: --resume computes with the same count
    world = distributed.world_from_env()
    if world.is_main:
        check_out(args.out, resume=args.resume, overwrite=args.overwrite)
    if args.resume:
        _check_resume_flags(args.out, args, cls)
        saved_world = Run.load(args.out).world_size
        if saved_world != world.size:  # before any data is decoded
            raise FacegenError(f"{args.out} was trained by {saved_world} process(es) and this is {world.size}: "
                               f"resume with {saved_world} processes in all (--nnodes x --nproc-per-node)")
    check_cache_dir(args.cache_dir)
    device = distributed.start(world, pick_device(args.device))
    seed_everything(args.seed)
    spec = data_spec(args, cls)
    if world.is_main:  # rank 0 draws toy faces and fills the cache; the others then read it
        faces, unpaired = spec.load(on_disk=True), spec.load_unpaired()
    distributed.barrier(world)
    if not world.is_main:
        faces, unpaired = spec.load(on_disk=True), spec.load_unpaired()
    train_faces, val_faces = spec.split(faces)
    cls.data_needs.check(train_faces, cls.name)
    cfg = model_config(args, cls, faces.size, faces.channels, cls.data_needs.cond_dim(faces, train_faces))
    tcfg = train_config(args)
    model = cls(cfg)
    targets = {"n_train_targets": int(train_faces.labelled.sum())} if cls.data_needs.pairs else {}
    run = Run(path=args.out, model_name=cls.name, model_config=cfg.to_dict(), train_config=dataclasses.asdict(tcfg),
              data=spec, dataset={"source": faces.source, "n_faces": len(faces), "n_train": len(train_faces),
                                  "n_val": len(val_faces), "size": faces.size, "channels": faces.channels,
                                  "cond_names": faces.cond_names,
                                  **targets,
                                  **({"n_unpaired": len(unpaired)} if unpaired is not None else {})},
              args={k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
              command=" ".join([Path(sys.argv[0]).name, *sys.argv[1:]]), world_size=world.size)
    folder = RunFolder(args.out, resume=args.resume, overwrite=args.overwrite) if world.is_main else nullcontext()
    with folder:
        distributed.barrier(world)
        path = folder.path if world.is_main else args.out
        if unpaired is not None:
            model.use_unpaired(unpaired)
        trainer = Trainer(model, train_faces, val_faces, tcfg, path, device, run.record(), world,
                          on_checkpoint=folder.commit if world.is_main else None)
        if args.resume:
            trainer.resume()
            if trainer.epoch > tcfg.n_epochs:
                raise FacegenError(f"--n_epochs {tcfg.n_epochs}: the run in {args.out} has trained {trainer.epoch} "
                                   f"epochs already; pass a larger --n_epochs to train on")
            if world.is_main:
                print(f"resuming {args.out} at epoch {trainer.epoch}")
        if world.is_main:
            run.path = path
            run.save()
            n_params = sum(p.numel() for p in model.parameters())
            print(f"{cls.name}: {n_params / 1e6:.2f} M parameters, {len(train_faces)} training / {len(val_faces)} "
                  f"validation faces at {faces.size} px, device {device} ({args.threads} CPU threads)"
                  + (f", {world.size} processes, global batch {tcfg.batch_size * world.size}"
                     if world.distributed else ""))
        history = trainer.fit()
    if world.is_main:
        last = history[-1]
        first = next(k for k in last if k.startswith("train_"))
        print(f"done: epoch {last['epoch']}, {first} {last[first]:.4g}; results in {args.out}")
    distributed.stop()
    return args.out


def check_cache_dir(cache_dir: Path | None) -> None:
    """--cache_dir may be missing (it is made) or read-only (decoding then goes uncached, with one warning
    line), but not a file."""
    if cache_dir is not None and cache_dir.exists() and not cache_dir.is_dir():
        raise FacegenError(f"--cache_dir {cache_dir} is a file: give a folder for the decoded-image cache")


def with_defaults(argv: list[str], defaults: dict[str, str], implied: dict[str, tuple[str, ...]]) -> list[str]:
    """``argv`` after the script's ``defaults`` (flag -> value) that it does not give. With --resume only --out's
    default is added (the run's flags.json holds the others). ``implied``: a given flag counts as giving these
    too (e.g. --dataset gives --data: another dataset takes no default data folder)."""
    given = {a.split("=")[0] for a in argv if a.startswith("--")}
    given |= {flag for key in given for flag in implied.get(key, ())}
    kept = {k: v for k, v in defaults.items() if k not in given and ("--resume" not in given or k == "--out")}
    return [*(text for pair in kept.items() for text in pair), *argv]


def train_main(argv: list[str] | None, default: str, *, defaults: dict[str, str] | None = None,
               implied: dict[str, tuple[str, ...]] | None = None, **parser_kwargs) -> Path:
    """Parse ``argv`` for the model the script trains and train it: ``default``, or the variant of it a flag
    selects (the model's ``variants``); with --resume the run's own model is resumed. ``defaults`` and
    ``implied``: the script's own default flags (:func:`with_defaults`)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    argv = with_defaults(argv, defaults or {}, implied or {})
    variants = model_class(default).variants
    name = default
    for key, model in variants.items():
        flag, _, value = key.partition("=")
        if _flag_value(argv, flag) is not None and (not value or _flag_value(argv, flag) == value):
            name = model
    if "--resume" in argv:
        out = _flag_value(argv, "--out")
        family = {default, *variants.values()}
        name = resumed_model(Path(out) if out else Path("results") / default, family) or name
    cls = model_class(name)
    return train(cls, parse_training_args(cls, argv, **parser_kwargs))


def _flag_value(argv: list[str], flag: str) -> str | None:
    """The value given to ``flag`` in ``argv`` (``--flag V`` or ``--flag=V``), else None."""
    for i, arg in enumerate(argv):
        if arg == flag and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith(flag + "="):
            return arg.split("=", 1)[1]
    return None

