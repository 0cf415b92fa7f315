"""A new smile on any photo with an expression editor (a model that can ``edit``, e.g. GANimation): each face's
mouth-and-cheeks patch is cut at about the photo's own resolution, edited, and blended back with the editor's own
attention mask.

For a face with landmarks, F = :func:`facegen.data.mouths.mouth_frame` (photo pixels -> patch pixels):

1. patch = the photo resampled into the frame (bilinear);
2. (edited, C, A) = editor(patch, target): the colour image C and the attention mask A (1 where the expression
   needs new pixels, 0 where the patch passes through);
3. alpha = A times a raised-cosine feather that falls to 0 at the patch's border, carried back to the photo
   through F (zero outside the frame), and C carried back the same way (bilinear upsampling);
4. photo' = photo + alpha (C - photo): where alpha is 0 the photo's own pixels are kept bit for bit; where it is
   1 the editor's colours replace them; in between they blend, so there is no seam.

Several faces are edited one after another on the same photo (their frames do not overlap for faces apart).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from facegen.core.errors import FacegenError
from facegen.data.align import feather, invert, warp
from facegen.data.landmarks import Face
from facegen.data.mouths import mouth_frame
from facegen.models.base import Model

FEATHER = 0.15  # of the patch side: the border over which the editor's mask fades to zero


@dataclass
class MouthEdit:
    """One face's edit for one target: the patch cut from the photo, the editor's output and mask on it."""

    patch: torch.Tensor
    edited: torch.Tensor
    attention: torch.Tensor


def frame_tensor(face: Face, size: int) -> torch.Tensor:
    """The face's mouth frame as a (2, 3) float64 tensor (photo -> patch)."""
    return torch.from_numpy(mouth_frame(face, size))


@torch.no_grad()
def edit_mouths(model: Model, photo: torch.Tensor, faces: list[Face], target: float
                ) -> tuple[torch.Tensor, list[MouthEdit]]:
    """(photo (3, H, W) in [0, 1] with every face's smile set to ``target``, each face's patch edit)."""
    model.require("edit", "editing a smile with an expression editor")
    if not -1 <= target <= 1:
        raise FacegenError(f"smile {target:g} is outside -1..1: give a degree from -1 (no smile) to +1 (broad smile)")
    size = model.cfg.size
    weight = feather(size, FEATHER)
    out, edits = photo.float(), []
    for face in faces:
        frame = frame_tensor(face, size)
        patch = warp(out, invert(frame), (size, size))
        y = torch.full((1, model.cfg.cond_dim), float(target))
        edited, colour, attention = model.edit(patch[None], y)
        alpha = warp((attention[0] * weight).float(), frame, tuple(photo.shape[-2:]), padding="zeros")
        paint = warp(colour[0].float(), frame, tuple(photo.shape[-2:]))
        out = out + alpha * (paint - out)
        edits.append(MouthEdit(patch, edited[0], attention[0]))
    return out.clamp(0, 1), edits
