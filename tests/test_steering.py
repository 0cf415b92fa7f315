"""Steering directions: the maths of InterFaceGAN, GANSpace and SeFa against closed forms and brute force, and the
one code path on a decoder-only model defined here (standing in for a GAN: no encoder) and on the VAE family;
edit measurements; one-line errors with exit status 2."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

import edit_directions
import evaluate_edits
import sample_across_pca_axis
from facegen.analysis.directions.attribute import interfacegan_direction
from facegen.analysis.directions.principal import ganspace_directions, principal_directions, sefa_directions
from facegen.analysis.directions.steering import Sampling, attribute_directions, find_directions
from facegen.analysis.judges.by_attribute import Judges
from facegen.analysis.latent import space
from facegen.cli.args import guard
from facegen.core.errors import FacegenError
from facegen.core.files import save_checkpoint
from facegen.models.base import Model, ModelConfig, option
from facegen.models.capabilities import GaussianPrior
from facegen.models.registry import MODELS, register
from facegen.runs import LAST, Run
from tests.helpers import written


# ---- the maths ------------------------------------------------------------------------------------------------
def test_ganspace_of_a_linear_layer_recovers_its_right_singular_vectors():
    """a = W z with z ~ N(0, I): the activation's principal components are W's left singular vectors, and the
    regression back to z gives the right singular vectors q_k with one step (one sd of the component) = |q_k| = 1."""
    rng = np.random.default_rng(0)
    w = rng.normal(size=(40, 6)) @ np.diag([5, 4, 3, 2, 1, 0.5])
    z = rng.normal(size=(20000, 6))
    units, steps, share = ganspace_directions(z, z @ w.T, 4)
    _, s, vt = np.linalg.svd(w, full_matrices=False)
    assert np.abs(np.abs(np.sum(units * vt[:4], axis=1)) - 1).max() < 2e-3
    assert np.allclose(steps, 1, atol=0.03)
    assert np.allclose(share, s[:4] ** 2 / (s**2).sum(), atol=0.01)


def test_sefa_directions_are_the_eigenvectors_that_move_the_first_layer_most():
    rng = np.random.default_rng(1)
    a = rng.normal(size=(30, 5))
    units, values = sefa_directions(a, 5)
    _, s, vt = np.linalg.svd(a, full_matrices=False)
    assert np.allclose(values, s**2) and np.allclose(np.abs(units @ vt.T), np.eye(5), atol=1e-8)
    assert np.allclose(np.linalg.norm(units, axis=1), 1)
    probes = rng.normal(size=(5000, 5))
    probes /= np.linalg.norm(probes, axis=1, keepdims=True)
    moved = np.linalg.norm(probes @ a.T, axis=1) ** 2  # brute force: no unit direction beats the top eigenvector
    assert moved.max() <= np.linalg.norm(a @ units[0]) ** 2 + 1e-9 and moved.max() > 0.9 * values[0]


def test_interfacegan_finds_the_boundary_of_a_monotone_judge():
    """Scores that rise along a: the SVM on the top and bottom 30 % points along a and separates them."""
    g = torch.Generator().manual_seed(0)
    z = torch.randn(3000, 8, generator=g)
    a = np.array([2.0, -1.0, 0.5, 0, 0, 0, 0, 1.0])
    scores = np.tanh(z.double().numpy() @ a) + 0.05 * np.random.default_rng(0).normal(size=3000)
    b = interfacegan_direction(z, scores, "test", 0.3, 0)
    assert b.normal @ (a / np.linalg.norm(a)) > 0.98 and b.accuracy > 0.97
    assert b.n_train + b.n_test == 1800 and b.step > 0
    for share in (0.0, 0.6):
        with pytest.raises(FacegenError, match="share"):
            interfacegan_direction(z, scores, "test", share, 0)
    with pytest.raises(FacegenError, match="same score"):
        interfacegan_direction(z, np.zeros(3000), "test", 0.3, 0)


# ---- a decoder-only model, standing in for a GAN ----------------------------------------------------------------
@dataclass
class PCAGeneratorConfig(ModelConfig):
    code: int = option(6, "latent size")


class PCAGenerator(GaussianPrior, Model):
    """A linear generator x = clamp(m + W z, 0, 1), z ~ N(0, I): the top principal components of toy faces, each
    column of W one component times its standard deviation. No encoder."""

    Config = PCAGeneratorConfig

    def __init__(self, cfg: PCAGeneratorConfig):
        super().__init__(cfg)
        self.layer = nn.Linear(cfg.code, cfg.channels * cfg.size**2)

    @property
    def latent_size(self) -> int:
        return self.cfg.code

    def decode(self, z, y=None):
        return self.layer(z).clamp(0, 1).view(-1, self.cfg.channels, self.cfg.size, self.cfg.size)

    def train_step(self, batch, step):
        """Not used here (the weights are set from PCA): a tied-weight linear autoencoder's step, whose optimum
        spans the same principal subspace."""
        x = batch.x.flatten(1)
        loss = (self.layer((x - self.layer.bias) @ self.layer.weight) - x).square().mean()
        step.update(loss, "model")
        return {"loss": loss.detach()}

    def first_layer_weight(self):
        return self.layer.weight.detach()

    def generator_features(self, z, y=None):
        return self.layer(z)


@pytest.fixture(scope="module")
def generator_run(tiny_run, tmp_path_factory) -> Path:
    """A run folder of the PCA generator fitted to the tiny run's toy faces (the same data spec, so the judges fit
    on the same labelled faces)."""
    register("pca_generator_test")(PCAGenerator)
    source = Run.load(tiny_run)
    faces = source.faces()[0]
    x = faces.images.flatten(1).double() / 255
    mean = x.mean(0)
    _, s, vt = torch.linalg.svd(x - mean, full_matrices=False)
    model = PCAGenerator(PCAGeneratorConfig(size=source.size, channels=source.channels, code=6))
    with torch.no_grad():
        model.layer.weight.copy_((vt[:6].T * s[:6] / (len(x) - 1) ** 0.5).float())
        model.layer.bias.copy_(mean.float())
    out = tmp_path_factory.mktemp("generator")
    Run(path=out, model_name="pca_generator_test", model_config=model.cfg.to_dict(), train_config={},
        data=source.data, dataset=source.dataset).save()
    save_checkpoint(out / LAST, {"model": model.state_dict()})
    yield out
    MODELS.pop("pca_generator_test")


def test_principal_directions_of_the_generator_in_closed_form(generator_run):
    """W's columns are orthogonal with falling norms, so SeFa and GANSpace both find the latent axes in order."""
    run = Run.load(generator_run)
    model = run.load_model()
    sefa = find_directions(run, model, "sefa", k=3)
    gs = find_directions(run, model, "ganspace", k=3, sampling=Sampling(n_samples=2000))
    assert np.allclose(np.abs(sefa.vectors), np.eye(6)[:3], atol=1e-6) and np.allclose(sefa.scales, 1)
    # GANSpace estimates from 2000 samples; the top two components (36 % and 20 % of the variance) are well apart
    assert np.abs(gs.vectors[0, 0]) > 0.99 and np.abs(gs.vectors[1, 1]) > 0.98, gs.vectors
    assert np.allclose(gs.scales, 1, atol=0.05) and np.allclose(gs.center, 0)
    with pytest.raises(FacegenError, match="isotropic"):
        find_directions(run, model, "pca", k=2)
    with pytest.raises(FacegenError, match="--k 7"):
        find_directions(run, model, "sefa", k=7)
    with pytest.raises(FacegenError, match="encode"):
        attribute_directions(run, model, "svm", "smile")


def test_interfacegan_on_a_model_without_an_encoder_moves_the_smile_judge(generator_run, capsys):
    run = Run.load(generator_run)
    model = run.load_model()
    judges = Judges(run, model)
    dirs = attribute_directions(run, model, "interfacegan", "smile", ["gender"], judges, Sampling(n_samples=1000))
    assert dirs.names == ["smile", "smile given gender"] and dirs.info["accuracy"] > 0.8
    assert abs(dirs.vectors[1] @ np.array(dirs.info["conditioned"]["condition_normals"][0])) < 1e-9
    z = space.prior_noise(200, 6, 5)
    smile = judges.get("smile")
    none = torch.zeros(200, 0)
    before = smile.score(space.decode(model, z, none))
    after = smile.score(space.decode(model, z + 2 * torch.from_numpy(dirs.vectors[0]).float(), none))
    assert (after - before).mean() > 0.2
    edit_directions.main(["--run", str(generator_run), "--attribute", "smile", "--method", "interfacegan",
                          "--n", "2", "--samples", "400", "--amounts", "0:2:1"])
    out = generator_run / "attributes" / "directions"
    assert json.loads((out / "smile_interfacegan.json").read_text())["method"] == "interfacegan"
    written(out, "smile_interfacegan.png")
    sample_across_pca_axis.main(["--run", str(generator_run), "--method", "sefa", "--k", "2", "--steps", "3"])
    written(generator_run, "axis/sefa_overview.png")


def test_evaluate_edits_on_the_generator(generator_run):
    evaluate_edits.main(["--run", str(generator_run), "--attributes", "smile", "--n", "60", "--samples", "600",
                         "--distances", "1,3", "--k", "2"])
    out = generator_run / "steering"
    rows = json.loads((out / "edits.json").read_text())["rows"]
    assert [r["edit"] for r in rows[::2]] == ["interfacegan smile", "ganspace gs0", "ganspace gs1", "sefa sefa0",
                                              "sefa sefa1"]
    far = rows[1]
    assert far["distance"] == 3 and far["flips_add"] > 0.5 and far["delta_smile"] > rows[0]["delta_smile"] > 0
    assert far["n_add"] + far["n_remove"] == 60 and far["feature_move"] > rows[0]["feature_move"] > 0
    assert {"delta_smile", "delta_gender"} <= set(far)
    cos = json.loads((out / "edits.json").read_text())["cosines"]
    m = np.array(cos["matrix"])
    assert np.allclose(np.diag(m), 1) and np.allclose(m, m.T)
    assert abs(m[1, 3]) > 0.99  # ganspace gs0 and sefa0 are the same axis here
    assert "| interfacegan smile | 3 |" in (out / "edits.md").read_text()


def test_evaluate_edits_on_a_cvae_measures_the_condition_and_every_method(tiny_run):
    evaluate_edits.main(["--run", str(tiny_run), "--n", "24", "--samples", "300", "--distances", "2", "--k", "1",
                         "--shifts", "1", "--attributes", "smile"])
    rows = json.loads((tiny_run / "steering" / "edits.json").read_text())["rows"]
    edits = [r["edit"] for r in rows]
    assert edits == ["interfacegan smile", "mean_diff smile", "svm smile", "pca pc0", "ganspace gs0", "sefa sefa0",
                     "condition smile"]
    last = rows[-1]
    assert last["unit"] == "smile units" and last["n_add"] > 0
    flipped = last["flips_add"] * last["n_add"]  # a share of faces, not a mean score
    assert 0 <= last["flips_add"] <= 1 and flipped == pytest.approx(round(flipped))


def test_pca_walk_follows_the_fitted_components(tiny_run):
    run = Run.load(tiny_run)
    model = run.load_model()
    dirs = principal_directions(run, model, "pca", 3)
    mu = space.encode_faces(model, run.faces()[0])[0]
    pca = space.fit_pca(mu)
    scores = pca.transform(dirs.walk(1, [-2.0, 0.0, 2.0]).double().numpy())
    std = np.sqrt(pca.explained_variance_[1])
    assert np.allclose(scores[:, 1], [-2 * std, 0, 2 * std], atol=1e-4)
    assert np.allclose(np.delete(scores, 1, axis=1), 0, atol=1e-4)
    assert np.allclose(dirs.scales, np.sqrt(pca.explained_variance_[:3]))


def fails(capsys, main, *args: str) -> str:
    """Run a script's main as its command line does (through guard): exit status 2 and one line on stderr."""
    capsys.readouterr()
    with pytest.raises(SystemExit) as e:
        guard(lambda: main(list(args)))
    err = capsys.readouterr().err.strip()
    assert e.value.code == 2 and err and "\n" not in err, err
    return err


def test_bad_input_is_one_line_and_exit_status_2(tiny_run, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    # no trained attribute net, even where the project has one: Wearing_Hat has no judge
    monkeypatch.setattr("facegen.analysis.judges.by_attribute.DEFAULT_FEATURE_NET", tmp_path / "no_attribute_net.pt")
    not_a_decoder = tmp_path / "classifier"  # the run's flags, declared as a model that cannot decode
    not_a_decoder.mkdir()
    run = Run.load(tiny_run)
    run.path, run.model_name = not_a_decoder, "attrnet"
    run.save()
    assert "decode" in fails(capsys, evaluate_edits.main, "--run", str(not_a_decoder))
    assert "Wearing_Hat" in fails(capsys, edit_directions.main, "--run", str(tiny_run), "--attribute", "Wearing_Hat",
                                  "--method", "interfacegan", "--samples", "100")
    assert "--method" in fails(capsys, edit_directions.main, "--run", str(tiny_run), "--attribute", "smile",
                               "--method", "lda")
    assert "--k 99" in fails(capsys, sample_across_pca_axis.main, "--run", str(tiny_run), "--k", "99")
    assert "unknown method" in fails(capsys, evaluate_edits.main, "--run", str(tiny_run), "--principal", "ica")
