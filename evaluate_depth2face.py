"""Measure depth -> face runs on their held-out subjects: fidelity, correspondence, realism, diversity, cycling.

``python evaluate_depth2face.py --run results/d2f_supervised [--run ...] --face2depth results/face2depth``
writes RUN/depth2face_metrics.json and RUN/plots/depth2face_heldout.png for each run and prints a table (also
written to --table). The face2depth run (depth2face.py --mode face2depth, on the same pairs and split) is the
judge of correspondence and the feature space of realism and diversity; see facegen/analysis/evaluation/translation.py.
"""

from pathlib import Path

from facegen.analysis.evaluation.translation import evaluate_translator, table
from facegen.cli.args import Parser, add_common_args, guard
from facegen.core.devices import pick_device
from facegen.core.files import write_text
from facegen.core.seeding import seed_everything
from facegen.models.capabilities import Translator, require
from facegen.runs import Run


def parser() -> Parser:
    p = Parser(description=__doc__.splitlines()[0])
    add_common_args(p)
    p.add_argument("--run", type=Path, action="append", required=True,
                   help="run folder of a depth -> face model (repeat for several)")
    p.add_argument("--face2depth", type=Path, required=True,
                   help="run folder of a face2depth model trained on the same pairs (the judge)")
    p.add_argument("--table", type=Path, default=None, help="also write the markdown table to this file")
    return p


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    seed_everything(args.seed)
    device = pick_device(args.device)
    judge_run = Run.load(args.face2depth)
    require(judge_run.model_class, Translator, "judging correspondence")
    judge = judge_run.load_model(device)
    results = []
    for path in args.run:
        run = Run.load(path)
        require(run.model_class, Translator, "evaluating a depth -> face translator")
        results.append(evaluate_translator(run, run.load_model(device), judge_run, judge, device, args.seed))
    lines = table(results)
    print("\n".join(lines))
    if args.table is not None:
        write_text(args.table, "\n".join(lines) + "\n")


if __name__ == "__main__":
    guard(main)
