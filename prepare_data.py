"""Write a face dataset once as shards on disk, for training with ``--shards DIR`` (see --help).

    python prepare_data.py --dataset toy --n_toy 200000 --resize 128 --out data/shards/toy128
    python prepare_data.py --dataset utkface --data data/UTKFace --labels data/smiles_dataset.txt --resize 64 --out DIR
"""

from pathlib import Path

from facegen.cli.args import Parser, guard
from facegen.core.argtypes import int_at_least, int_between, nonnegative_int, seed
from facegen.core.errors import FacegenError
from facegen.core.files import write_json
from facegen.data.prepare import prepare


def main(argv: list[str] | None = None) -> None:
    p = Parser(description="Write faces and their labels as shards (pre-resized uint8 faces, a manifest with "
                           "checksums) that every training script reads with --shards DIR, a batch at a time.")
    p.add_argument("--dataset", required=True, choices=["toy", "utkface", "celeba", "lfw"], help="which faces")
    p.add_argument("--data", type=Path, default=None, help="image folder (utkface, celeba, lfw)")
    p.add_argument("--labels", type=Path, default=None, help="smile label file (utkface)")
    p.add_argument("--attrs", type=Path, default=None, help="list_attr_celeba.txt (celeba)")
    p.add_argument("--resize", type=int_between(32, 128), required=True, help="square size in pixels, 32-128")
    p.add_argument("--grayscale", action="store_true", help="1 channel instead of RGB")
    p.add_argument("--out", type=Path, required=True, help="the shard folder to write (replaced if it exists)")
    p.add_argument("--shard_size", type=int_at_least(1), default=5000, help="faces per shard")
    p.add_argument("--n_toy", type=int_at_least(4), default=3000, help="toy faces to draw (--dataset toy)")
    p.add_argument("--seed", type=seed, default=0, help="seed of the toy faces")
    p.add_argument("--num_workers", type=nonnegative_int, default=0, help="threads that decode or draw (0: all)")
    args = p.parse_args(argv)
    if args.dataset != "toy" and args.data is None:
        raise FacegenError(f"--dataset {args.dataset} needs --data DIR (the image folder)")
    if args.out.exists() and not (args.out / "shards.json").is_file():
        raise FacegenError(f"--out {args.out} exists and is not a shard folder: pick a new folder")
    manifest = prepare(args.dataset, args.out, size=args.resize, channels=1 if args.grayscale else 3,
                       shard_size=args.shard_size, seed=args.seed, n_toy=args.n_toy, data=args.data,
                       labels=args.labels, attrs=args.attrs, num_workers=args.num_workers)
    write_json(args.out / "flags.json", {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()})
    print(f"wrote {manifest.n} faces at {manifest.size} px in {manifest.n_shards} shards into {args.out}")


if __name__ == "__main__":
    guard(main)
