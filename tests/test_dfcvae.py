"""The attribute net and the DFC-VAE: feature layers, the perceptual distance, a frozen feature net that is
not part of the model's weights, training through the one trainer, rebuilding a run, and the VGG19 check."""

from pathlib import Path

import pytest
import torch

from facegen.core.errors import FacegenError
from facegen.core.seeding import seed_everything
from facegen.losses.perceptual import feature_distance
from facegen.models.registry import build_model
from facegen.nn.attrnet import LAYERS, AttributeNet, load_attribute_net, save_attribute_net
from facegen.nn.features import (
    check_layers,
    default_layers,
    load_feature_net,
    resolve_feature_net,
    vgg19_layer_names,
)
from facegen.runs import LAST, Run, prepare_run_dir
from facegen.train.trainer import TrainConfig, Trainer
from tests.fakes import record_run, structured_faces


@pytest.fixture()
def attr_net_file(tmp_path) -> Path:
    torch.manual_seed(0)
    net = AttributeNet(40, channels=3, size=32)
    path = tmp_path / "attribute_net.pt"
    save_attribute_net(path, net, [f"attr{i}" for i in range(40)], {"mean_accuracy": 0.5})
    return path


def dfc_config(path: Path, **extra) -> dict:
    return dict(size=32, channels=3, latent_size=4, base_channels=8, recon_loss="perceptual",
                       feature_net=str(path), **extra)


def test_attribute_net_layers_and_round_trip(attr_net_file):
    net, names = load_attribute_net(attr_net_file)
    assert len(names) == 40 and not net.training
    x = torch.rand(2, 3, 32, 32)
    feats = net.features(x, list(LAYERS))
    assert [f.shape[-1] for f in feats] == [32, 16, 8, 4]
    assert net(x).shape == (2, 40)
    # another image size or one channel is resized / repeated to the net's input
    assert net(torch.rand(2, 1, 48, 48)).shape == (2, 40)
    with pytest.raises(FacegenError, match="train_feature_net.py"):
        load_attribute_net(attr_net_file.with_name("missing.pt"))


def test_feature_distance_is_zero_for_identical_images_and_grows_with_difference(attr_net_file):
    net = load_feature_net(str(attr_net_file))
    x = torch.rand(3, 3, 32, 32)
    same = feature_distance(net, x, x, ["relu1", "relu2"], [1.0, 1.0])
    assert same.shape == (3,) and same.abs().max() < 1e-6
    near = feature_distance(net, (x + 0.05).clamp(0, 1), x, ["relu1", "relu2"], [1.0, 1.0])
    far = feature_distance(net, (x + 0.3).clamp(0, 1), x, ["relu1", "relu2"], [1.0, 1.0])
    assert (far > near).all() and (near > 0).all()
    doubled = feature_distance(net, (x + 0.05).clamp(0, 1), x, ["relu1", "relu2"], [2.0, 2.0])
    torch.testing.assert_close(doubled, 2 * near)


def test_dfcvae_loss_adds_the_pixel_term_and_keeps_the_feature_net_out_of_its_weights(attr_net_file):
    torch.manual_seed(0)
    model = build_model("dfcvae", dfc_config(attr_net_file, loss_features=["relu1", "relu3"]))
    assert model.layers == ["relu1", "relu3"] and model.weights == [1.0, 1.0]
    x = torch.rand(4, 3, 32, 32)
    logits = torch.randn(4, 3, 32, 32)
    features_only = model.reconstruction(logits, x)
    model.cfg.pixel_weight = 0.5
    pixel = (torch.sigmoid(logits) - x).square().flatten(1).sum(1)
    torch.testing.assert_close(model.reconstruction(logits, x), features_only + 0.5 * pixel)
    out = model.loss(x, torch.zeros(4, 0))
    torch.testing.assert_close(out["loss"], out["recon"] + out["kl"])
    assert not any(k.startswith("_feature") or "blocks" in k for k in model.state_dict())
    out["loss"].backward()
    assert all(p.grad is None for p in model.features.on(x.device).parameters())


def test_dfcvae_loss_is_float32_under_mixed_precision(attr_net_file):
    torch.manual_seed(0)
    model = build_model("dfcvae", dfc_config(attr_net_file))
    x = torch.rand(4, 3, 32, 32)
    with torch.autocast("cpu", torch.bfloat16):
        out = model.loss(x, torch.zeros(4, 0))
    assert out["recon"].dtype == torch.float32 and torch.isfinite(out["loss"])
    out["loss"].backward()


def test_dfcvae_trains_with_the_one_trainer_and_rebuilds_from_its_run(tmp_path, attr_net_file):
    seed_everything(0)
    train, val = structured_faces().split(0.25, seed=0)
    cfg = dfc_config(attr_net_file, pixel_weight=1.0)
    model = build_model("dfcvae", cfg)
    frozen = {k: v.clone() for k, v in model.features.on(torch.device("cpu")).state_dict().items()}
    out = tmp_path / "run"
    prepare_run_dir(out, resume=False)
    run = record_run(out, model)
    history = Trainer(model, train, val, TrainConfig(n_epochs=6, lr=2e-3, batch_size=8, eval_every=3), out,
                      torch.device("cpu"), run.record()).fit()
    assert history[-1]["train_recon"] < history[0]["train_recon"]
    for k, v in model.features.on(torch.device("cpu")).state_dict().items():
        torch.testing.assert_close(v, frozen[k], rtol=0, atol=0, msg=k)  # BatchNorm statistics included
    read = Run.load(out)
    rebuilt = read.load_model()
    assert type(rebuilt).__name__ == "DFCVAE" and read.model_config["feature_net"] == str(attr_net_file)
    for k, v in rebuilt.state_dict().items():
        torch.testing.assert_close(v, model.state_dict()[k].cpu(), msg=k)
    assert (out / LAST).stat().st_size < 2_000_000


def test_layer_and_weight_checks():
    assert len(vgg19_layer_names()) == 16 and vgg19_layer_names()[2] == "relu2_1"
    check_layers("vgg19", ["relu1_1", "relu3_1"], [1.0, 0.5])
    with pytest.raises(FacegenError, match="unknown layer"):
        check_layers("some/net.pt", ["relu1_1"], [])
    with pytest.raises(FacegenError, match="one weight per layer"):
        check_layers("some/net.pt", ["relu1", "relu2"], [1.0])


def test_vgg19_without_cached_weights_is_a_clear_error_not_a_download(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    with pytest.raises(FacegenError, match="nothing is downloaded"):
        resolve_feature_net("vgg19")
    with pytest.raises(FacegenError, match="not found"):
        resolve_feature_net(str(tmp_path / "no_such_net.pt"))
    assert not (tmp_path / "hub").exists()


def test_the_translators_perceptual_term_uses_the_frozen_net_outside_its_weights(attr_net_file):
    """d2f_supervised with --perceptual_weight: the term is the feature distance of the frozen net, averaged over
    the labelled pairs only, added with its weight; the net is neither in the model's weights nor trained."""
    model = build_model("d2f_supervised", dict(size=32, channels=3, feature_net=str(attr_net_file),
                                               perceptual_weight=0.5, l1_weight=1.0))
    torch.manual_seed(0)
    fake = torch.rand(3, 3, 32, 32, requires_grad=True)
    target = torch.rand(3, 3, 32, 32)
    labelled = torch.tensor([True, False, True])
    terms = model.paired_terms(fake, target, labelled)
    net = load_feature_net(str(attr_net_file))
    layers = default_layers(str(attr_net_file))
    per = feature_distance(net, fake, target, layers, [1.0] * len(layers))
    torch.testing.assert_close(terms["perceptual"], (per[0] + per[2]) / 2)
    torch.testing.assert_close(terms["loss"], terms["l1"] + 0.5 * terms["perceptual"])
    terms["loss"].backward()
    assert fake.grad is not None and all(p.grad is None for p in model.features.on(fake.device).parameters())
    assert not any("features" in k or "attr" in k for k in model.state_dict())


def test_the_default_feature_net_is_the_projects_wherever_a_script_starts(tmp_path, monkeypatch):
    """The default path was relative to the working directory, so a script started elsewhere missed the net."""
    from facegen.nn.features import DEFAULT_FEATURE_NET

    root = Path(__file__).resolve().parents[1]
    assert DEFAULT_FEATURE_NET == root / "results" / "feature_net" / "attribute_net.pt"
    monkeypatch.chdir(tmp_path)
    assert build_model("dfcvae", {"size": 32}).cfg.feature_net == str(DEFAULT_FEATURE_NET)
    if not DEFAULT_FEATURE_NET.is_file():
        with pytest.raises(FacegenError, match="not found"):
            resolve_feature_net(str(DEFAULT_FEATURE_NET))
    else:
        assert resolve_feature_net(str(DEFAULT_FEATURE_NET)) == str(DEFAULT_FEATURE_NET)
