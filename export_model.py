"""Write a trained run as one shareable model file: ``python export_model.py --run RUN --out model.safetensors``.

The file is safetensors (raw tensors and a JSON header; loading it runs no code): the model's weights and its
per-epoch tracks, with the run's flags.json and condition names in the header's metadata. Optimizer state and
checkpoints stay behind. Every script that takes ``--run DIR`` takes ``--run model.safetensors`` as well.
"""

from pathlib import Path

from facegen.cli.args import Parser, add_run_arg, guard
from facegen.core.errors import FacegenError
from facegen.core.files import check_writable_file
from facegen.core.lock import check_unlocked
from facegen.runs import MODEL_SUFFIX, export_model, load_trained


def parser() -> Parser:
    p = Parser(description="Export a trained run's model as one safetensors file (weights, tracks, flags as "
                           "metadata) that every --run flag accepts.")
    add_run_arg(p)
    p.add_argument("--out", type=Path, required=True, help=f"the model file to write (ends in {MODEL_SUFFIX})")
    p.add_argument("--overwrite", action="store_true", help="replace --out if it exists")
    return p


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    if args.out.suffix != MODEL_SUFFIX:
        raise FacegenError(f"--out {args.out}: an exported model's name ends in {MODEL_SUFFIX}, e.g. "
                           f"{args.out.with_suffix(MODEL_SUFFIX).name}")
    check_writable_file(args.out, "--out")
    if args.out.exists() and not args.overwrite:
        raise FacegenError(f"--out {args.out} exists: pass --overwrite to replace it, or another --out")
    check_unlocked(args.run)
    run, _ = load_trained(args.run)  # the weights must build the model the flags describe
    export_model(run, args.out)
    print(f"wrote {args.out} ({run.model_name}, {args.out.stat().st_size / 1e6:.1f} MB); use it as --run {args.out}")


if __name__ == "__main__":
    guard(main)
