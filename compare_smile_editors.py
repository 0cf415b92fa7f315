"""Compare smile editors on photos none of them trained on, judged by networks that did not make the edits
(facegen.analysis.evaluation.smile_study): the GANimation editor (train_editor.py) beside residual editing with the
semi-supervised CVAE, on held-out UTKFace faces and whole LFW photos.

Writes OUT/study.json, OUT/table.md and, per photo set, OUT/SET_photos.png and OUT/SET_mouths.png.

Example: python compare_smile_editors.py --editor results/editor --cvae results/default_cvae \
    --feature_net results/feature_net --identity results/identity --utkface ../shared/data/utkface \
    --mouths data/mouths --lfw ../shared/data/lfw/photos --out results/editor_study
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from facegen.analysis.evaluation.smile_study import (
    Judges,
    editor_method,
    human_gap,
    lfw_crop_framing,
    residual_method,
    run_set,
    save_strips,
    table,
)
from facegen.analysis.judges.celeba_judge import load_judge as load_smile_judge
from facegen.analysis.judges.identity import load_judge as load_identity_judge
from facegen.cli.args import Parser, guard
from facegen.core.argtypes import int_at_least
from facegen.core.files import write_json
from facegen.core.seeding import seed_everything
from facegen.data.labels import read_smile_labels
from facegen.data.mouths import read_split
from facegen.runs import load_trained


def main(argv: list[str] | None = None) -> None:
    p = Parser(description=__doc__.split("\n\n")[0])
    p.add_argument("--editor", type=Path, default=Path("results/editor"), help="train_editor.py run (or export)")
    p.add_argument("--cvae", type=Path, default=None, help="a CVAE run for residual editing beside the editor")
    p.add_argument("--feature_net", type=Path, default=Path("results/feature_net"),
                   help="train_feature_net.py run with build_smile_judge.py's template: the smile judge")
    p.add_argument("--identity", type=Path, default=Path("results/identity"), help="train_identity.py run")
    p.add_argument("--utkface", type=Path, required=True, help="folder with UTKFace/ and smiles_dataset.txt")
    p.add_argument("--mouths", type=Path, default=Path("data/mouths"),
                   help="prepare_mouths.py output: its split.json names the held-out faces")
    p.add_argument("--ablations", action="store_true",
                   help="also the editor without its reshaping of the mouth, and the reshaping alone")
    p.add_argument("--lfw", type=Path, default=None, help="a folder of whole LFW photos")
    p.add_argument("--n", type=int_at_least(10), default=200, help="held-out UTKFace faces to edit")
    p.add_argument("--seed", type=int, default=0, help="which held-out faces")
    p.add_argument("--out", type=Path, default=Path("results/editor_study"))
    args = p.parse_args(argv)
    seed_everything(args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    write_json(args.out / "flags.json", {k: str(v) for k, v in vars(args).items()})
    labels = read_smile_labels(args.utkface / "smiles_dataset.txt")
    faces_dir = args.utkface / "UTKFace"
    labelled = [n for n in labels if (faces_dir / n).is_file()]
    gap = human_gap([faces_dir / n for n in labelled], [labels[n] for n in labelled])
    print(f"mouth width / jaw width, human-labelled faces: smiling {gap['smiling']:.3f}, not {gap['not_smiling']:.3f}")
    lfw = sorted(args.lfw.glob("*.jpg")) if args.lfw is not None else []
    framing = lfw_crop_framing(lfw or [faces_dir / n for n in labelled[:40]])
    judges = Judges(load_smile_judge(args.feature_net), load_identity_judge(args.identity), framing, gap["gap"])
    editor = load_trained(args.editor)[1]
    methods = {"editor": editor_method(editor)}
    if args.ablations:
        methods.update({"editor, no reshaping": editor_method(editor, reshape=False),
                        "reshaping only": editor_method(editor, draw=False)})
    if args.cvae is not None:
        methods["residual"] = residual_method(*load_trained(args.cvae))
    held = [n for n in read_split(args.mouths) if (faces_dir / n).is_file()]
    pick = np.sort(np.random.default_rng(args.seed).permutation(len(held))[:args.n])
    sets = {"UTKFace held-out": [faces_dir / held[i] for i in pick]}
    if lfw:
        sets["LFW photos"] = lfw
    columns = ["photo", *(f"{m} {t:+g}" for m in methods for t in (-1, 1))]
    results = {}
    for name, paths in sets.items():
        shown: list = []
        results[name] = run_set(paths, methods, judges, shown=shown)
        save_strips(shown, columns, args.out, name.split()[0].lower())
        print(f"{name}: {results[name]['edited']} of {len(paths)} photos edited")
    write_json(args.out / "study.json", {"human_gap": gap, "framing_eyes": framing.eyes, "sets": results})
    (args.out / "table.md").write_text(table(results), encoding="utf-8")
    print(table(results))


if __name__ == "__main__":
    guard(main)
