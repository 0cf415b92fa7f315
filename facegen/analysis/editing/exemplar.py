"""A new smile drawn from real mouths: each face's mouth and cheeks are replaced by those of another person's
real mouth with the degree asked for, chosen to fit the face, and blended in at the photo's own resolution.

For a face with landmarks (patch coordinates: its mouth frame, :func:`facegen.data.mouths.mouth_frame`):

1. **candidates**: the bank's mouths (:mod:`facegen.data.mouth_bank`) whose degree is within :data:`WINDOW` of
   the target;
2. **fit**: each candidate's nose and eyes (points that a smile does not move) are mapped onto the face's by the
   least-squares similarity (Procrustes); the cost adds, with the weights :data:`WEIGHTS`,
   - ``shape``: the RMS distance (eye distances) left between the two faces' jaw and nose points after that
     fit (a mouth from a face of another shape would not sit on this one),
   - ``colour``: the L1 distance of the mean and spread of the skin around the mouth in CIELAB (/10),
   - ``texture``: the mean squared difference of the standardised grey skin around the mouth at 32 px,
   - ``sharpness``: the difference of log Laplacian variances (a sharp mouth on a soft photo shows);
   - ``beard``: the L1 difference of how much darker than the cheeks the skin above the upper lip and below the
     lower lip is (CIELAB lightness /10): a moustache or stubble would otherwise come with a mouth;
   - ``degree``: how far the candidate's degree is from the target (a faint smile is not what +1 asks for);
   a black-and-white photo (:func:`facegen.data.colour.monochrome`) takes any candidate, drawn in grey
   and compared on lightness alone; a colour photo takes only colour candidates (a grey mouth on a colour face
   shows);
   the cheapest candidate is the exemplar; given a :data:`SmileReading` (a smile network that reads a face in a
   photo, e.g. the residual editor's own q(y|x), never a judge of the edits), the :data:`SHORTLIST` cheapest are
   each blended (step 3) and the cost gains :data:`READING` times how far the reading of the blend is from the
   target (a worse fit is taken only for a clearly better reading);
3. **blend**: the exemplar is warped into the photo by the fit composed with the frame, and the region to
   replace is the face's mouth-and-cheeks polygon (from the mouth's centre :data:`CHEEKS` of the way out to its
   jaw points, the nose's lower edge lowered :data:`BELOW_NOSE` of the way towards the upper lip, its lips) joined
   with the exemplar's lips where they land, grown by :data:`GROW` eye distances; OpenCV's Poisson
   ``seamlessClone`` solves for pixels in that region whose gradients are the exemplar's and whose border is the
   photo's, so its colour and light are the photo's. Every pixel outside the region is the photo's own, bit for bit.

The teeth, lips and cheek folds are another person's, not invented: the editor is retrieval plus Poisson
blending, and says so (docs/editor.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np
import torch

from facegen.core.errors import FacegenError
from facegen.data.align import invert
from facegen.data.colour import monochrome
from facegen.data.landmarks import Face
from facegen.data.mouth_bank import OUTER_LIPS, MouthBank, sharpness, skin_ring
from facegen.data.mouths import SIDE, cut_patch, mouth_frame

WINDOW = 0.4  # candidates' degrees within this of the target
WEIGHTS = {"shape": 10.0, "colour": 1.0, "texture": 0.5, "sharpness": 1.0, "beard": 1.0, "degree": 3.0}
SHORTLIST = 10  # with a smile reading: this many of the cheapest candidates are blended and read
READING = 8.0  # with a smile reading: the cost of a blend read 1 away from the target
CHEEKS = 0.75  # the region replaced reaches this far from the mouth's centre out to the jaw points
BELOW_NOSE = 0.35  # the region's top: the nose's lower edge moved this far towards the upper lip
GROW = 0.12  # eye distances the region is grown by
FIT = list(range(27, 48))  # nose and eyes: where the exemplar is fitted onto the face
SHAPE = list(range(2, 15)) + list(range(27, 36))  # jaw and nose: how well the exemplar's face shape fits
SMALL = 32  # px: the size colour and texture are compared at

SmileReading = Callable[[torch.Tensor, Face], float]
"""A smile network's degree (-1..1) of ``face`` in a photo (3, H, W) in [0, 1]."""


@dataclass
class Exemplar:
    """Which bank mouth replaced a face's, and the cost terms it won with."""

    index: int
    degree: float
    cost: dict[str, float]
    grey: bool = False  # drawn in grey, for a monochrome photo

    @property
    def total(self) -> float:
        """The weighted cost it was chosen by (:data:`WEIGHTS`)."""
        return sum(WEIGHTS[name] * v for name, v in self.cost.items())


def procrustes(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares similarities mapping each ``src`` (N, K, 2) onto ``dst`` (K, 2), as (N, 2, 3)."""
    ms, md = src.mean(1, keepdims=True), dst.mean(0)
    a, b = src - ms, dst - md
    dot = (a * b).sum((1, 2))
    cross = (a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0]).sum(1)
    norm = (a ** 2).sum((1, 2))
    c, s = dot / norm, cross / norm  # scale * cos, scale * sin
    rot = np.stack([np.stack([c, -s], -1), np.stack([s, c], -1)], -2)
    shift = md - np.einsum("nij,nj->ni", rot, ms[:, 0])
    return np.concatenate([rot, shift[..., None]], -1)


def apply(t: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Points (..., K, 2) through affine maps (..., 2, 3)."""
    return points @ np.swapaxes(t[..., :2], -1, -2) + t[..., None, :, 2]


def compose(outer: np.ndarray, inner: np.ndarray) -> np.ndarray:
    """The (2, 3) map ``outer`` after ``inner``."""
    return np.concatenate([outer[:, :2] @ inner[:, :2], (outer[:, :2] @ inner[:, 2] + outer[:, 2])[:, None]], 1)


def region(points: np.ndarray) -> np.ndarray:
    """The mouth-and-cheeks polygon's points of a face (see the module docstring)."""
    centre = points[OUTER_LIPS].mean(0)
    jaw = centre + (points[2:15] - centre) * CHEEKS
    top = points[31:36] + (points[49:54] - points[31:36]) * BELOW_NOSE
    return np.concatenate([jaw, top, points[OUTER_LIPS]])


def _lab(images: np.ndarray) -> np.ndarray:
    return np.stack([cv2.cvtColor(x, cv2.COLOR_RGB2LAB) for x in images]).astype(np.float32)


def _small(images: np.ndarray) -> np.ndarray:
    return np.stack([cv2.resize(x, (SMALL, SMALL), interpolation=cv2.INTER_AREA) for x in images])


def _polygon(points: np.ndarray, scale: float) -> np.ndarray:
    mask = np.zeros((SMALL, SMALL), np.uint8)
    cv2.fillConvexPoly(mask, cv2.convexHull((points * scale).round().astype(np.int32)), 1)
    return mask.astype(bool)


def beard_shade(lab: np.ndarray, points: np.ndarray, size: int) -> np.ndarray:
    """(above the upper lip, below the lower lip) mean CIELAB lightness minus the cheeks', of a :data:`SMALL` px
    CIELAB patch whose face has landmarks ``points`` in ``size`` px."""
    k = SMALL / size
    lips = _polygon(points[OUTER_LIPS], k)
    above = _polygon(np.concatenate([points[31:36], points[48:55]]), k) & ~lips
    below = _polygon(np.concatenate([points[54:60], points[6:11]]), k) & ~lips
    cheeks = _polygon(points[[2, 3, 4, 31, 48]], k) | _polygon(points[[12, 13, 14, 35, 54]], k)
    light = lab[..., 0]
    ref = light[cheeks].mean() if cheeks.any() else light.mean()
    return np.array([(light[z].mean() if z.any() else ref) - ref for z in (above, below)], np.float32)


def _standardise(x: np.ndarray) -> np.ndarray:
    return (x - x.mean(-1, keepdims=True)) / (x.std(-1, keepdims=True) + 1e-3)


class ExemplarEditor:
    """Sets faces' smiles by replacing their mouths with the best-fitting real mouth of a :class:`MouthBank`."""

    def __init__(self, bank: MouthBank) -> None:
        if len(bank) == 0:
            raise FacegenError("the mouth bank is empty: build it again from a prepare_mouths.py folder")
        self.bank = bank
        small = _small(bank.patches)
        self.lab = _lab(small)
        self.grey = np.stack([cv2.cvtColor(x, cv2.COLOR_RGB2GRAY) for x in small]).astype(np.float32)
        self.monochrome = monochrome(self.lab)
        self.beard = np.stack([beard_shade(lab, points, bank.size) for lab, points in zip(self.lab, bank.landmarks,
                                                                                          strict=True)])

    def choose(self, patch: np.ndarray, points: np.ndarray, target: float) -> Exemplar:
        """The exemplar for a face's ``patch`` (S, S, 3) uint8 with landmarks ``points`` in it (see the module
        docstring, steps 1-2)."""
        return self.shortlist(patch, points, target, 1)[0]

    def shortlist(self, patch: np.ndarray, points: np.ndarray, target: float, k: int) -> list[Exemplar]:
        """The ``k`` cheapest candidates for a face (:meth:`choose`), cheapest first."""
        bank, size = self.bank, self.bank.size
        small = _small(patch[None])
        my_lab = _lab(small)[0]
        grey_photo = bool(monochrome(my_lab))
        cand = np.flatnonzero((np.abs(bank.degrees - target) <= WINDOW) & (grey_photo | ~self.monochrome))
        if len(cand) == 0:
            raise FacegenError(f"the mouth bank has no mouth within {WINDOW} of degree {target:+.2f}"
                               f"{'' if grey_photo else ' from a colour photo'}: build it from more faces "
                               f"(build_mouth_bank.py --n)")
        fits = procrustes(bank.landmarks[cand][:, FIT].astype(np.float64), points[FIT])
        moved = apply(fits, bank.landmarks[cand][:, SHAPE].astype(np.float64))
        shape = np.sqrt(((moved - points[SHAPE]) ** 2).sum(-1).mean(-1)) / (size / SIDE)
        ring = skin_ring(points, size, SMALL)
        channels = slice(0, 1) if grey_photo else slice(0, 3)  # a monochrome photo: lightness alone
        mine = my_lab[ring][:, channels]
        theirs = self.lab[cand][:, ring][..., channels]
        colour = (np.abs(theirs.mean(1) - mine.mean(0)).sum(-1) + np.abs(theirs.std(1) - mine.std(0)).sum(-1)) / 10
        grey = cv2.cvtColor(small[0], cv2.COLOR_RGB2GRAY).astype(np.float32)[ring]
        texture = ((_standardise(self.grey[cand][:, ring]) - _standardise(grey)) ** 2).mean(-1)
        sharp = np.abs(bank.sharpness[cand] - sharpness(patch, skin_ring(points, size)))
        beard = np.abs(self.beard[cand] - beard_shade(my_lab, points, size)).sum(-1) / 10
        degree = np.abs(bank.degrees[cand] - target)
        terms = {"shape": shape, "colour": colour, "texture": texture, "sharpness": sharp, "beard": beard,
                 "degree": degree}
        cost = sum(WEIGHTS[name] * v for name, v in terms.items())
        return [Exemplar(int(cand[i]), float(bank.degrees[cand[i]]), {name: float(v[i]) for name, v in terms.items()},
                         grey_photo) for i in np.argsort(cost, kind="stable")[:k]]

    def edit_face(self, rgb: np.ndarray, face: Face, target: float, onto: np.ndarray | None = None,
                  read: SmileReading | None = None) -> tuple[np.ndarray, np.ndarray, Exemplar]:
        """(the photo (H, W, 3) uint8 with this face's smile set to ``target``, the region replaced (H, W) bool,
        the exemplar used). With ``onto`` (the same photo already edited another way, e.g. by residual editing)
        the exemplar is chosen on ``rgb`` and blended into ``onto``; with ``read`` among the shortlist by how its
        blend reads (module docstring)."""
        size = self.bank.size
        frame = mouth_frame(face, size)
        points = apply(frame, face.landmarks)
        shortlist = self.shortlist(cut_patch(rgb, frame, size), points, target, 1 if read is None else SHORTLIST)
        base = rgb if onto is None else onto
        blends = [(*self.blend(base, face, frame, points, chosen), chosen) for chosen in shortlist]
        if read is None:
            return blends[0]
        misses = [abs(read(torch.from_numpy(out).permute(2, 0, 1) / 255, face) - target) for out, _, _ in blends]
        return blends[int(np.argmin([c.total + READING * m for c, m in zip(shortlist, misses, strict=True)]))]

    def blend(self, rgb: np.ndarray, face: Face, frame: np.ndarray, points: np.ndarray, chosen: Exemplar
              ) -> tuple[np.ndarray, np.ndarray]:
        """(``rgb`` (H, W, 3) uint8 with the exemplar ``chosen`` blended over this face's mouth and cheeks, the
        region replaced (H, W) bool): step 3 of the module docstring; ``frame`` is the face's mouth frame and
        ``points`` its landmarks in it."""
        fit = procrustes(self.bank.landmarks[chosen.index][None, FIT].astype(np.float64), points[FIT])[0]
        to_photo = compose(invert(torch.from_numpy(frame)).numpy(), fit)  # exemplar patch pixels -> photo pixels
        theirs = apply(to_photo, self.bank.landmarks[chosen.index].astype(np.float64))
        polygons = [region(face.landmarks), theirs[OUTER_LIPS]]  # the face's own cheeks, the exemplar's lips
        d = face.eye_distance
        lo = np.floor(np.concatenate(polygons).min(0) - d / 2).astype(int).clip(0)
        hi = np.minimum(np.ceil(np.concatenate(polygons).max(0) + d / 2).astype(int), rgb.shape[1::-1])
        (x0, y0), (x1, y1) = lo, hi
        roi = np.ascontiguousarray(rgb[y0:y1, x0:x1])
        to_roi = compose(np.array([[1.0, 0, -x0], [0, 1, -y0]]), to_photo)
        patch = self.bank.patches[chosen.index]
        if chosen.grey:
            patch = np.repeat(cv2.cvtColor(patch, cv2.COLOR_RGB2GRAY)[..., None], 3, -1)
        source = cv2.warpAffine(patch, to_roi, (x1 - x0, y1 - y0), flags=cv2.INTER_CUBIC,
                                borderMode=cv2.BORDER_REFLECT)
        mask = np.zeros(roi.shape[:2], np.uint8)
        for polygon in polygons:
            cv2.fillConvexPoly(mask, cv2.convexHull((polygon - lo).round().astype(np.int32)), 255)
        r = max(1, round(GROW * d))
        mask = cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1)))
        mask[[0, -1], :] = 0  # Poisson blending needs the photo's own pixels all round the region
        mask[:, [0, -1]] = 0
        bx, by, bw, bh = cv2.boundingRect(mask)
        # OpenCV fills the mask's bounding box in place and blends all of it: give it a copy, keep the photo outside
        cloned = cv2.seamlessClone(source, roi, mask.copy(), (bx + bw // 2, by + bh // 2), cv2.NORMAL_CLONE)
        out, replaced = rgb.copy(), np.zeros(rgb.shape[:2], bool)
        replaced[y0:y1, x0:x1] = mask > 0
        out[replaced] = cloned[mask > 0]
        return out, replaced

    def edit(self, photo: torch.Tensor, faces: list[Face], target: float, onto: torch.Tensor | None = None,
             read: SmileReading | None = None) -> tuple[torch.Tensor, list[Exemplar]]:
        """(photo (3, H, W) in [0, 1] with every face's smile set to ``target``, the exemplar of each face); with
        ``onto`` the exemplars are chosen on ``photo`` and blended into ``onto``, with ``read`` by how their blends
        read (see :meth:`edit_face`)."""
        if not -1 <= target <= 1:
            raise FacegenError(f"smile {target:g} is outside -1..1: give a degree from -1 (no smile) to +1 "
                               f"(broad smile)")
        rgb = _to_uint8(photo)
        result = (photo if onto is None else onto).float().clone()  # pixels outside the regions stay as they are
        used = []
        for face in faces:
            blended, replaced, chosen = self.edit_face(rgb, face, target, _to_uint8(result), read)
            inside = torch.from_numpy(replaced)
            result[:, inside] = torch.from_numpy(blended[replaced]).T.float() / 255
            used.append(chosen)
        return result, used


def _to_uint8(photo: torch.Tensor) -> np.ndarray:
    return (photo.permute(1, 2, 0).clamp(0, 1) * 255).round().to(torch.uint8).numpy().copy()
