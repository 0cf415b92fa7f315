"""compare_smile_editors.py's study as a declared spec: the smile editors (the exemplar editor alone and on top of
residual editing with a CVAE, residual editing alone, the GANimation editor and its ablations) on held-out UTKFace
faces and whole LFW photos, judged by networks that did not make the edits
(:mod:`facegen.analysis.evaluation.smile_study`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from facegen.analysis.editing.exemplar import ExemplarEditor
from facegen.analysis.editing.mouth_source import DrawnMouths
from facegen.analysis.editing.photo import face_template, smile_judge, smile_reading
from facegen.analysis.evaluation.smile_study import (
    Judges,
    Method,
    editor_method,
    human_gap,
    lfw_crop_framing,
    mouth_method,
    residual_method,
    run_set,
    save_strips,
    table,
)
from facegen.analysis.judges.celeba_judge import load_judge as load_smile_judge
from facegen.analysis.judges.identity import load_judge as load_identity_judge
from facegen.core.errors import FacegenError
from facegen.core.files import write_json, write_text
from facegen.data.labels import read_smile_labels
from facegen.data.mouth_bank import load_bank
from facegen.data.mouths import read_split
from facegen.runs import load_trained


@dataclass(frozen=True)
class EditorStudy:
    """Which editors, judges and photos: ``bank`` a build_mouth_bank.py file for the exemplar editor, ``editors``
    train_editor.py or train_taught_editor.py runs, ``cvae`` a CVAE run for residual editing (each None or none:
    left out; with ``cvae`` the exemplar editor and each editor also draw their mouths onto its residual edit, the
    exemplar editor choosing among its shortlist by the CVAE's reading of each blend), ``feature_net`` the smile
    judge's run, ``identity`` the identity judge's, ``utkface`` the folder with UTKFace/ and smiles_dataset.txt,
    ``mouths`` prepare_mouths.py's output (its split names the held-out faces, ``n`` of which are drawn with ``seed``),
    ``lfw`` whole LFW photos (None: none); ``ablations`` adds each editor with the landmark warp of the mouth the
    other way round (GANimation without it, the taught editor with it), and the warp alone."""

    utkface: Path
    out: Path
    bank: Path | None = None
    editors: tuple[Path, ...] = ()
    cvae: Path | None = None
    feature_net: Path = Path("results/feature_net")
    identity: Path = Path("results/identity")
    mouths: Path = Path("data/mouths")
    ablations: bool = False
    lfw: Path | None = None
    n: int = 200
    seed: int = 0


def editor_methods(editors: list, ablations: bool = False, residual: Method | None = None) -> dict[str, Method]:
    """The expression editors' methods by name ("GANimation", "taught editor"); with ``residual`` (residual
    editing) also each one drawing its mouth onto that edit ("residual + taught editor"); with ``ablations`` also
    each one with the landmark warp of the mouth the other way round ("GANimation, no reshaping", "taught editor,
    with reshaping") and the warp alone ("reshaping only")."""
    methods = {}
    for editor in editors:
        name = "taught editor" if editor.draws_shape else "GANimation"
        methods[name] = editor_method(editor)
        if residual is not None:
            methods[f"residual + {name}"] = mouth_method(DrawnMouths(editor), residual)
        if ablations:
            methods[f"{name}, {'with' if editor.draws_shape else 'no'} reshaping"] = \
                editor_method(editor, reshape=editor.draws_shape)
            methods["reshaping only"] = editor_method(editor, reshape=True, draw=False)
    return methods


def run_editor_study(study: EditorStudy) -> str:
    """Edit every photo set with every method, judge the edits, and write OUT/study.json, OUT/table.md and per
    set OUT/SET_photos.png and OUT/SET_mouths.png; returns the table."""
    labels = read_smile_labels(study.utkface / "smiles_dataset.txt")
    faces_dir = study.utkface / "UTKFace"
    labelled = [n for n in labels if (faces_dir / n).is_file()]
    gap = human_gap([faces_dir / n for n in labelled], [labels[n] for n in labelled])
    print(f"mouth width / jaw width, human-labelled faces: smiling {gap['smiling']:.3f}, not {gap['not_smiling']:.3f}")
    lfw = sorted(study.lfw.glob("*.jpg")) if study.lfw is not None else []
    framing = lfw_crop_framing(lfw or [faces_dir / n for n in labelled[:40]])
    judges = Judges(load_smile_judge(study.feature_net), load_identity_judge(study.identity), framing, gap["gap"])
    methods = {}
    residual = read = None
    if study.cvae is not None:
        run, model = load_trained(study.cvae)
        residual = residual_method(run, model)
        read = smile_reading(model, run, face_template(run), smile_judge(model, run))
    if study.bank is not None:
        exemplars = ExemplarEditor(load_bank(study.bank))
        methods["exemplar"] = mouth_method(exemplars)
        if residual is not None:
            methods["residual + exemplar"] = mouth_method(exemplars, residual, read)
    if residual is not None:
        methods["residual"] = residual
    methods.update(editor_methods([load_trained(path)[1] for path in study.editors], study.ablations, residual))
    if not methods:
        raise FacegenError("no editor to compare: give --bank, --cvae or --editor")
    held = [n for n in read_split(study.mouths) if (faces_dir / n).is_file()]
    pick = np.sort(np.random.default_rng(study.seed).permutation(len(held))[:study.n])
    sets = {"UTKFace held-out": [faces_dir / held[i] for i in pick]}
    if lfw:
        sets["LFW photos"] = lfw
    columns = ["photo", *(f"{m} {t:+g}" for m in methods for t in (-1, 1))]
    results = {}
    for name, paths in sets.items():
        shown: list = []
        results[name] = run_set(paths, methods, judges, shown=shown)
        save_strips(shown, columns, study.out, name.split()[0].lower())
        print(f"{name}: {results[name]['edited']} of {len(paths)} photos edited")
    write_json(study.out / "study.json", {"human_gap": gap, "framing_eyes": framing.eyes, "sets": results})
    write_text(study.out / "table.md", table(results))
    return table(results)
