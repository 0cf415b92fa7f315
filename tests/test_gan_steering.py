"""The GAN family's steering hooks against brute force: SeFa's matrix A is what the generator's first layer applies
to z (and the 1x1 transposed convolution it stands for), SeFa's directions are A's right singular vectors,
GANSpace's features are what the sampling generator computes after its first block; evaluate_edits.py end to end
on a DC-GAN run, and on a flow run (whose codes are flat vectors) with SeFa and GANSpace refused in one line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

import dcgan
import edit_directions
import evaluate_edits
from facegen.analysis.directions.principal import available_methods, sefa
from facegen.cli.args import guard
from facegen.core.files import save_checkpoint
from facegen.models.capabilities import Encoder
from facegen.models.flow.glow import GlowConfig, GlowModel
from facegen.models.gan.dcgan import DCGAN
from facegen.models.registry import build_model
from facegen.runs import LAST, Run
from tests.fakes import SMALL_GAN, SMALL_VAEGAN, gan_args

SIZE = 32
LATENT = SMALL_GAN["latent_size"]
MODELS = [("dcgan", SMALL_GAN), ("cgan", SMALL_GAN), ("vaegan", SMALL_VAEGAN), ("cvaegan", SMALL_VAEGAN),
          ("dcgan", {**SMALL_GAN, "ema": 0.9})]
IDS = ["dcgan", "cgan", "vaegan", "cvaegan", "dcgan-ema"]


def tiny(name: str, options: dict, cond_dim: int = 2):
    """A 32 px model with random BatchNorm statistics (so eval mode differs from train mode), in eval mode; for
    --ema, the training generator moved away from its average, so using the wrong one shows."""
    torch.manual_seed(0)
    model = build_model(name, {"size": SIZE, "channels": 3, "cond_dim": cond_dim, **options})
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.normal_(0, 0.1)
                m.running_var.uniform_(0.5, 2)
        if isinstance(model, DCGAN) and model.ema is not None:
            for p in model.generator.parameters():
                p.add_(torch.randn_like(p) * 0.05)
    return model.eval()


def inputs(model, n: int = 5, seed: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, LATENT, generator=g), torch.randn(n, model.cond_dim, generator=g)


@pytest.mark.parametrize(("name", "options"), MODELS, ids=IDS)
def test_sefa_matrix_is_what_the_first_layer_applies_to_z(name, options):
    """A z is the change z makes to the map BatchNorm receives (the condition's part B y held fixed), with rows in
    the (C, 4, 4) order of that map; it is also the output of the 4x4 transposed convolution of a 1x1 code that the
    linear layer stands for. SeFa's directions are A's right singular vectors, its eigenvalues A's squared
    singular values."""
    model = tiny(name, options)
    gen = model.sampler()
    modules = dict(model.named_children())
    assert gen is modules["generator_ema" if "ema" in options else "decoder" if "vaegan" in name else "generator"]
    a = model.first_layer_weight()
    c, s, _ = gen.start
    assert a.shape == (c * s * s, LATENT) and a.dtype == torch.float32 and not a.requires_grad
    seen = []
    gen.fc_norm[0].register_forward_hook(lambda m, args, out: seen.append(args[0].clone()))
    z, y = inputs(model)
    model.decode(z, y)
    model.decode(torch.zeros_like(z), y)
    torch.testing.assert_close(seen[0] - seen[1], (z @ a.T).view(-1, c, s, s), rtol=0, atol=1e-6)
    if not model.conditional:
        torch.testing.assert_close(seen[1], torch.zeros_like(seen[1]))  # no bias: A z is the whole output
    conv = nn.ConvTranspose2d(LATENT, c, s, bias=False)
    with torch.no_grad():
        conv.weight.copy_(a.T.reshape(LATENT, c, s, s))
        torch.testing.assert_close(conv(z.view(-1, LATENT, 1, 1)), (z @ a.T).view(-1, c, s, s), rtol=0, atol=1e-6)

    dirs = sefa(model, 4)
    _, sv, vt = np.linalg.svd(a.double().numpy(), full_matrices=False)
    np.testing.assert_allclose(dirs.info["eigenvalues"], sv[:4] ** 2, rtol=1e-9)
    np.testing.assert_allclose(np.abs(dirs.vectors @ vt.T), np.eye(LATENT)[:4], atol=1e-6)
    encoder = isinstance(model, Encoder)
    assert available_methods(model) == (["pca", "ganspace", "sefa"] if encoder else ["ganspace", "sefa"])


@pytest.mark.parametrize(("name", "options"), MODELS, ids=IDS)
def test_ganspace_features_are_the_sampling_generators_first_block(name, options):
    """generator_features is the output of the first transposed-convolution block (after its ReLU) of the forward
    pass that draws the samples, in eval mode (each face's features do not depend on the rest of the batch),
    flattened, float32 and without a graph; for a conditional model it depends on y."""
    model = tiny(name, options)
    gen = model.sampler()
    seen = []
    gen.net[2].register_forward_hook(lambda m, args, out: seen.append(out.clone()))
    z, y = inputs(model)
    model.decode(z, y)
    feats = model.generator_features(z.requires_grad_(), y)
    channels = min(2 * options["g_channels"], options["max_channels"])
    assert isinstance(gen.net[2], nn.ReLU) and feats.shape == (5, channels * 8 * 8)
    assert feats.dtype == torch.float32 and not feats.requires_grad
    torch.testing.assert_close(feats, seen[0].flatten(1), rtol=0, atol=0)
    torch.testing.assert_close(model.generator_features(z[:1], y[:1]), feats[:1], rtol=0, atol=1e-6)
    moved = model.generator_features(z, y + 1)
    assert (moved - feats).abs().max() > 1e-3 if model.conditional else torch.equal(moved, feats)


@pytest.fixture(scope="module")
def gan_run(toy_root: Path) -> Path:
    """A DC-GAN with an EMA generator trained for one epoch on the toy faces."""
    dcgan.main(gan_args(toy_root, "dcgan_steering", 1, "--ema", "0.9"))
    return toy_root / "dcgan_steering"


def test_evaluate_edits_on_a_dcgan_run_measures_sefa_and_ganspace(gan_run):
    evaluate_edits.main(["--run", str(gan_run), "--attributes", "smile", "--n", "24", "--samples", "300",
                         "--distances", "2", "--k", "2"])
    out = gan_run / "steering"
    meta = json.loads((out / "edits.json").read_text())
    assert [r["edit"] for r in meta["rows"]] == ["interfacegan smile", "ganspace gs0", "ganspace gs1", "sefa sefa0",
                                                 "sefa sefa1"]
    assert all(r["feature_move"] > 0 for r in meta["rows"])
    table = (out / "edits.md").read_text()
    for row in ("| ganspace gs0 | 2 |", "| sefa sefa1 | 2 |"):
        assert row in table, table
    model = Run.load(gan_run).load_model()
    _, _, vt = np.linalg.svd(model.first_layer_weight().double().numpy())
    labels, cos = meta["cosines"]["labels"], np.array(meta["cosines"]["matrix"])
    assert abs(cos[labels.index("sefa sefa0"), labels.index("sefa sefa1")]) < 1e-9
    sefa0 = sefa(model, 1).vectors[0]
    assert abs(abs(sefa0 @ vt[0]) - 1) < 1e-9


@pytest.fixture(scope="module")
def flow_run(gan_run: Path, tmp_path_factory) -> Path:
    """An untrained Glow saved as a run of the DC-GAN run's toy faces: codes are flat (N, 3 * 32 * 32) vectors."""
    source = Run.load(gan_run)
    torch.manual_seed(0)
    model = GlowModel(GlowConfig(size=SIZE, channels=3, cond_dim=0, levels=2, steps=1, hidden=8, n_bits=5))
    out = tmp_path_factory.mktemp("flow")
    Run(path=out, model_name="glow", model_config=model.cfg.to_dict(), train_config={}, data=source.data,
        dataset={**source.dataset, "cond_names": []}).save()
    save_checkpoint(out / LAST, {"model": model.state_dict()})
    return out


def test_a_flow_run_steers_by_its_flat_codes_and_refuses_sefa_in_one_line(flow_run, capsys):
    evaluate_edits.main(["--run", str(flow_run), "--attributes", "smile", "--n", "12", "--samples", "200",
                         "--distances", "2", "--k", "1", "--methods", "interfacegan"])
    rows = json.loads((flow_run / "steering" / "edits.json").read_text())["rows"]
    assert [r["edit"] for r in rows] == ["interfacegan smile", "pca pc0"]
    edit_directions.main(["--run", str(flow_run), "--attribute", "smile", "--method", "interfacegan", "--n", "1",
                          "--samples", "200", "--amounts", "0:1:1"])
    saved = json.loads((flow_run / "attributes" / "directions" / "smile_interfacegan.json").read_text())
    assert saved["method"] == "interfacegan"
    for method, hook in (("sefa", "first_layer_weight()"), ("ganspace", "generator_features(z, y)")):
        capsys.readouterr()
        with pytest.raises(SystemExit) as e:
            guard(lambda m=method: evaluate_edits.main(["--run", str(flow_run), "--principal", m, "--methods", "none",
                                                        "--attributes", "smile", "--n", "12"]))
        err = capsys.readouterr().err.strip()
        assert e.value.code == 2 and "\n" not in err and hook in err, err


def test_principal_walks_of_a_gan_start_at_a_prior_sample_and_an_encoders_at_the_centre(gan_run, tiny_run,
                                                                                        monkeypatch):
    """A GAN's z = 0 is no typical code (prior codes lie near |z| = sqrt(L)), so its walks start at the --seed prior
    sample; a run with an encoder walks from the directions' centre unless asked otherwise."""
    from facegen.analysis.directions import walks
    from facegen.analysis.latent import space
    from facegen.core.errors import FacegenError

    walked = []
    real_decode = space.decode
    monkeypatch.setattr(space, "decode", lambda model, z, y=None: walked.append(z.clone()) or real_decode(model, z, y))
    for run, start, want in [(gan_run, "auto", "sample"), (tiny_run, "auto", "mean"), (tiny_run, "sample", "sample")]:
        run_obj = Run.load(run)
        model = run_obj.load_model()
        assert walks.walk_start(model, start) == want
        walked.clear()
        walks.sample_across_pca_axis(run_obj, model, method="sefa", k=2, steps=3, bounds=(-1.0, 1.0), seed=7,
                                       start=start)
        middle = walked[0][1]  # the walk's value 0
        prior = space.prior_noise(1, model.latent_size, 7)[0]
        if want == "sample":
            torch.testing.assert_close(middle, prior)
        else:
            assert middle.abs().max() < 1e-6  # sefa's centre is z = 0
    with pytest.raises(FacegenError, match="--start"):
        walks.walk_start(model, "median")
