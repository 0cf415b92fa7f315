"""Converting a run written while checkpoints and judges were pickles: an explicit opt-in for runs one trusts.

Reading such a run means unpickling it, which runs whatever code its files carry, so no script does it: they
refuse the run in one line that names ``upgrade_run.py --run RUN --trust``. :func:`upgrade_run` unpickles each
old file once and rewrites it so that every later read needs no pickle: checkpoints (``checkpoints/*.pt`` and an
``attribute_net.pt``) with their random states as tensors and plain numbers and every other value plain
(``torch.load(weights_only=True)`` reads them), fitted judges (``evaluators/*.joblib``) as ``.npz`` + ``.json``
(the joblib files are removed).
"""

from __future__ import annotations

import pickle
import warnings
from pathlib import Path

import numpy as np
import torch

from facegen.analysis.judges import pixel
from facegen.core.errors import FacegenError
from facegen.core.files import load_checkpoint, save_checkpoint
from facegen.nn.attrnet import NET_FILE

KINDS = {pixel.SMILE: "ridge", pixel.GENDER: "logistic"}


def plain(obj: object) -> object:
    """``obj`` with NumPy arrays as tensors, NumPy scalars as numbers and paths as strings, through dicts, lists
    and tuples (a state dict keeps its ``_metadata``)."""
    if isinstance(obj, np.ndarray):
        return torch.from_numpy(obj.copy())
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, dict):
        out = type(obj)((k, plain(v)) for k, v in obj.items())
        if hasattr(obj, "_metadata"):
            out._metadata = obj._metadata
        return out
    if type(obj) in (list, tuple):
        return type(obj)(plain(v) for v in obj)
    return obj


def plain_rng(state: dict) -> dict:
    """A random state of :func:`facegen.core.seeding.rng_state` from one saved in the old form (NumPy's legacy
    tuple with its key array, Python's ``random.getstate()`` tuple)."""
    state = dict(state)
    if isinstance(state.get("numpy"), tuple):
        _, key, pos, has_gauss, gauss = state["numpy"]
        state["numpy"] = {"key": torch.from_numpy(np.asarray(key).astype(np.int64)), "pos": int(pos),
                          "has_gauss": int(has_gauss), "gauss": float(gauss)}
    if isinstance(state.get("python"), tuple):
        version, internal, gauss_next = state["python"]
        state["python"] = {"version": version, "internal": torch.tensor(internal, dtype=torch.int64),
                           "gauss_next": gauss_next}
    return state


def _unpickle(path: Path) -> dict:
    """The old checkpoint, unpickled: this runs whatever code it carries (the caller's --trust)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return torch.load(path, map_location="cpu", weights_only=False)  # trusted opt-in: the one unpickling read


def upgrade_checkpoint(path: Path) -> bool:
    """Rewrite one old checkpoint in the plain form; False when it already is."""
    try:
        load_checkpoint(path)
        return False
    except FacegenError:
        pass
    state = plain(_unpickle(path))
    if isinstance(state, dict) and isinstance(state.get("rng"), list):
        state["rng"] = [plain_rng(r) for r in state["rng"]]
    save_checkpoint(path, state)
    try:
        load_checkpoint(path)
    except FacegenError:
        raise FacegenError(f"{path} holds objects other than tensors and plain values even after conversion: "
                           f"re-train the run") from None
    return True


def upgrade_judge(path: Path) -> Path:
    """Rewrite an old joblib judge (``evaluators/NAME.joblib``) as arrays + JSON and remove it."""
    name = path.stem
    if name not in KINDS:
        raise FacegenError(f"{path} is not one of the judges facegen fits ({', '.join(KINDS)}): remove it")
    import joblib

    stored = joblib.load(path)  # trusted opt-in: the one unpickling read of a judge
    judge = pixel.PixelJudge.from_pipeline(KINDS[name], stored["model"], plain(stored.get("heldout", {})))
    pixel._store(path.parents[1], name, judge)
    path.unlink()
    return path.with_suffix(".npz")


def upgrade_run(run: Path) -> list[Path]:
    """Rewrite every old pickled file of the run folder ``run``; returns the files written."""
    run = Path(run)
    if not run.is_dir():
        raise FacegenError(f"--run {run} is not a run folder (an exported .safetensors model holds no pickle)")
    written = [p for p in sorted(run.glob("checkpoints/*.pt")) + sorted(run.glob(NET_FILE)) if upgrade_checkpoint(p)]
    try:
        written += [upgrade_judge(p) for p in sorted(run.glob("evaluators/*.joblib"))]
    except (pickle.UnpicklingError, KeyError, TypeError, AttributeError, IndexError) as e:
        raise FacegenError(f"a judge in {run / 'evaluators'} is not one facegen wrote ({type(e).__name__}): "
                           f"delete it (it is fitted again when needed)") from None
    return written
