"""Give the people in a photo a new smile: find each face, align it to the run's training crop, edit it by residual
editing and paste the change back into the photo at its own resolution (see facegen.analysis.editing.photo); then
each face's mouth is drawn anew at the degree asked for (--mouths, facegen.analysis.editing.mouth_source): by default
by the shipped taught editor weights/smile_mouths.safetensors; --mouths results/mouth_bank.safetensors blends in a
real mouth from a bank (build_mouth_bank.py) instead.

Writes OUT/NAME_smile+0.8.png (one per value) and OUT/NAME_strip.png (before | after); the input is never
overwritten. With --identity RUN (train_identity.py), also OUT/identity_strip.png and OUT/identity.json: each face's
aligned crop | the model's reconstruction | each edit, with the identity distance to the crop under each. With a
folder, every photo in it is edited; a photo that cannot be (unreadable, no face, a face too small) gets one line
and the others are still done (exit status 2 if any failed). The work is facegen.cli.photos.

Example: python edit_photo.py ../shared/data/lfw/photos --run results/cvae --smile 0.8 --out results/photos
"""

from __future__ import annotations

import sys
from argparse import ArgumentTypeError
from pathlib import Path

from facegen.analysis.editing.methods import PHOTO_METHODS
from facegen.analysis.editing.mouth_source import SHIPPED_MOUTH_EDITOR, mouths_flag
from facegen.analysis.editing.photo_files import PhotoJob
from facegen.cli.args import Parser, add_common_args, add_condition_args, add_run_arg, condition_values, guard, open_run
from facegen.cli.photos import run_photo_job
from facegen.core.argtypes import float_list
from facegen.core.errors import FacegenError
from facegen.data.mouth_bank import DEFAULT_BANK
from facegen.models.capabilities import Editor


def parser() -> Parser:
    p = Parser(description="Edit the smile of every face in a photo (or a folder of photos) with a trained run.")
    p.add_argument("photos", type=Path, help="a photo (jpg, png, ...) or a folder of photos")
    add_run_arg(p, default_model=True)
    add_common_args(p)
    add_condition_args(p)
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--smile", help="smile degree(s) to give, from -1 to +1; several as a strip, e.g. -1,0,1")
    which.add_argument("--shift", help="change(s) of each face's own smile degree, e.g. 0.5 or -0.5,0.5")
    p.add_argument("--method", choices=PHOTO_METHODS, default="residual",
                   help="residual: add the model's masked change to the photo; replace: put the model's edited face "
                        "where the change is; 'pivotal ...': the same after fitting the code and a decoder copy to "
                        "the face (slower, keeps more of the person; see docs/identity.md)")
    p.add_argument("--mouths", default=None,
                   help="what draws each mouth anew onto a CVAE run's edits: a mouth bank (build_mouth_bank.py) or a "
                        f"taught editor (train_taught_editor.py), e.g. {DEFAULT_BANK}; default the shipped "
                        f"{SHIPPED_MOUTH_EDITOR.parent.name}/{SHIPPED_MOUTH_EDITOR.name}; 'none': the run's edits "
                        "alone")
    p.add_argument("--face", type=int, default=None, help="edit only face K (1 = the largest); default: every face")
    p.add_argument("--identity", type=Path, default=None,
                   help="identity run (train_identity.py): write the crops' identity strip and distances too")
    p.add_argument("--out", type=Path, default=Path("results/photos"),
                   help="folder for the edited photos and strips")
    return p


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    shift = args.smile is None
    flag, low, high = ("--shift", -2.0, 2.0) if shift else ("--smile", -1.0, 1.0)
    try:
        values = float_list(low, high)(args.shift if shift else args.smile)
    except ArgumentTypeError as e:
        raise FacegenError(f"{flag}: {e}") from None
    run, model = open_run(args, writes=False)
    mouths = mouths_flag(args.mouths) if not isinstance(model, Editor) else None if args.mouths is None \
        else Path(args.mouths)
    job = PhotoJob(args.photos, args.out, values, shift, args.method, args.face, args.identity, condition_values(args),
                   mouths)
    if run_photo_job(run, model, job):
        sys.exit(2)


if __name__ == "__main__":
    guard(main)
