"""evaluate.py: a trained toy model controls the smile, an untrained one does not; the numbers are sound."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from facegen.analysis.evaluation import metrics
from facegen.analysis.judges import pixel
from facegen.models.registry import build_model
from facegen.runs import Run
from tests.helpers import written


@pytest.mark.slow  # smile_run trains for about half a minute
def test_trained_model_controls_the_smile(evaluated_smile_run):
    smile_run, printed = evaluated_smile_run
    assert "smile control" in printed
    m = json.loads((smile_run / "metrics.json").read_text())
    written(smile_run, "plots/smile_response.png", "plots/bias_by_degree.png")
    for name in ("evaluators/smile_regressor.npz", "evaluators/smile_regressor.json",
                 "evaluators/gender_classifier.npz", "evaluators/gender_classifier.json"):
        assert (smile_run / name).is_file(), name
    assert 0 < m["reconstruction"]["val_mse_per_pixel"] < 0.05 and m["reconstruction"]["val_elbo"] < 0
    assert m["evaluators"]["smile_regressor"]["correlation"] > 0.5
    assert m["evaluators"]["gender_classifier"]["accuracy"] > 0.6
    control = m["smile_control"]
    assert control["correlation"] > 0.45 and control["slope"] > 0.2
    assert control["mean_predicted"][-1] > control["mean_predicted"][0]
    assert m["forcing"]["predicted_change"] > 0.3
    assert m["forcing"]["pixel_change_inside_mouth"] > m["forcing"]["pixel_change_outside_mouth"]
    assert 0.2 < m["diversity"]["ratio"] < 2
    bias = m["bias"]  # the data's side counted here from the run's labelled training faces
    train, _ = Run.load(smile_run).faces()
    smiling, female = train.cond[train.labelled, 0] > 0, train.meta["gender"][train.labelled]
    counts = {group: (int(((female == 1) & rows).sum()), int(((female == 0) & rows).sum()))
              for group, rows in (("smiling", smiling), ("not_smiling", ~smiling))}
    assert {g: (bias["data"][g]["female"], bias["data"][g]["male"]) for g in counts} == counts
    shares = {g: f / (f + male) for g, (f, male) in counts.items()}
    assert bias["data_gap"] == pytest.approx(shares["smiling"] - shares["not_smiling"])
    assert len(bias["share_female"]) == len(metrics.DEGREES)
    assert bias["model_gap"] == pytest.approx(bias["share_female"][-1] - bias["share_female"][0])


@pytest.mark.slow
def test_untrained_model_has_no_smile_control(smile_run, tmp_path):
    run = tmp_path / "untrained"
    run.mkdir()
    shutil.copy(smile_run / "flags.json", run)
    run = Run.load(run)
    torch.manual_seed(0)
    model = build_model("cvae", run.model_config).eval()
    m = metrics.evaluate_run(run, model)
    assert abs(m["smile_control"]["correlation"]) < 0.3
    assert abs(m["smile_control"]["slope"]) < 0.02  # trained: about 0.4
    assert abs(m["forcing"]["predicted_change"]) < 0.03
    assert m["diversity"]["ratio"] < 0.1  # an untrained decoder draws nearly the same grey image every time


@pytest.mark.slow
def test_judges_are_cached(evaluated_smile_run):
    smile_run, _ = evaluated_smile_run
    path = smile_run / "evaluators" / "smile_regressor.json"
    before = path.stat().st_mtime_ns
    train, val = Run.load(smile_run).faces()
    judge = pixel.load_or_fit(smile_run, pixel.SMILE, train, val)
    assert path.stat().st_mtime_ns == before
    assert judge.score(val.images).shape == (len(val),)


@pytest.mark.parametrize("kind", ["ridge", "logistic"])
def test_a_judge_stored_as_arrays_scores_as_its_fitted_pipeline(kind, tmp_path):
    from sklearn.linear_model import LogisticRegression, RidgeCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(0)
    x = rng.normal(3, 2, (60, pixel.FEATURE_SIZE ** 2))
    y = (x[:, 0] + x[:, 5] > 6).astype(int) if kind == "logistic" else x[:, 0] - 0.5 * x[:, 7]
    linear = LogisticRegression(C=0.01, max_iter=2000) if kind == "logistic" else RidgeCV(alphas=[1.0, 10.0])
    pipe = make_pipeline(StandardScaler(), linear).fit(x, y)
    judge = pixel.PixelJudge.from_pipeline(kind, pipe, {"n_train": 60})
    want = pipe.predict_proba(x)[:, 1] if kind == "logistic" else pipe.predict(x)
    got = 1 / (1 + np.exp(-judge.linear(x))) if kind == "logistic" else judge.linear(x)
    assert np.allclose(got, want, rtol=0, atol=1e-10)
    pixel._store(tmp_path, "j", judge)
    back = pixel._cached(tmp_path, "j")
    assert back is not None and back.kind == kind and back.heldout == {"n_train": 60}
    assert np.array_equal(back.linear(x), judge.linear(x))


@pytest.mark.slow
def test_a_planted_pickle_among_the_judges_never_runs(smile_run, tmp_path, capsys):
    """An old joblib file is never opened; an .npz whose arrays are pickled objects is not loaded (one line)
    and the judge is fitted again."""
    import pickle

    run = tmp_path / "run"
    shutil.copytree(smile_run, run, ignore=shutil.ignore_patterns("evaluators"))
    marker = tmp_path / "payload_ran"
    (run / "evaluators").mkdir()
    (run / "evaluators" / "smile_regressor.joblib").write_bytes(pickle.dumps(Payload(marker)))
    np.savez(run / "evaluators" / "smile_regressor.npz", mean=np.array([Payload(marker)], dtype=object),
             scale=np.ones(3), coef=np.ones(3))
    (run / "evaluators" / "smile_regressor.json").write_text(json.dumps(
        {"version": pixel.FORMAT_VERSION, "feature_size": pixel.FEATURE_SIZE, "kind": "ridge",
         "intercept": 0.0, "heldout": {}}))
    train, val = Run.load(run).faces()
    capsys.readouterr()
    judge = pixel.load_or_fit(run, pixel.SMILE, train, val)
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "holds pickled objects, which are never loaded" in err[0], err
    assert not marker.exists() and judge.mean.shape == (pixel.FEATURE_SIZE ** 2,)
    assert pixel._cached(run, pixel.SMILE) is not None  # replaced by the fitted arrays


class Payload:
    """Unpickling this runs code: it creates ``marker``."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_pairwise_distance_and_mouth_mask():
    same = torch.full((5, 3, 8, 8), 0.5)
    assert metrics.mean_pairwise_rms(same) == 0
    two = torch.stack([torch.zeros(3, 8, 8), torch.ones(3, 8, 8)])
    assert metrics.mean_pairwise_rms(two) == pytest.approx(1.0)
    mask = metrics.mouth_mask(40)
    assert 0.1 < mask.float().mean() < 0.25 and mask[30, 20] and not mask[5, 20]


def test_gender_by_smile_counts():
    gender = np.array([1, 1, 0, -1, 0, 1])
    degree = np.array([0.5, -0.2, 0.9, 0.1, -1.0, 0.0])
    table = metrics.gender_by_smile(gender, degree)
    assert table["smiling"] == {"female": 1, "male": 1, "unknown": 1, "share_female": 0.5}
    assert table["not_smiling"]["female"] == 2 and table["not_smiling"]["share_female"] == pytest.approx(2 / 3)


@pytest.mark.slow
def test_the_smile_sweep_changes_the_mouth_and_little_else(smile_run):
    """Down a column of sample_prior.py --sweep only the degree changes: on a CVAE trained briefly on toy faces
    the pixels change most in the mouth box (measured: about 1.4 times the change elsewhere, which is the
    short-trained model's blur moving with the condition)."""
    from facegen.analysis.latent import space

    run = Run.load(smile_run)
    model = run.load_model()
    z = space.prior_noise(16, model.latent_size, seed=0)
    rows = space.degree_sweep(model, run, z, [-1.0, 1.0])
    change = (rows[1] - rows[0]).abs().mean(dim=(0, 1))  # (H, W)
    mouth = metrics.mouth_mask(run.size)
    assert change[mouth].mean() > 1.2 * change[~mouth].mean()
    assert change[mouth].mean() > 0.02
