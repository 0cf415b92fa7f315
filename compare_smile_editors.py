"""Compare smile editors on photos none of them trained on, judged by networks that did not make the edits
(facegen.analysis.evaluation.smile_study): the exemplar editor (build_mouth_bank.py) alone and on top of residual
editing with the semi-supervised CVAE, residual editing alone, the GANimation editor (train_editor.py) and the
taught editor (train_taught_editor.py), on held-out UTKFace faces and whole LFW photos.

Writes OUT/study.json, OUT/table.md and, per photo set, OUT/SET_photos.png and OUT/SET_mouths.png.

Example: python compare_smile_editors.py --bank results/mouth_bank.safetensors --cvae results/default_cvae \
    --feature_net results/feature_net --identity results/identity --utkface ../shared/data/utkface \
    --mouths data/mouths --lfw ../shared/data/lfw/photos --out results/editor_study
"""

from __future__ import annotations

from pathlib import Path

from facegen.analysis.evaluation.editor_comparison import EditorStudy, run_editor_study
from facegen.cli.args import Parser, guard
from facegen.core.argtypes import int_at_least
from facegen.core.files import write_json
from facegen.core.seeding import seed_everything


def main(argv: list[str] | None = None) -> None:
    p = Parser(description=__doc__.split("\n\n")[0])
    p.add_argument("--bank", type=Path, default=None, help="build_mouth_bank.py file: the exemplar editor")
    p.add_argument("--editor", type=Path, action="append", default=[], dest="editors",
                   help="train_editor.py or train_taught_editor.py run (or export); repeat for several")
    p.add_argument("--cvae", type=Path, default=None, help="a CVAE run: residual editing (and under the exemplars)")
    p.add_argument("--feature_net", type=Path, default=Path("results/feature_net"),
                   help="train_feature_net.py run with build_smile_judge.py's template: the smile judge")
    p.add_argument("--identity", type=Path, default=Path("results/identity"), help="train_identity.py run")
    p.add_argument("--utkface", type=Path, required=True, help="folder with UTKFace/ and smiles_dataset.txt")
    p.add_argument("--mouths", type=Path, default=Path("data/mouths"),
                   help="prepare_mouths.py output: its split.json names the held-out faces")
    p.add_argument("--ablations", action="store_true",
                   help="also each editor with the landmark warp of the mouth the other way round, and the warp "
                        "alone")
    p.add_argument("--lfw", type=Path, default=None, help="a folder of whole LFW photos")
    p.add_argument("--n", type=int_at_least(10), default=200, help="held-out UTKFace faces to edit")
    p.add_argument("--seed", type=int, default=0, help="which held-out faces")
    p.add_argument("--out", type=Path, default=Path("results/editor_study"))
    args = p.parse_args(argv)
    seed_everything(args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    write_json(args.out / "flags.json", {k: str(v) for k, v in vars(args).items()})
    print(run_editor_study(EditorStudy(**{**vars(args), "editors": tuple(args.editors)})))


if __name__ == "__main__":
    guard(main)
