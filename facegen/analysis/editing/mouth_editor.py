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

Before step 1, :func:`reshape_mouth` moves the mouth the way a real smile does (``warp`` on): the corners
outward and up and the upper lip up, by the differences between the human-labelled smiling and non-smiling
faces' mean mouth shapes (:data:`SMILE_SHAPE`, in eye distances), scaled by the change of degree asked for over
the gap between those two groups' mean degrees (1.11). The displacement is a sum of Gaussian bumps around those
landmarks, times the feather, so it is exactly zero outside the frame; the photo is resampled once through it at
its own resolution (out(p) = photo(p - A^-1 D(F p)), A the frame's linear part). The editor then draws the
teeth, lips and cheeks on the reshaped mouth.

Several faces are edited one after another on the same photo (their frames do not overlap for faces apart).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from facegen.core.errors import FacegenError
from facegen.data.align import feather, invert, warp
from facegen.data.colour import is_monochrome
from facegen.data.landmarks import Face
from facegen.data.mouths import SIDE, mouth_frame
from facegen.models.base import Model
from facegen.models.capabilities import Editor, require

FEATHER = 0.15  # of the patch side: the border over which the editor's mask fades to zero
# smiling minus non-smiling mean of the 148 human-labelled training faces' mouths, in eye distances
# (prepare_mouths.py's landmarks): corner-to-corner width, corner lift, upper lip towards the nose
SMILE_SHAPE = {"width": 0.230, "lift": 0.115, "upper_lip": 0.095}
DEGREE_GAP = 1.11  # mean degree of the smiling minus the non-smiling labelled faces
BUMP = 0.25  # eye distances: width of the displacement around each moved landmark


@dataclass
class MouthEdit:
    """One face's edit for one target: the patch cut from the photo, the editor's output and mask on it."""

    patch: torch.Tensor
    edited: torch.Tensor
    attention: torch.Tensor


def frame_tensor(face: Face, size: int) -> torch.Tensor:
    """The face's mouth frame as a (2, 3) float64 tensor (photo -> patch)."""
    return torch.from_numpy(mouth_frame(face, size))


def reshape_mouth(photo: torch.Tensor, face: Face, change: float) -> torch.Tensor:
    """The photo (3, H, W) with the face's mouth moved by ``change`` degrees' worth of a real smile (negative: back
    towards a resting mouth); see the module docstring."""
    from facegen.data.landmarks import LEFT_CORNER, RIGHT_CORNER, UPPER_LIP_TOP

    size = 96
    frame = frame_tensor(face, size)
    s = max(-1.0, min(1.0, change / DEGREE_GAP))
    d = size / SIDE  # one eye distance in patch pixels
    points = face.landmarks @ frame[:, :2].numpy().T + frame[:, 2].numpy()
    moves = [(points[LEFT_CORNER], (-SMILE_SHAPE["width"] / 2, -SMILE_SHAPE["lift"])),
             (points[RIGHT_CORNER], (SMILE_SHAPE["width"] / 2, -SMILE_SHAPE["lift"])),
             (points[UPPER_LIP_TOP], (0.0, -SMILE_SHAPE["upper_lip"]))]
    h, w = photo.shape[-2:]
    yy, xx = torch.meshgrid(torch.arange(h, dtype=torch.float64) + 0.5, torch.arange(w, dtype=torch.float64) + 0.5,
                            indexing="ij")
    u = torch.stack([xx, yy], -1) @ frame[:, :2].T + frame[:, 2]  # every photo pixel in patch coordinates
    shift = torch.zeros_like(u)
    for (px, py), (dx, dy) in moves:
        bump = torch.exp(-((u[..., 0] - px) ** 2 + (u[..., 1] - py) ** 2) / (2 * (BUMP * d) ** 2))
        shift += bump[..., None] * torch.tensor([dx * d * s, dy * d * s], dtype=torch.float64)
    inside = ((u >= 0) & (u < size)).all(-1)
    ramp = feather(size, FEATHER).double()
    iu = u.clamp(0, size - 1).long()
    shift *= (ramp[iu[..., 1], iu[..., 0]] * inside)[..., None]
    source = torch.stack([xx, yy], -1) - shift @ torch.linalg.inv(frame[:, :2]).T
    grid = torch.stack([source[..., 0] / w * 2 - 1, source[..., 1] / h * 2 - 1], -1)[None].to(photo.dtype)
    out = torch.nn.functional.grid_sample(photo[None].float(), grid.float(), mode="bilinear", padding_mode="border",
                                          align_corners=False)[0]
    return torch.where(inside[None], out, photo.float())


@torch.no_grad()
def edit_mouths(model: Model, photo: torch.Tensor, faces: list[Face], target: float, reshape: bool | None = None,
                draw: bool = True, onto: torch.Tensor | None = None) -> tuple[torch.Tensor, list[MouthEdit]]:
    """(photo (3, H, W) in [0, 1] with every face's smile set to ``target``, each face's patch edit). With
    ``reshape`` (None: unless the editor draws the mouth's shape itself, ``draws_shape``) the mouth is first moved
    by the change from the face's own degree (the editor's critic's reading) to ``target``
    (:func:`reshape_mouth`); without ``draw`` the generator is not applied (the reshaping alone, an ablation).
    With ``onto`` (the same photo already edited another way, e.g. by residual editing) each patch is cut from
    ``photo`` and the editor's colours are painted onto ``onto`` by its mask (the landmark warp, if any, moves
    both). On a black-and-white face the colours are painted in grey."""
    require(model, Editor, "editing a smile with an expression editor")
    if reshape is None:
        reshape = not model.draws_shape
    if not -1 <= target <= 1:
        raise FacegenError(f"smile {target:g} is outside -1..1: give a degree from -1 (no smile) to +1 (broad smile)")
    size = model.size
    weight = feather(size, FEATHER)
    source = photo.float()  # what the patches are cut from: the result so far, or the photo as it was
    out, edits = (source if onto is None else onto.float()), []
    for face in faces:
        frame = frame_tensor(face, size)
        patch = warp(source, invert(frame), (size, size))
        if reshape:
            change = target - float(model.degree(patch[None])[0, 0])
            source, out = reshape_mouth(source, face, change), reshape_mouth(out, face, change)
            patch = warp(source, invert(frame), (size, size))
        if not draw:
            continue
        y = torch.full((1, model.cond_dim), float(target))
        edited, colour, attention = model.edit(patch[None], y)
        if is_monochrome(patch):  # a black-and-white face: the editor's colours in grey
            colour = colour.mean(1, keepdim=True).expand_as(colour)
        alpha = warp((attention[0] * weight).float(), frame, tuple(photo.shape[-2:]), padding="zeros")
        paint = warp(colour[0].float(), frame, tuple(photo.shape[-2:]))
        out = out + alpha * (paint - out)
        source = out if onto is None else source
        edits.append(MouthEdit(patch, edited[0], attention[0]))
    return out.clamp(0, 1), edits
