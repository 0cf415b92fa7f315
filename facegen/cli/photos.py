"""edit_photo.py's job from start to end: the photos edited (:mod:`facegen.analysis.editing.photo_files`) and,
with an identity run, the edits measured in the run's crops (OUT/identity_strip.png, OUT/identity.json)."""

from __future__ import annotations

import torch

from facegen.analysis.editing.photo import FaceEdit
from facegen.analysis.editing.photo_files import PhotoJob, check_job, edit_photos, photo_paths
from facegen.analysis.evaluation import edit_identity
from facegen.analysis.judges.identity import IdentityJudge, load_judge
from facegen.core.files import write_json
from facegen.models.base import Model
from facegen.runs import Run


def run_photo_job(run: Run, model: Model, job: PhotoJob) -> int:
    """Check ``job`` against the run, edit its photos and (``job.identity``) measure the edits; returns how many
    photos could not be edited."""
    check_job(run, model, job)
    photos = photo_paths(job)
    judge = load_judge(job.identity) if job.identity is not None else None  # a bad run fails before any work
    crops, failed = edit_photos(run, model, job, photos)
    if judge is not None and crops:
        identity_strip(judge, run, crops, job)
    return failed


def identity_strip(judge: IdentityJudge, run: Run, crops: list[tuple[str, FaceEdit]], job: PhotoJob) -> None:
    """OUT/identity.json: every face's crop, reconstruction and edits, with the identity distance of each to the
    crop (the judge's framing box fitted on the run's faces); OUT/identity_strip.png shows the first 8 faces."""
    box, _ = edit_identity.framing(judge, run)
    x = torch.stack([e.crop for _, e in crops])
    out = {"reconstruction": torch.stack([e.reconstruction for _, e in crops]),
           **{f"{job.tag} {v:+g}": torch.stack([e.edited_crops[i] for _, e in crops])
              for i, v in enumerate(job.values)}}
    distances = {name: judge.distances(x, images, box).tolist() for name, images in out.items()}
    edit_identity.plot_strip(x, out, distances, judge.threshold, job.out / "identity_strip.png",
                             f"{job.method} edits, identity distance to the aligned photo crop under each (same "
                             f"person: <= {judge.threshold:.2f}; first 8 faces)")
    write_json(job.out / "identity.json", {"identity_run": str(judge.path), "threshold": judge.threshold,
                                           "threshold_strict": judge.threshold_strict, "method": job.method,
                                           "faces": [name for name, _ in crops], "distances": distances})
    for name, d in distances.items():
        print(f"identity distance, {name}: mean {sum(d) / len(d):.3f} over {len(d)} face(s) "
              f"(same person: <= {judge.threshold:.2f})")
