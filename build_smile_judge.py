"""Make the CelebA smile judge of edits from a train_feature_net.py run: measure where its input puts the eyes
(on CelebA faces, with the landmark detector) and check it against the study's 185 human smile degrees.

Writes FEATURE_RUN/smile_judge_template.json and FEATURE_RUN/smile_judge_check.json.

Example: python build_smile_judge.py --feature_net results/feature_net --data ../shared/data/celeba/img_align_celeba
    --attrs ../shared/data/celeba/list_attr_celeba.txt --utkface ../shared/data/utkface
"""

from __future__ import annotations

from pathlib import Path

from facegen.analysis.judges.celeba_judge import build_template, check_against_humans, load_judge
from facegen.cli.args import Parser, guard
from facegen.core.files import write_json
from facegen.data.labels import read_smile_labels
from facegen.data.photos import read_photo


def main(argv: list[str] | None = None) -> None:
    p = Parser(description=__doc__.split("\n\n")[0])
    p.add_argument("--feature_net", type=Path, default=Path("results/feature_net"), help="train_feature_net.py run")
    p.add_argument("--data", type=Path, required=True, help="CelebA img_align_celeba folder")
    p.add_argument("--attrs", type=Path, required=True, help="CelebA list_attr_celeba.txt")
    p.add_argument("--utkface", type=Path, default=None,
                   help="folder with UTKFace/ and smiles_dataset.txt: check the judge against the human degrees")
    p.add_argument("--seed", type=int, default=0, help="unused (the measurement is deterministic); kept for --seed")
    args = p.parse_args(argv)
    build_template(args.feature_net, args.data, args.attrs)
    judge = load_judge(args.feature_net)
    if args.utkface is not None:
        labels = read_smile_labels(args.utkface / "smiles_dataset.txt")
        names = [n for n in labels if (args.utkface / "UTKFace" / n).is_file()]
        check = check_against_humans(judge, [read_photo(args.utkface / "UTKFace" / n) for n in names],
                                     [labels[n] for n in names])
        write_json(args.feature_net / "smile_judge_check.json", check)
        print(f"smile judge against the human degrees: {check['judged']} of {check['photos']} faces judged, sign "
              f"agreement {check['sign_agreement']:.0%}, ROC AUC {check['roc_auc']:.3f}, r {check['correlation']:.2f}")


if __name__ == "__main__":
    guard(main)
