"""Give the people in a photo a new smile: find each face, align it to the run's training crop, edit it by residual
editing and paste the change back into the photo at its own resolution (see facegen.analysis.editing.photo).

Writes OUT/NAME_smile+0.8.png (one per value) and OUT/NAME_strip.png (before | after); the input is never
overwritten. With --identity RUN (train_identity.py), also OUT/identity_strip.png and OUT/identity.json: each face's
aligned crop | the model's reconstruction | each edit, with the identity distance to the crop under each. With a
folder, every photo in it is edited; a photo that cannot be (unreadable, no face, a face too small) gets one line
and the others are still done (exit status 2 if any failed).

Example: python edit_photo.py ../shared/data/lfw/photos --run results/cvae --smile 0.8 --out results/photos
"""

from __future__ import annotations

import sys
from argparse import ArgumentTypeError
from pathlib import Path

import torch
from PIL import Image

from facegen import plots
from facegen.analysis.editing.methods import PHOTO_METHODS
from facegen.analysis.editing.model_card import photo_template
from facegen.analysis.editing.photo import FaceEdit, edit_photo, smile_judge
from facegen.analysis.evaluation import edit_identity
from facegen.analysis.judges.identity import IdentityJudge, load_judge
from facegen.analysis.latent import space
from facegen.cli.args import (
    Parser,
    add_common_args,
    add_condition_args,
    add_run_arg,
    condition_values,
    guard,
    open_run,
)
from facegen.core.argtypes import float_list
from facegen.core.errors import FacegenError
from facegen.core.files import write_json
from facegen.data.cache import IMAGE_SUFFIXES, list_images
from facegen.data.photos import read_photo

STRIP_HEIGHT = 256  # px: photos are shrunk to this height in the before / after strip


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
    p.add_argument("--face", type=int, default=None, help="edit only face K (1 = the largest); default: every face")
    p.add_argument("--identity", type=Path, default=None,
                   help="identity run (train_identity.py): write the crops' identity strip and distances too")
    p.add_argument("--out", type=Path, default=Path("results/photos"),
                   help="folder for the edited photos and strips")
    return p


def save_png(image: torch.Tensor, path: Path) -> None:
    Image.fromarray((image.clamp(0, 1) * 255).round().byte().permute(1, 2, 0).numpy()).save(path)


def outputs(path: Path, out: Path, tag: str, values: list[float]) -> list[Path]:
    """What editing ``path`` writes: OUT/NAME_TAG+V.png per value, then OUT/NAME_strip.png."""
    return [*(out / f"{path.stem}_{tag}{v:+g}.png" for v in values), out / f"{path.stem}_strip.png"]


def check_no_input_overwritten(photos: list[Path], out: Path, tag: str, values: list[float]) -> None:
    """Refuse, before anything is written, a call whose outputs would land on one of its input photos (e.g. --out
    the photos' own folder holding face.jpg and face_smile+1.png): no input is ever written over."""
    inputs = {p.resolve(): p for p in photos}
    for path in photos:
        for target in [*outputs(path, out, tag, values), out / "identity_strip.png", out / "identity.json"]:
            if target.resolve() in inputs:
                raise FacegenError(f"--out {out}: editing {path.name} would write {target.name} over the input photo "
                                   f"{inputs[target.resolve()]}; pass another --out (e.g. a new folder)")


def edit_one(path: Path, args, run, model, template, judge, values: list[float], others: dict[str, float],
             crops: list[tuple[str, FaceEdit]]) -> list[Path]:
    photo = read_photo(path)
    degrees, shifts = (values, None) if args.smile is not None else (None, values)
    done = edit_photo(model, run, photo, template, degrees, shifts, args.method, judge, args.face, str(path), **others)
    for k, face_edit in enumerate(done.edits):
        crops.append((f"{path.stem[:12]} {k + 1}" if len(done.edits) > 1 else path.stem[:14], face_edit))
    args.out.mkdir(parents=True, exist_ok=True)
    tag = "smile" if args.smile is not None else "shift"
    written = outputs(path, args.out, tag, values)[:-1]
    for out, image in zip(written, done.photos, strict=True):
        save_png(image, out)
    strip = torch.stack([photo, *done.photos])
    h = min(STRIP_HEIGHT, photo.shape[1])
    strip = torch.nn.functional.interpolate(strip, size=(h, round(photo.shape[2] * h / photo.shape[1])),
                                            mode="bilinear", antialias=True, align_corners=False)
    plots.save_labelled_rows(strip[None], [path.stem[:16]], outputs(path, args.out, tag, values)[-1],
                             col_labels=["photo", *(f"{tag} {v:+g}" for v in values)])
    print(f"{path.name}: {len(done.edits)} face(s) edited (aligned by {', '.join(sorted(set(done.aligned_by)))}) -> "
          f"{', '.join(p.name for p in written)} in {args.out}")
    return written


def identity_strip(judge: IdentityJudge, run, crops: list[tuple[str, FaceEdit]], values: list[float], tag: str,
                   args) -> None:
    """OUT/identity.json: every face's crop, reconstruction and edits, with the identity distance of each to the
    crop (the judge's framing box fitted on the run's faces); OUT/identity_strip.png shows the first 8 faces."""
    box, _ = edit_identity.framing(judge, run)
    x = torch.stack([e.crop for _, e in crops])
    out = {"reconstruction": torch.stack([e.reconstruction for _, e in crops]),
           **{f"{tag} {v:+g}": torch.stack([e.edited_crops[i] for _, e in crops]) for i, v in enumerate(values)}}
    distances = {name: judge.distances(x, images, box).tolist() for name, images in out.items()}
    edit_identity.plot_strip(x, out, distances, judge.threshold, args.out / "identity_strip.png",
                       f"{args.method} edits, identity distance to the aligned photo crop under each (same person: "
                       f"<= {judge.threshold:.2f}; first 8 faces)")
    write_json(args.out / "identity.json", {"identity_run": str(judge.path), "threshold": judge.threshold,
                                            "threshold_strict": judge.threshold_strict, "method": args.method,
                                            "faces": [name for name, _ in crops], "distances": distances})
    for name, d in distances.items():
        print(f"identity distance, {name}: mean {sum(d) / len(d):.3f} over {len(d)} face(s) "
              f"(same person: <= {judge.threshold:.2f})")


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    text, flag, low, high = (args.smile, "--smile", -1.0, 1.0) if args.smile is not None else \
        (args.shift, "--shift", -2.0, 2.0)
    try:
        values = float_list(low, high)(text)
    except ArgumentTypeError as e:
        raise FacegenError(f"{flag}: {e}") from None
    run, model = open_run(args, writes=False)
    editor = model.can("edit")  # an expression editor (train_editor.py), else a CVAE edited through its latent code
    if not editor:
        run.require("encode", "editing photos")
        run.require("decode", "editing photos")
        space.require_conditional(run, "editing a photo's smile")
    elif args.identity is not None:
        raise FacegenError("--identity measures a CVAE run's edits in its own crops; an expression editor's edits are "
                           "measured by compare_smile_editors.py: drop --identity")
    elif args.method != "residual":
        raise FacegenError(f"--method {args.method} is a way of editing with a CVAE run; {run.path.name} is an "
                           "expression editor: drop --method")
    others = condition_values(args)
    if not args.photos.exists():
        raise FacegenError(f"{args.photos} not found: give a photo or a folder of photos")
    photos = list_images(args.photos, "give a photo or a folder of photos") if args.photos.is_dir() else [args.photos]
    if not args.photos.is_dir() and args.photos.suffix.lower() not in IMAGE_SUFFIXES:
        raise FacegenError(f"{args.photos} is not a photo ({' '.join(IMAGE_SUFFIXES)})")
    check_no_input_overwritten(photos, args.out, "smile" if args.smile is not None else "shift", values)
    if run.channels == 1:
        print("note: the run is greyscale; colour photos are edited through their grey version")
    template = None if editor else photo_template(run)
    judge = None if editor else smile_judge(model, run)
    judged = load_judge(args.identity) if args.identity is not None else None  # a bad run fails before any work
    crops: list[tuple[str, FaceEdit]] = []
    failed = 0
    for path in photos:
        try:
            edit_one(path, args, run, model, template, judge, values, others, crops)
        except FacegenError as e:
            if len(photos) == 1:
                raise
            failed += 1
            print(f"skipped {path.name}: {e}", file=sys.stderr)
    if judged is not None and crops:
        identity_strip(judged, run, crops, values, "smile" if args.smile is not None else "shift", args)
    if failed:
        print(f"{failed} of {len(photos)} photos could not be edited (see above)", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    guard(main)
