"""The adversarial translators: depth map -> face with a PatchGAN discriminator (or critic) D.

With s a depth map, G(s) the generated face, x a real face and ``loss`` one of bce / lsgan / wgan-gp
(:mod:`facegen.losses.adversarial`), every step first updates D, then G:

    D:  L_D(D(r), D(f)) [+ gradient penalty under wgan-gp],  f = replay(G(s)) detached
    G:  adv_weight L_G(D(G(s))) + feature_matching sum_l mean (E_batch phi_l(r) - E_batch phi_l(G(s)))^2 + terms

where phi_l are D's hidden layers (Salimans et al. 2016) and the replay buffer (``--replay N``) swaps a share of
the fresh fakes for stored earlier ones (Shrivastava et al. 2017). The modes differ in what D sees and in the
terms:

| mode    | D's real r                           | D sees        | terms                                          |
| gan     | unpaired faces                       | face          | none                                           |
| pix2pix | the paired photo x                   | (s, face)     | l1_weight L1(G(s), x) (+ perceptual)            |
| semi    | unpaired faces                       | face          | L1 (+ perceptual) on the pairs that keep a photo |
| cycle   | unpaired faces                       | face          | cycle_weight mean |B(G(s)) - s|                 |

"Unpaired faces" are drawn from --unpaired (uniformly, with random flips) when it is given, else they are
the batch's own photos, which an unconditional D sees apart from any depth map, so no pairing is used.
B, the cycle's face -> depth U-Net, is trained with G (``gen`` optimizer) unless --backward_net names a trained
face2depth run, which is then frozen.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import torch
from torch import nn

from facegen.core.errors import FacegenError
from facegen.core.files import load_checkpoint
from facegen.data.batches import Batch
from facegen.data.faceset import FaceSet
from facegen.data.needs import DataNeeds
from facegen.losses.adversarial import (
    LOSSES,
    check_critic,
    discriminator_terms,
    generator_loss,
    gradient_penalty,
)
from facegen.models.base import OptimSettings, Step, adam, option
from facegen.models.img2img.translator import PairedTerms, Translator, TranslatorConfig, unet
from facegen.models.registry import build_model, register
from facegen.nn.norm import NORMS
from facegen.nn.patchgan import PatchGAN
from facegen.nn.replay import ReplayBuffer

BETAS = (0.5, 0.999)  # pix2pix's Adam betas, for G and D


@dataclass
class AdversarialConfig(TranslatorConfig):
    adv_loss: str = option("bce", "adversarial loss", choices=LOSSES, flag="--loss")
    adv_weight: float = option(1.0, "weight of the generator's adversarial loss")
    replay: int = option(0, "experience replay: past fakes kept for the discriminator (0: off)")
    replay_share: float = option(0.5, "share of each fake batch the discriminator sees from the replay buffer")
    feature_matching: float = option(0.0, "weight of feature matching on the discriminator's hidden layers (0: off)")
    d_base_channels: int = option(64, "channels of the discriminator's first layer")
    d_layers: int = option(3, "stride-2 layers of the PatchGAN (3: 70 px patches)")
    d_norm: str = option("auto", "discriminator normalisation (auto: batch, none under wgan-gp)",
                         choices=("auto", *NORMS))
    gp_weight: float = option(10.0, "weight of the gradient penalty (wgan-gp)")

    def check(self) -> None:
        super().check()
        if self.replay < 0 or not 0 <= self.replay_share <= 1:
            raise FacegenError("--replay must be 0 or more and --replay_share between 0 and 1")
        if self.size < 3 * 2**self.d_layers or self.d_layers < 1:
            raise FacegenError(f"--d_layers {self.d_layers}: a {self.size} px image allows 1 to "
                               f"{max(1, (self.size // 3).bit_length() - 1)} PatchGAN layers")
        if self.adv_loss == "wgan-gp" and self.d_norm == "batch":
            raise FacegenError("--d_norm batch cannot go with --loss wgan-gp (its penalty is per sample): use "
                               "--d_norm auto, instance or none")

    @property
    def critic_norm(self) -> str:
        return ("none" if self.adv_loss == "wgan-gp" else "batch") if self.d_norm == "auto" else self.d_norm


@dataclass
class Pix2PixConfig(PairedTerms, AdversarialConfig):
    l1_weight: float = option(100.0, "weight of the mean absolute difference to the paired photo (pix2pix: 100)")
    dropout: float = option(0.5, "dropout as noise in the 3 decoder levels below the innermost (pix2pix: 0.5)")


@dataclass
class SemiConfig(PairedTerms, AdversarialConfig):
    l1_weight: float = option(100.0, "weight of the mean absolute difference to the paired photo, on the pairs "
                                     "that keep one")


@dataclass
class CycleConfig(AdversarialConfig):
    cycle_weight: float = option(10.0, "weight of the L1 between the face -> depth net's output and the input depth")
    backward_net: str = option("", "a trained face2depth run folder to use, frozen, as the face -> depth net (empty: "
                                   "one trained jointly with the generator)")

    def check(self) -> None:
        super().check()
        if self.backward_net:
            path = Path(self.backward_net).resolve()
            if not (path / "checkpoints" / "last.pt").is_file():
                raise FacegenError(f"--backward_net {self.backward_net}: no trained run there (its "
                                   f"checkpoints/last.pt): train one with depth2face.py --mode face2depth")
            self.backward_net = str(path)


class AdversarialTranslator(Translator):
    """Generator plus PatchGAN discriminator; subclasses choose what D sees and add terms."""

    Config = AdversarialConfig
    data_needs = DataNeeds(pairs=True, unpaired=True)
    conditional_d: ClassVar[bool] = False  # D sees the depth map with the face (pix2pix)

    def __init__(self, cfg: AdversarialConfig):
        super().__init__(cfg)
        d_in = self.cfg.channels + (1 if self.conditional_d else 0)
        self.discriminator = PatchGAN(d_in, base_channels=cfg.d_base_channels, n_layers=cfg.d_layers,
                                      norm=cfg.critic_norm)
        check_critic(self.discriminator, cfg.adv_loss)
        seed = int(torch.randint(2**62, ()))  # from the run's seeded stream
        self.replay = ReplayBuffer(cfg.replay, torch.Generator().manual_seed(seed), cfg.replay_share)
        self._unpaired: list[torch.Tensor] = []  # uint8 faces beside the model: not part of its weights

    # ---- what the trainer keeps -------------------------------------------------------------------------------
    def generator_parameters(self) -> list[nn.Parameter]:
        return list(self.generator.parameters())

    def optimizers(self, settings: OptimSettings, device: torch.device) -> dict[str, torch.optim.Optimizer]:
        return {"gen": adam(self.generator_parameters(), settings.lr, device, BETAS),
                "disc": adam(self.discriminator.parameters(), settings.lr, device, BETAS)}

    def get_extra_state(self) -> dict:
        """The replay buffer (stored fakes and its random state) travels in the checkpoint with the weights."""
        return {"replay": self.replay.state_dict()}

    def set_extra_state(self, state: dict) -> None:
        self.replay.load_state_dict(state["replay"])

    def use_unpaired(self, faces: FaceSet) -> None:
        if faces.channels != self.cfg.channels or faces.size != self.cfg.size:
            raise FacegenError(f"the unpaired faces are {faces.channels}-channel {faces.size} px, the pairs "
                               f"{self.cfg.channels}-channel {self.cfg.size} px")
        self._unpaired = [faces.images]

    # ---- the pieces of a step ---------------------------------------------------------------------------------
    def real_faces(self, batch: Batch) -> torch.Tensor:
        """The real faces D sees: B unpaired faces drawn uniformly with random flips (the global random stream,
        which checkpoints keep), or the batch's own photos when there are no unpaired faces."""
        if not self._unpaired:
            return batch.x
        device, b = batch.x.device, len(batch.x)
        if self._unpaired[0].device != device:
            self._unpaired[0] = self._unpaired[0].to(device)
        pool = self._unpaired[0]
        idx, flip = torch.randint(len(pool), (b,)), torch.rand(b) < 0.5
        x = pool[idx.to(device)].float().div_(255)
        return torch.where(flip.to(device)[:, None, None, None], x.flip(-1), x)

    def d_input(self, source: torch.Tensor, face: torch.Tensor) -> torch.Tensor:
        return torch.cat([source, face], 1) if self.conditional_d else face

    def d_features(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """D's logits and its hidden activations (after each LeakyReLU)."""
        hidden = []
        for layer in self.discriminator.net:
            x = layer(x)
            if isinstance(layer, nn.LeakyReLU):
                hidden.append(x)
        return x, hidden

    def discriminator_step(self, real_in: torch.Tensor, fake_in: torch.Tensor, step: Step) -> dict[str, torch.Tensor]:
        """One update of D on real inputs and (replay-mixed, detached) fake inputs."""
        fake_in = self.replay.query(fake_in.detach())
        with step.autocast():
            real_out, fake_out = self.discriminator(real_in), self.discriminator(fake_in)
        d_real, d_fake = discriminator_terms(self.cfg.adv_loss, real_out.float(), fake_out.float())
        d_loss = d_real + d_fake
        out = {"d_real": d_real.detach(), "d_fake": d_fake.detach()}
        if self.cfg.adv_loss == "wgan-gp":
            gp = gradient_penalty(self.discriminator, real_in.float(), fake_in.float(), weight=self.cfg.gp_weight)
            d_loss = d_loss + gp
            out["gp"] = gp.detach()
        step.update(d_loss, "disc")
        out["d_loss"] = d_loss.detach()
        return out

    def adversarial_terms(self, real_in: torch.Tensor, fake_in: torch.Tensor) -> dict[str, torch.Tensor]:
        """The generator's adversarial loss on fresh fakes, and feature matching when asked for (D frozen)."""
        fake_out, fake_hidden = self.d_features(fake_in)
        out = {"g_adv": generator_loss(self.cfg.adv_loss, fake_out.float())}
        loss = self.cfg.adv_weight * out["g_adv"]
        if self.cfg.feature_matching > 0:
            with torch.no_grad():
                real_hidden = self.d_features(real_in)[1]
            fm = sum((r.float().mean(0) - f.float().mean(0)).square().mean()
                     for r, f in zip(real_hidden, fake_hidden, strict=True))
            out["fm"] = fm
            loss = loss + self.cfg.feature_matching * fm
        out["loss"] = loss
        return out

    def extra_terms(self, batch: Batch, source: torch.Tensor, fake: torch.Tensor) -> dict[str, torch.Tensor]:
        """The mode's own generator terms (``loss`` their weighted sum)."""
        return {}

    def train_step(self, batch: Batch, step: Step) -> dict[str, torch.Tensor]:
        source = self.pair(batch)[0]
        real = batch.x if self.conditional_d else self.real_faces(batch)
        with step.autocast():
            logits = self.generator(source)
        fake = torch.sigmoid(logits.float())
        real_in = self.d_input(source, real)
        out = self.discriminator_step(real_in, self.d_input(source, fake), step)
        self.discriminator.requires_grad_(False)
        with step.autocast():
            adv = self.adversarial_terms(real_in, self.d_input(source, fake))
            extra = self.extra_terms(batch, source, fake)
        g_loss = adv.pop("loss") + extra.pop("loss", 0.0)
        step.update(g_loss, "gen")
        self.discriminator.requires_grad_(True)
        return {"g_loss": g_loss.detach(), **out, **{k: v.detach() for k, v in {**adv, **extra}.items()}}


@register("d2f_gan")
class GANDepthToFace(AdversarialTranslator):
    """Unpaired: the generator learns only from D, which sees real faces apart from any depth map."""

    summary = "depth map -> face: unpaired GAN (PatchGAN, replay buffer, bce / lsgan / wgan-gp)"


@register("d2f_pix2pix")
class Pix2PixDepthToFace(AdversarialTranslator):
    """pix2pix: D sees the depth map with the face; G also pays L1 to the paired photo."""

    Config = Pix2PixConfig
    summary = "depth map -> face: pix2pix (conditional PatchGAN + L1)"
    conditional_d = True
    data_needs = DataNeeds(pairs=True)

    def extra_terms(self, batch: Batch, source: torch.Tensor, fake: torch.Tensor) -> dict[str, torch.Tensor]:
        return self.paired_terms(fake, batch.x, batch.labelled)


@register("d2f_semi")
class SemiDepthToFace(AdversarialTranslator):
    """Semi-supervised: L1 on the pairs that keep their photo (--paired_count), adversarial on unpaired faces."""

    Config = SemiConfig
    summary = "depth map -> face: L1 on --paired_count pairs + adversarial on unpaired faces"
    data_needs = DataNeeds(pairs=True, unlabelled=True, unpaired=True)

    def extra_terms(self, batch: Batch, source: torch.Tensor, fake: torch.Tensor) -> dict[str, torch.Tensor]:
        return self.paired_terms(fake, batch.x, batch.labelled)


@register("d2f_cycle")
class CycleDepthToFace(AdversarialTranslator):
    """Unpaired GAN plus a reconstruction loss: a face -> depth U-Net maps the generated face back."""

    Config = CycleConfig
    summary = "depth map -> face: unpaired GAN + L1 of face -> depth back to the input depth"

    def __init__(self, cfg: CycleConfig):
        super().__init__(cfg)
        self._frozen: list[nn.Module] = []  # a trained face2depth net (not part of the weights)
        self.backward = None if cfg.backward_net else unet(cfg, cfg.channels, 1)

    def generator_parameters(self) -> list[nn.Parameter]:
        return super().generator_parameters() + ([] if self.backward is None else list(self.backward.parameters()))

    def backward_net(self, device: torch.device) -> nn.Module:
        """The face -> depth net: trained jointly, or the frozen generator of the --backward_net run."""
        if self.backward is not None:
            return self.backward
        if not self._frozen:
            self._frozen.append(load_face2depth(Path(self.cfg.backward_net)))
        net = self._frozen[0]
        if next(net.parameters()).device != device:
            net.to(device)
        return net

    def extra_terms(self, batch: Batch, source: torch.Tensor, fake: torch.Tensor) -> dict[str, torch.Tensor]:
        back = torch.sigmoid(self.backward_net(fake.device)(fake).float())
        cycle = (back - source).abs().mean()
        return {"cycle": cycle, "loss": self.cfg.cycle_weight * cycle}


def load_face2depth(run: Path) -> nn.Module:
    """The frozen U-Net of a trained face2depth run (weights from its checkpoint, config from its flags)."""
    flags = json.loads((run / "flags.json").read_text(encoding="utf-8"))
    if flags.get("model") != "face2depth":
        raise FacegenError(f"--backward_net {run} holds a {flags.get('model')} run: give a face2depth run")
    model = build_model("face2depth", flags["model_config"])
    model.load_state_dict(load_checkpoint(run / "checkpoints" / "last.pt")["model"])
    net = model.generator.eval()
    for p in net.parameters():
        p.requires_grad_(False)
    return net
