"""The taught smile editor: GANimation's attention generator and regressing critic, taught by the exemplar editor.

Unpaired GANimation at a few thousand CPU steps either paints one sticker on every mouth or changes nothing
(docs/editor.md, section 6). Here every training example is a lesson (:mod:`facegen.analysis.editing.lessons`): a
mouth patch s, a target degree t and the exemplar editor's edit x of s to t (another person's real mouth of that
degree, fitted and Poisson-blended into s; at the face's own degree, s itself). With G(s, t) = A C + (1 - A) s
(:class:`facegen.nn.ganimation.AttentionGenerator`) and D = (score, regressed degree), per step:

1. critic (least squares): mean (D_s(x) - 1)^2 + mean D_s(G(s, t))^2 + lambda_reg mean (D_r(x) - t)^2, every
   image it sees moved by one random offset of up to ``shift`` px;
2. generator: mean (D_s(G(s, t)) - 1)^2 + lambda_cond mean (D_r(G(s, t)) - t)^2 + lambda_teach |G(s, t) - x|_1
   + lambda_att mean A + lambda_tv TV(A).

The L1 term pulls the generator towards the lesson (the mouth's new shape, teeth and lips), the critic towards
edges a real mouth has rather than their average; the generator draws its own pixels, so the mouth it gives is no
one's in particular. Terms per step: g_loss, d_loss, cond, reg, teach, attention (mean A).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from facegen.core.errors import FacegenError
from facegen.data.batches import Batch
from facegen.data.needs import DataNeeds
from facegen.models.base import Step, option
from facegen.models.editor.ganimation import AttentionEditorConfig, GANimation, total_variation
from facegen.models.registry import register

NO_LESSONS = "the taught editor trains on lessons: pass --pairs DIR written by write_lessons.py"


@dataclass
class TaughtEditorConfig(AttentionEditorConfig):
    film: bool = option(True, "the target degree also scales and shifts the generator's features (FiLM) after its "
                              "residual blocks and before its heads (a constant input plane is mostly normalised away)")
    lambda_teach: float = option(10.0, "weight of |G(s, t) - x|_1, the edit against the exemplar editor's lesson")

    def weights(self) -> tuple[float, ...]:
        return (*super().weights(), self.lambda_teach)


@register("ganimation_taught")
class TaughtGANimation(GANimation):
    """GANimation's networks trained on lessons (source patch, target degree) -> exemplar edit (models/editor)."""

    Config = TaughtEditorConfig
    data_needs = DataNeeds(pairs=True)
    summary = "taught smile editor: GANimation's networks trained on the exemplar editor's edits (lessons)"
    draws_shape = True  # the lessons' mouths have a smile's shape: no landmark warp before it

    def check_data(self, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
        """(source patches, lesson targets) in [-1, 1] of a batch of lessons; anything else is a one-line error."""
        if batch.source is None or batch.source.shape[1] != batch.x.shape[1]:
            raise FacegenError(NO_LESSONS)
        return batch.source * 2 - 1, batch.x * 2 - 1

    def train_step(self, batch: Batch, step: Step) -> dict[str, torch.Tensor]:
        cfg = self.cfg
        s, x = self.check_data(batch)
        t = batch.y
        d_loss, reg = self.update_critic(x, t, s, t, step)
        with self.frozen_critic():
            with step.autocast():
                fake, _, attention = self.generator(s, t)
                score, r = self.critic(self.shifted(fake)[0])
                adv = (score.float() - 1).pow(2).mean()
                cond = (r.float() - t).pow(2).mean()
                teach = (fake.float() - x).abs().mean()
                g_loss = adv + cfg.lambda_cond * cond + cfg.lambda_teach * teach \
                    + cfg.lambda_att * attention.float().mean() + cfg.lambda_tv * total_variation(attention.float())
            step.update(g_loss, "gen")
        return {"g_loss": g_loss.detach(), "d_loss": d_loss.detach(), "cond": cond.detach(), "reg": reg.detach(),
                "teach": teach.detach(), "attention": attention.detach().float().mean()}

    def eval_step(self, batch: Batch) -> dict[str, torch.Tensor]:
        """On held-out faces' lessons: the edit's L1 distance from the lesson, its regressed-degree error, and the
        critic's degree error on the lessons."""
        s, x = self.check_data(batch)
        fake = self.generator(s, batch.y)[0]
        return {"teach": (fake - x).abs().mean(), "cond": (self.critic(fake)[1] - batch.y).pow(2).mean(),
                "reg": (self.critic(x)[1] - batch.y).pow(2).mean()}

    def snapshot(self, batch: Batch) -> torch.Tensor:
        """The shown source patches, then each given smile -1, then +1 (as GANimation's snapshot; the shown
        lessons' own degrees are mostly the faces' own, which would show the patches unchanged)."""
        if batch.source is None:
            raise FacegenError(NO_LESSONS)
        return super().snapshot(Batch(batch.source, batch.y, batch.labelled))
