"""Write the card of an exported model (facegen/analysis/editing/model_card.py): MODEL.json beside MODEL.safetensors
with the provenance (the training command, the data, the date, the measured numbers), the model's config, and what its
first use would otherwise measure on the training faces (the photo template, the top principal directions; an
expression editor needs neither).

    python export_model.py --run results/default_cvae --out weights/smile_cvae.safetensors
    python write_model_card.py --run results/default_cvae --model weights/smile_cvae.safetensors
    python export_model.py --run results/taught_editor --out weights/smile_mouths.safetensors
    python write_model_card.py --run results/taught_editor --model weights/smile_mouths.safetensors
"""

from __future__ import annotations

import csv
import datetime
from pathlib import Path

from facegen.analysis.editing.model_card import make_card, model_config, write_card
from facegen.analysis.latent import smile_head
from facegen.cli.args import Parser, add_common_args, add_run_arg, guard, open_run
from facegen.core.errors import FacegenError
from facegen.models.capabilities import Editor, Encoder, SmilePredictor, require
from facegen.runs import Run


def measured(run: Run, model) -> dict:
    """The last epoch's validation terms (training.csv) and, for a run with q(y|x), its held-out smile error."""
    rows = list(csv.DictReader((run.path / "training.csv").open(encoding="utf-8")))
    last = rows[-1]
    out = {"epochs": int(last["epoch"]), **{k: round(float(v), 3) for k, v in last.items()
                                             if k.startswith("val_") and v}}
    if isinstance(model, SmilePredictor):
        out["smile_head_heldout"] = {k: round(v, 4) if isinstance(v, float) else v
                                     for k, v in smile_head.heldout_error(model, *run.faces()).items()}
    return out


def main(argv: list[str] | None = None) -> None:
    p = Parser(description="Write MODEL.json, the card of an exported model, from the run folder it was exported from.")
    add_run_arg(p)
    add_common_args(p)
    p.add_argument("--model", type=Path, required=True, help="the exported model (export_model.py --out)")
    p.add_argument("--note", default="", help="a line added to the provenance (e.g. why the epochs were cut)")
    args = p.parse_args(argv)
    run, model = open_run(args, writes=False)
    if not isinstance(model, Editor):
        require(model, Encoder, "the photo template and principal directions")
    exported = Run.load(args.model)
    if model_config(exported) != model_config(run):
        raise FacegenError(f"--model {args.model} is not the model of --run {args.run}: export it first "
                           f"(python export_model.py --run {args.run} --out {args.model})")
    provenance = {"command": run.command, "data": run.dataset["source"],
                  "n_faces": {k: run.dataset[k] for k in ("n_faces", "n_train", "n_val")},
                  "date": datetime.date.today().isoformat(), "measured": measured(run, model), "note": args.note}
    card = make_card(run, model, provenance)
    what = ("an expression editor: no template or principal directions" if card.template is None or
            card.principal is None else f"template from {card.template.n_faces} faces, "
                                        f"{len(card.principal.names)} principal directions")
    print(f"wrote {write_card(args.model, card)} ({what})")


if __name__ == "__main__":
    guard(main)
