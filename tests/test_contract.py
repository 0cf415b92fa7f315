"""The model contract: a model defined here, in the test, trains, checkpoints, resumes and samples through the
generic entry point (train.py) with no other module changed; several optimizers resume bit for bit; scripts
refuse in one line what a model cannot do."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
from torch import nn

import sample_prior
import train
from facegen.core.errors import FacegenError
from facegen.core.files import load_checkpoint
from facegen.data.batches import Batch
from facegen.models import capabilities
from facegen.models.base import Model, ModelConfig, Step, option
from facegen.models.capabilities import GaussianPrior
from facegen.models.registry import MODELS, build_model, discover, register
from facegen.runs import LAST, Run
from tests.fakes import tiny_args
from tests.helpers import written

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class LinearAEConfig(ModelConfig):
    code: int = option(3, "width of the linear code (the test model's own flag)")
    shrink: float = option(0.0, "weight decay on the code, a second flag of the test model")


class LinearAE(GaussianPrior, Model):
    """A linear autoencoder with a standard-normal 'prior' on its code: enough to encode, decode and sample.
    Two optimizers (encoder, decoder) updated on alternate steps, so one of them skips every other step."""

    Config = LinearAEConfig

    def __init__(self, cfg: LinearAEConfig):
        super().__init__(cfg)
        d = cfg.channels * cfg.size * cfg.size
        self.enc = nn.Linear(d, cfg.code)
        self.dec = nn.Linear(cfg.code, d)
        self.register_buffer("steps", torch.zeros((), dtype=torch.long))

    @property
    def latent_size(self) -> int:
        return self.cfg.code

    def encode(self, x, y=None):
        return self.enc(x.flatten(1)), None

    def decode(self, z, y=None):
        return torch.sigmoid(self.dec(z)).view(-1, self.cfg.channels, self.cfg.size, self.cfg.size)

    def optimizers(self, settings, device):
        return {"enc": torch.optim.Adam(self.enc.parameters(), settings.lr),
                "dec": torch.optim.SGD(self.dec.parameters(), settings.lr * 10, momentum=0.9)}

    def terms(self, batch: Batch) -> dict[str, torch.Tensor]:
        z = self.encode(batch.x)[0]
        noisy = z + 0.1 * torch.randn_like(z)  # a random term, so resume must restore the RNG
        recon = (self.decode(noisy) - batch.x).square().flatten(1).sum(1).mean()
        return {"loss": recon + self.cfg.shrink * z.square().mean(), "recon": recon}

    def train_step(self, batch: Batch, step: Step) -> dict[str, torch.Tensor]:
        with step.autocast():
            out = self.terms(batch)
        step.update(out["loss"], "enc" if int(self.steps) % 2 == 0 else "dec")
        self.steps += 1
        return {k: v.detach() for k, v in out.items()}

    def eval_step(self, batch: Batch) -> dict[str, torch.Tensor]:
        return self.terms(batch)

    def snapshot(self, batch: Batch) -> torch.Tensor:
        return self.decode(self.encode(batch.x)[0])


@pytest.fixture(scope="module", autouse=True)
def registered():
    register("linear_ae_test")(LinearAE)
    yield
    MODELS.pop("linear_ae_test")


def linear_args(tmp: Path, out: Path, epochs: int, *extra: str) -> list[str]:
    args = tiny_args(tmp, "x", "--model", "linear_ae_test", "--code", "5", "--shrink", "0.01", *extra)
    args[args.index("--n_epochs") + 1] = str(epochs)
    args[args.index("--out") + 1] = str(out)
    args.remove("--latent_size")
    args.remove("6")
    args[args.index("--eval_every") + 1] = "2"
    return args


def test_a_model_defined_in_a_test_trains_resumes_and_samples_through_train_py(toy_root, tmp_path, capsys):
    straight, stopped = tmp_path / "straight", tmp_path / "stopped"
    train.main(linear_args(toy_root, straight, 3))
    train.main(linear_args(toy_root, stopped, 1))  # epoch 1 is a validation epoch; epoch 2 is not
    train.main(linear_args(toy_root, stopped, 2, "--resume"))
    train.main(linear_args(toy_root, stopped, 3, "--resume"))
    a, b = load_checkpoint(straight / LAST), load_checkpoint(stopped / LAST)
    assert set(a["optimizers"]) == {"enc", "dec"} and int(a["model"]["steps"]) == 3 * 9
    for key in a["model"]:
        torch.testing.assert_close(a["model"][key], b["model"][key], rtol=0, atol=0, msg=key)
    for name in ("enc", "dec"):
        assert str(a["optimizers"][name]["state"]) == str(b["optimizers"][name]["state"])
    assert [r["train_loss"] for r in a["history"]] == [r["train_loss"] for r in b["history"]]
    assert [r.get("val_loss") for r in a["history"]] == [r.get("val_loss") for r in b["history"]]
    run = Run.load(straight)
    assert run.model_name == "linear_ae_test" and run.model_config["code"] == 5
    assert run.model_config["shrink"] == 0.01
    header = (straight / "training.csv").read_text().splitlines()[0]
    assert header.startswith("epoch,train_loss,train_recon,val_loss,val_recon")
    sample_prior.main(["--run", str(straight), "--n", "4"])
    written(straight / "sampled", "sampled_0.png")
    written(straight, "training.gif")


def test_help_of_the_generic_entry_shows_only_the_chosen_models_flags():
    help_text = subprocess.run([sys.executable, "train.py", "--model", "cvae", "--help"], cwd=ROOT,
                               capture_output=True, text=True).stdout
    assert "--beta" in help_text and "--conditions" in help_text
    assert "--label_weight" not in help_text and "--pixel_weight" not in help_text
    semi = subprocess.run([sys.executable, "cvae.py", "--unlabeled", "x", "--help"], cwd=ROOT,
                          capture_output=True, text=True).stdout
    assert "--label_weight" in semi and "--unlabeled" in semi
    ae = subprocess.run([sys.executable, "ae.py", "--help"], cwd=ROOT, capture_output=True, text=True).stdout
    assert "--beta" not in ae and "--conditions" not in ae


def test_a_script_refuses_in_one_line_what_the_run_cannot_do(tiny_run, tmp_path):
    """An autoencoder has no prior to sample from: sample_prior.py says so in one line, exit 2."""
    import shutil

    ae_run = tmp_path / "ae"
    shutil.copytree(tiny_run, ae_run)
    run = Run.load(ae_run)
    run.model_name = "ae"
    run.save()
    proc = subprocess.run([sys.executable, "sample_prior.py", "--run", str(ae_run)], cwd=ROOT, capture_output=True,
                          text=True)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1 and "sample" in lines[0] and "ae run" in lines[0], proc.stderr


# what each registered model can do, as docs/architecture.md's model table says; a model that loses a method (or a new
# model) fails here rather than in a script
AUTOENCODER = {"Encoder", "Decoder", "SteerableGenerator"}
VAE = AUTOENCODER | {"Sampler", "EvidenceBound"}
GAN = {"Decoder", "Sampler", "SteerableGenerator"}
PROTOCOLS = {"ae": AUTOENCODER, "vae": VAE, "cvae": VAE, "dfcvae": VAE, "sscvae": VAE | {"SmilePredictor"},
             "dcgan": GAN, "cgan": GAN, "vaegan": GAN | {"Encoder"}, "cvaegan": GAN | {"Encoder"},
             "glow": {"Encoder", "Decoder", "Sampler", "Likelihood"}, "attrnet": set(), "identity": {"Embedder"},
             "ganimation": {"Editor"}, "ganimation_taught": {"Editor"},
             **{name: {"Translator"} for name in ("d2f_supervised", "d2f_gan", "d2f_pix2pix", "d2f_semi", "d2f_cycle",
                                                  "face2depth")}}


@pytest.mark.parametrize("name", sorted(discover()))
def test_every_model_implements_exactly_its_capabilities(name):
    model = build_model(name, dict(size=32, channels=3, cond_dim=2))
    has = {p.__name__ for p in capabilities.ABILITY if isinstance(model, p)}
    assert has == PROTOCOLS[name]
    assert has == {p.__name__ for p in capabilities.ABILITY if capabilities.implements(type(model), p)}


def test_a_protocol_is_checked_by_its_methods_not_by_a_declaration():
    """The test's own model is an Encoder and Decoder because it defines encode, decode and latent_size, and a
    Sampler through GaussianPrior; it is no Likelihood, Translator or Editor."""
    model = LinearAE(LinearAEConfig(size=8, channels=1))
    assert isinstance(model, capabilities.Encoder) and isinstance(model, capabilities.Decoder)
    assert isinstance(model, capabilities.Sampler)
    for other in (capabilities.Likelihood, capabilities.Translator, capabilities.Editor, capabilities.EvidenceBound):
        assert not isinstance(model, other)
    with pytest.raises(FacegenError, match="predicting smiles needs a model that can predict the smile, and a "):
        capabilities.require(model, capabilities.SmilePredictor, "predicting smiles")
