"""Glow (Kingma & Dhariwal 2018) as a model of the one trainer: exact likelihood, exact encoding, samples.

The network is :class:`facegen.nn.glow.Glow`; images in [0, 1] are quantised to ``n_bits`` and dequantised with
uniform noise (:mod:`facegen.losses.likelihood`), and training minimises

    bits/dim = (-log p(x + u) + D n log 2) / (D log 2),   D = C * S * S,

the discrete model's negative log-likelihood bound in bits per dimension, dequantisation constant included.

For the exploration scripts the latent code is the flat vector eps (B, D) that the flow maps a face to (every
level's factored-out eps, the top level's last), standard normal under the model: ``encode(x, y) -> (eps, None)``
encodes the centre of each pixel's quantisation bin, ``decode(eps, y)`` inverts it and quantises to n bits, so
``decode(encode(x))`` is x at n bits exactly. Axis walks, PCA, attribute vectors (mean eps of faces with minus
without) and interpolation work on eps unchanged.

Known failure modes of Glow training are handled here: a linear learning-rate warm-up (per step), and a step
whose loss is not finite on any process is skipped (no update) and counted; ``max_bad_steps`` of them in a row
stop the run with one line. The trainer's gradient clipping (--clip_grad) applies as for every model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from facegen.core.argtypes import int_between, nonnegative_int, positive_float, positive_int
from facegen.core.errors import FacegenError
from facegen.data.batches import Batch
from facegen.losses.likelihood import bits_per_dim, postprocess, preprocess, quantise
from facegen.models.base import Model, ModelConfig, OptimSettings, Schedule, Step, option
from facegen.models.registry import register
from facegen.nn.glow import COUPLINGS, Glow

RESIZE_RANGE = (32, 128)  # the sizes --resize takes


@dataclass
class GlowConfig(ModelConfig):
    levels: int = option(3, "multi-scale levels L (squeeze, K steps, split); the image size must be divisible by "
                            "2**L", parse=positive_int)
    steps: int = option(8, "flow steps K per level (ActNorm, LU 1x1 convolution, coupling)", parse=positive_int)
    hidden: int = option(128, "channels of the hidden layers of each coupling network", parse=positive_int)
    coupling: str = option("affine", "coupling layer: affine (scale and shift) or additive (shift only)",
                           choices=COUPLINGS)
    cond_couplings: bool = option(True, "with conditions: also feed them to every coupling network (else only the "
                                        "top prior's mean and scale depend on them)")
    n_bits: int = option(8, "bits per colour the faces are quantised to (Glow used 5 for faces)",
                         parse=int_between(1, 8))
    temperature: float = option(0.7, "temperature of the per-epoch sample grids and sample_prior.py's default",
                                parse=positive_float)
    warmup_steps: int = option(500, "steps of linear learning-rate warm-up from --lr / N to --lr (0: none)",
                               parse=nonnegative_int)
    max_bad_steps: int = option(5, "steps in a row with a non-finite loss (each skipped) that stop training",
                                parse=positive_int)

    def check(self) -> None:
        """The image size must halve cleanly at every level; the other values must be in range."""
        if self.levels < 1 or self.steps < 1 or self.hidden < 1 or self.max_bad_steps < 1:
            raise FacegenError(f"--levels {self.levels}, --steps {self.steps}, --hidden {self.hidden}, "
                               f"--max_bad_steps {self.max_bad_steps}: each must be at least 1")
        step = 2**self.levels
        if self.size % step:
            sizes = [s for s in range(RESIZE_RANGE[0], RESIZE_RANGE[1] + 1) if s % step == 0]
            fewer = max(k for k in range(1, self.levels) if self.size % 2**k == 0) if self.size % 2 == 0 else None
            fixes = [f"--resize {min(sizes, key=lambda s: abs(s - self.size))} (a multiple of {step})"] if sizes else []
            fixes += [f"--levels {fewer} or fewer"] if fewer else []
            if not fixes:  # an odd size and more levels than any size allows
                most = RESIZE_RANGE[1].bit_length() - 1
                fixes = [f"--resize {2**most} with --levels {most}"]
            raise FacegenError(f"--resize {self.size} is not divisible by 2**levels = {step}: use {' or '.join(fixes)}")
        if not 1 <= self.n_bits <= 8 or self.temperature <= 0 or self.warmup_steps < 0:
            raise FacegenError(f"--n_bits {self.n_bits} must be 1 to 8, --temperature {self.temperature} above 0 "
                               f"and --warmup_steps {self.warmup_steps} at least 0")


class WarmupThenDecay:
    """The learning-rate factor at optimizer step s (counted from 0): min(1, (s + 1) / warmup) times
    gamma ** (s // decay_every), i.e. a linear warm-up, then the trainer's --lr_gamma every --lr_step epochs."""

    def __init__(self, warmup: int, decay_every: int, gamma: float):
        self.warmup, self.decay_every, self.gamma = warmup, max(1, decay_every), gamma

    def __call__(self, s: int) -> float:
        ramp = min(1.0, (s + 1) / self.warmup) if self.warmup else 1.0
        return ramp * self.gamma ** (s // self.decay_every)


class EpochReport:
    """Per-step values whose epoch mean, as the trainer takes it, is the mean bits/dim of the steps that were not
    skipped, and the number of skipped steps.

    The trainer logs sum_i w_i r_i / W_n over an epoch's steps (w_i the batch size, W_i = w_1 + ... + w_i).
    Returning r_i = (W_i m_i - W_(i-1) m_(i-1)) / w_i, where m_i is a running statistic after step i, telescopes to
    m_n, the statistic at the end of the epoch. Until the first skipped step of an epoch r_i is the step's own
    bits/dim, so an epoch without skips is logged exactly as any model's.
    """

    def __init__(self) -> None:
        self.weight = 0.0  # W_i: faces seen this epoch
        self.finite_weight = 0.0  # faces of the steps that were not skipped
        self.finite_sum = 0.0  # sum of w_i * bits/dim over those steps
        self.skipped = 0

    def _running(self) -> tuple[float, float]:
        mean = self.finite_sum / self.finite_weight if self.finite_weight else 0.0
        return mean, float(self.skipped)

    def step(self, bpd: Tensor, value: float, finite: bool, w: int) -> dict[str, Tensor]:
        """The terms of a step of ``w`` faces whose batch-mean bits/dim is ``bpd`` (``value`` as a float)."""
        before_mean, before_skipped = self._running()
        before = self.weight
        self.weight += w
        if finite:
            self.finite_sum += w * value
            self.finite_weight += w
        else:
            self.skipped += 1
        mean, skipped = self._running()
        if finite and not self.skipped:
            r_bpd = bpd.detach().float()
        else:
            r_bpd = bpd.new_tensor((self.weight * mean - before * before_mean) / w, dtype=torch.float32)
        r_skipped = bpd.new_tensor((self.weight * skipped - before * before_skipped) / w, dtype=torch.float32)
        return {"bpd": r_bpd, "skipped": r_skipped}


@register("glow")
class GlowModel(Model):
    """Glow on the faces, conditional on the data's condition vector when it has one (``--conditions ''``: none)."""

    Config = GlowConfig
    conditional = True
    schedule = Schedule.STEP
    summary = "Glow normalizing flow: exact likelihood (bits/dim), exact encoding, samples at a temperature"

    def __init__(self, cfg: GlowConfig):
        super().__init__(cfg)
        cfg.check()
        self.flow = Glow(cfg.size, cfg.channels, cfg.levels, cfg.steps, cfg.hidden, cfg.coupling, self.cond_dim,
                         cfg.cond_couplings)
        # steps in a row whose loss was not finite: a buffer, so a resumed run counts on where it stopped
        self.register_buffer("bad_in_a_row", torch.zeros((), dtype=torch.long))
        self._report = EpochReport()

    @property
    def latent_size(self) -> int:
        """D = C * S * S: a face's code is as large as the face."""
        return self.flow.dim

    @property
    def n_bits(self) -> int:
        """The bit depth of the images whose likelihood the flow gives."""
        return self.cfg.n_bits

    def _y(self, y: Tensor | None) -> Tensor | None:
        return y if self.cond_dim else None

    # ---- the maths --------------------------------------------------------------------------------------------
    def bin_centres(self, x: Tensor) -> Tensor:
        """Images in [0, 1] -> the centre of each value's n-bit bin in the flow's space [-0.5, 0.5)."""
        bins = 2**self.cfg.n_bits
        return ((quantise(x, self.cfg.n_bits) + 0.5) / bins - 0.5).float()

    def bits_per_dim(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        """Bits per dimension (B,) of images in [0, 1] at n bits, dequantised with uniform noise (global RNG): a
        one-sample estimate of an upper bound on the discrete negative log-likelihood."""
        return self._bpd(preprocess(x, self.cfg.n_bits), y)

    def _bpd(self, x: Tensor, y: Tensor | None) -> Tensor:
        return bits_per_dim(self.flow.log_prob(x, self._y(y)), self.flow.dim, self.cfg.n_bits)

    def log_likelihood(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        """log P(x) of the n-bit images in nats (B,), estimated as log p(x + u) - D n log 2 (uniform u)."""
        return -self.bits_per_dim(x, y) * self.flow.dim * math.log(2)

    def encode(self, x: Tensor, y: Tensor | None = None) -> tuple[Tensor, None]:
        """Images in [0, 1] -> (eps (B, D), None): the exact code of each face's n-bit bin centres."""
        return self.flow.encode(self.bin_centres(x), self._y(y)), None

    def decode(self, eps: Tensor, y: Tensor | None = None) -> Tensor:
        """Codes (B, D) -> images in [0, 1] at n bits (levels k shown as k / (2^n - 1))."""
        return postprocess(self.flow.decode(eps, self._y(y)), self.cfg.n_bits)

    def sample(self, n: int, y: Tensor | None = None, temperature: float = 1.0,
               generator: torch.Generator | None = None) -> Tensor:
        """n faces decoded from eps ~ N(0, temperature^2 I), drawn from ``generator``."""
        return postprocess(self.flow.sample(n, self._y(y), temperature, generator), self.cfg.n_bits)

    # ---- training ---------------------------------------------------------------------------------------------
    def schedulers(self, optimizers: dict[str, torch.optim.Optimizer],
                   settings: OptimSettings) -> dict[str, torch.optim.lr_scheduler.LRScheduler]:
        """Per step: a linear warm-up over --warmup_steps, then --lr_gamma every --lr_step epochs."""
        decay_every = settings.lr_step * settings.steps_per_epoch
        return {name: torch.optim.lr_scheduler.LambdaLR(
                    opt, WarmupThenDecay(self.cfg.warmup_steps, decay_every, settings.lr_gamma))
                for name, opt in optimizers.items()}

    def train_step(self, batch: Batch, step: Step) -> dict[str, torch.Tensor]:
        """One update on the mean bits/dim, or none when the loss is not finite on some process (counted)."""
        x = preprocess(batch.x, self.cfg.n_bits)
        with step.autocast():
            bpd = self._bpd(x, batch.y).mean()
        value = bpd.item()
        bad = step.all_reduce_mean(torch.tensor([0.0 if math.isfinite(value) else 1.0], device=x.device))
        finite = bool(bad.item() == 0)
        if finite:
            step.update(bpd, "model")
            self.bad_in_a_row.zero_()
        else:
            self.bad_in_a_row += 1
            if int(self.bad_in_a_row) >= self.cfg.max_bad_steps:
                raise FacegenError(f"{int(self.bad_in_a_row)} training steps in a row had a non-finite loss (each "
                                   f"skipped): resume from the last checkpoint with --resume and a lower --lr, or "
                                   f"raise --max_bad_steps")
        return self._report.step(bpd, value, finite, batch.x.shape[0])

    def epoch_end(self) -> dict[str, torch.Tensor]:
        """Starts the next epoch's report; an epoch in which every step was skipped stops the run."""
        report, self._report = self._report, EpochReport()
        if report.weight and not report.finite_weight:
            raise FacegenError(f"every one of the epoch's {report.skipped} training steps had a non-finite loss: "
                               f"resume from the last checkpoint with --resume and a lower --lr")
        return {}

    def eval_step(self, batch: Batch) -> dict[str, torch.Tensor]:
        """Held-out bits/dim (dequantisation noise from the trainer's fixed validation seed)."""
        return {"bpd": self.bits_per_dim(batch.x, batch.y).mean()}

    def snapshot(self, batch: Batch) -> torch.Tensor:
        """Samples at the config's temperature from a fixed seed (with the shown faces' conditions)."""
        generator = torch.Generator(batch.x.device).manual_seed(0)
        return self.sample(len(batch.x), batch.y, self.cfg.temperature, generator)
