"""Cut the smile editor's training patches (the mouth-and-cheeks frame of facegen.data.mouths) from UTKFace and
label them: the study's human degree where there is one, else the degree the mouth's shape gives (a ridge
regression on landmark geometry fitted to the human degrees, facegen.data.smile_geometry).

Writes OUT/images/*.png, OUT/mouths.npz (landmarks, features), OUT/labels.csv (the editor's --labels),
OUT/labeller.json and OUT/split.json (the held-out faces no editor trains on), OUT/flags.json.

Example: python prepare_mouths.py --data ../shared/data/utkface/UTKFace \
    --labels ../shared/data/utkface/smiles_dataset.txt --n 10000 --out data/mouths
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from facegen.cli.args import Parser, guard
from facegen.core.argtypes import int_at_least, int_between
from facegen.core.files import write_json
from facegen.data.labels import read_smile_labels
from facegen.data.mouths import SIZE, editor_split, prepare_mouths, read_mouths
from facegen.data.smile_geometry import cross_validate, fit


def main(argv: list[str] | None = None) -> None:
    p = Parser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, required=True, help="UTKFace image folder")
    p.add_argument("--labels", type=Path, required=True, help="the study's smile labels (smiles_dataset.txt)")
    p.add_argument("--n", type=int_at_least(0), default=10000, help="unlabelled training faces to cut (default 10000)")
    p.add_argument("--size", type=int_between(32, 256), default=SIZE, help=f"patch side in px (default {SIZE})")
    p.add_argument("--seed", type=int, default=0, help="which unlabelled faces are taken")
    p.add_argument("--out", type=Path, default=Path("data/mouths"))
    args = p.parse_args(argv)
    human = read_smile_labels(args.labels)
    train, held = editor_split(args.data, args.labels)
    labelled = [n for n in train if n in human]
    rest = [n for n in train if n not in human]
    pick = np.random.default_rng(args.seed).permutation(len(rest))[:args.n]
    names = labelled + [rest[i] for i in np.sort(pick)]
    counts = prepare_mouths([args.data / n for n in names], args.out, args.size)
    patches, _, features = read_mouths(args.out)
    source = [n.removesuffix(".png") for n in patches]
    known = np.array([n in human for n in source])
    degrees = np.array([human.get(n, np.nan) for n in source])
    labeller = fit(features[known], degrees[known])
    labeller.save(args.out / "labeller.json")
    check = cross_validate(features[known], degrees[known])
    degrees[~known] = labeller.predict(features[~known])
    rows = "".join(f"{i},{n},{d:.4f}\n" for i, (n, d) in enumerate(zip(patches, degrees, strict=True)))
    (args.out / "labels.csv").write_text(",stimulus_filename,avg_encode\n" + rows, encoding="utf-8")
    write_json(args.out / "split.json", {"held_out": held, "trained": names})
    write_json(args.out / "flags.json", {**{k: str(v) for k, v in vars(args).items()}, "counts": counts,
                                         "labeller_cv": check, "human_labelled": int(known.sum()),
                                         "smiling_share": float((degrees > 0).mean())})
    print(f"{counts['patches']} mouth patches ({int(known.sum())} with human degrees; {counts['skipped']} photos "
          f"without an editable face) -> {args.out}; labeller held-out r {check['correlation']:.2f}, sign agreement "
          f"{check['sign_agreement']:.0%}; {float((degrees > 0).mean()):.0%} smiling")


if __name__ == "__main__":
    guard(main)
