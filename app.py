"""The browser demo: edit the smile of the faces in a photo, and move a model's own sliders over faces drawn from
its prior (facegen/apps/demo.py). Served on 127.0.0.1 only; nothing is fetched from the network.

    python app.py                      # the shipped default model, http://127.0.0.1:7860
    python app.py --run results/cvae_semi --port 8000
"""

from __future__ import annotations

from pathlib import Path

from facegen.analysis.editing.model_card import photo_template
from facegen.analysis.editing.mouth_source import load_mouths, mouths_flag
from facegen.analysis.editing.photo import smile_judge
from facegen.analysis.editing.photo_files import require_code_editing
from facegen.apps.demo import PhotoDemo, PriorDemo, build_page, serve
from facegen.cli.args import Parser, add_common_args, add_run_arg, guard, open_run
from facegen.cli.sliders import build_state
from facegen.core.argtypes import int_between
from facegen.data.cache import list_images
from facegen.models.capabilities import Decoder, Editor, Sampler

EXAMPLES = Path(__file__).resolve().parent.parent / "shared" / "data" / "lfw" / "photos"
PRINCIPAL_SLIDERS = 4  # the first principal axes shown as sliders in the prior tab


def parser() -> Parser:
    p = Parser(description="Serve the smile-editing demo page on 127.0.0.1.")
    add_run_arg(p, default_model=True)
    add_common_args(p)
    p.add_argument("--port", type=int_between(1024, 65535), default=7860, help="local port to serve the page on")
    p.add_argument("--mouths", default=None, help="what draws each mouth anew onto the edits: a mouth bank "
                   "(build_mouth_bank.py) or a taught editor; default the shipped weights/smile_mouths.safetensors; "
                   "'none': the run's edits alone")
    return p


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    run, model = open_run(args, writes=False)
    editor = isinstance(model, Editor)  # an expression editor edits photos itself; a CVAE through its code
    if not editor:
        require_code_editing(run, model)
    mouths = None if editor else mouths_flag(args.mouths)
    photos = PhotoDemo(run, model, None if editor else photo_template(run), None if editor else smile_judge(model, run),
                       None if mouths is None else load_mouths(mouths))
    draws = isinstance(model, Sampler) and isinstance(model, Decoder)
    prior = PriorDemo(build_state(run, model, method="pca", k=PRINCIPAL_SLIDERS)) if draws else None
    examples = list_images(EXAMPLES) if EXAMPLES.is_dir() else []
    title = f"Model: `{run.source.name}` ({run.model_name}, {run.size} px, conditions {', '.join(run.cond_names)})" + \
        ("." if mouths is None else f"; mouths drawn by `{mouths.name}`.")
    serve(build_page(photos, prior, examples, title, args.seed), args.port)


if __name__ == "__main__":
    guard(main)
