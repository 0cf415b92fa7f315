"""Faces and their 68 landmarks in any photo: dlib's HOG face detector and its 68-point shape predictor.

Why these: the 68-point predictor (iBUG 300-W markup) is the one the FFHQ alignment recipe uses; the detector is
built into the ``dlib-bin`` wheel and the predictor's weights ship inside the ``face-recognition-models`` wheel,
so both load offline with nothing downloaded at run time (OpenCV's Haar cascades, used before, missed 38 % of
tight UTKFace crops and found both eyes on only a third of the faces).

The search, for a photo of any framing:

- the photo is shrunk to at most :data:`MAX_SIDE` px and padded on every side by a quarter of its shorter side
  (edge pixels repeated), so a face that fills the picture or touches its border still has the context the HOG
  window needs;
- it is searched once upsampled (faces down to ~40 px wide are found) when small enough, else as it is;
- when nothing is found, the padded photo is searched again turned by each of :data:`TILTS` degrees, and the
  landmarks are turned back, so heads tilted up to about 30 degrees are found.

Landmark indices (0-based, the usual 68-point scheme): 0-16 jaw line, 27-35 nose (30 the tip), 36-41 the
image-left eye, 42-47 the image-right eye, 48-59 the outer lip line (48 and 54 the mouth corners), 60-67 the
inner lip line.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from facegen.core.errors import FacegenError

MAX_SIDE = 1024  # px: photos are searched at most this large (the landmarks are scaled back)
UPSAMPLE_BELOW = 800  # px: photos whose padded longer side is at most this are searched upsampled once
TILTS = (-25.0, 25.0)  # degrees: extra searches when the photo as it is holds no face
PAD = 0.25  # of the shorter side, on every side
MIN_EYE_DISTANCE = 14.0  # px between the eye centres: below this a face is too small to edit (~48 px wide)
MAX_YAW = 0.42  # |nose tip offset from the jaw's middle| / jaw width: beyond this the face is turned too far
PREDICTOR = "shape_predictor_68_face_landmarks.dat"

JAW = slice(0, 17)
LEFT_EYE, RIGHT_EYE = slice(36, 42), slice(42, 48)
MOUTH = slice(48, 68)
NOSE_TIP, LEFT_CORNER, RIGHT_CORNER = 30, 48, 54
UPPER_LIP_TOP, LOWER_LIP_BOTTOM, INNER_TOP, INNER_BOTTOM = 51, 57, 62, 66


@dataclass
class Face:
    """A face found in a photo: its detector box (x, y, width, height in the photo's pixels), its 68 landmarks
    (68, 2) as (x, y) pixel positions, and its eye centres (image-left first)."""

    box: tuple[float, float, float, float]
    landmarks: np.ndarray

    @property
    def eyes(self) -> tuple[tuple[float, float], tuple[float, float]]:
        left, right = self.landmarks[LEFT_EYE].mean(0), self.landmarks[RIGHT_EYE].mean(0)
        return (float(left[0]), float(left[1])), (float(right[0]), float(right[1]))

    @property
    def eye_distance(self) -> float:
        (lx, ly), (rx, ry) = self.eyes
        return float(np.hypot(rx - lx, ry - ly))

    @property
    def yaw(self) -> float:
        """How far the head is turned: the nose tip's offset from the jaw line's middle over the jaw's width
        (0 frontal, about +-0.5 in profile)."""
        left, right = self.landmarks[0], self.landmarks[16]
        width = float(np.hypot(*(right - left)))
        axis = (right - left) / max(width, 1e-6)
        return float(np.dot(self.landmarks[NOSE_TIP] - (left + right) / 2, axis)) / max(width, 1e-6)

    def refusal(self) -> str | None:
        """Why this face cannot be edited (one phrase), or None."""
        if self.eye_distance < MIN_EYE_DISTANCE:
            return (f"its eyes are {self.eye_distance:.0f} px apart, under the {MIN_EYE_DISTANCE:.0f} px (a face about "
                    f"48 px wide) an edit needs: give a larger photo of it")
        if abs(self.yaw) > MAX_YAW:
            return "it is turned too far to the side (near profile): give a photo facing the camera"
        return None


def predictor_path() -> Path:
    """Where the face-recognition-models wheel keeps dlib's 68-point predictor (found without importing the
    package, whose ``__init__`` needs setuptools' pkg_resources)."""
    spec = importlib.util.find_spec("face_recognition_models")
    path = None if spec is None else Path(list(spec.submodule_search_locations)[0]) / "models" / PREDICTOR
    if path is None or not path.is_file():
        raise FacegenError("finding face landmarks needs dlib's 68-point model: pip install face-recognition-models "
                           "(it is in requirements.txt)")
    return path


@cache
def _models():
    try:
        import dlib
    except ImportError:
        raise FacegenError("finding faces needs dlib: pip install dlib-bin (it is in requirements.txt)") from None
    return dlib.get_frontal_face_detector(), dlib.shape_predictor(str(predictor_path()))


def _rotation(angle: float, centre: tuple[float, float]) -> np.ndarray:
    """(2, 3) affine map turning points by ``angle`` degrees about ``centre`` (OpenCV's convention)."""
    import cv2

    return cv2.getRotationMatrix2D(centre, angle, 1.0)


def _search(image: np.ndarray, upsample: int) -> list[tuple[tuple[float, float, float, float], np.ndarray]]:
    """(box, landmarks) of every face dlib finds in an RGB uint8 image, in its own pixels."""
    detector, predictor = _models()
    found = []
    for rect in detector(image, upsample):
        shape = predictor(image, rect)
        points = np.array([(p.x + 0.5, p.y + 0.5) for p in shape.parts()], dtype=np.float64)
        found.append(((float(rect.left()), float(rect.top()), float(rect.width()), float(rect.height())), points))
    return found


def find_faces(rgb: np.ndarray) -> list[Face]:
    """Faces in an RGB (H, W, 3) or grey (H, W) uint8 photo, largest first, with their landmarks in the photo's
    pixels (see the module docstring for how the photo is searched)."""
    import cv2

    image = np.ascontiguousarray(np.repeat(rgb[..., None], 3, 2) if rgb.ndim == 2 else rgb[..., :3])
    h, w = image.shape[:2]
    scale = min(1.0, MAX_SIDE / max(h, w))
    if scale < 1:
        image = cv2.resize(image, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
    pad = int(PAD * min(image.shape[:2]))
    padded = cv2.copyMakeBorder(image, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
    upsample = 1 if max(padded.shape[:2]) <= UPSAMPLE_BELOW else 0
    found = _search(padded, upsample)
    if not found:
        centre = (padded.shape[1] / 2, padded.shape[0] / 2)
        for angle in TILTS:
            turn = _rotation(angle, centre)
            turned = cv2.warpAffine(padded, turn, (padded.shape[1], padded.shape[0]), borderMode=cv2.BORDER_REPLICATE)
            back = cv2.invertAffineTransform(turn)
            for _, points in _search(turned, upsample):
                points = points @ back[:, :2].T + back[:, 2]
                lo, hi = points.min(0), points.max(0)
                found.append(((lo[0], lo[1], hi[0] - lo[0], hi[1] - lo[1]), points))
            if found:
                break
    faces = []
    for (bx, by, bw, bh), points in found:
        points = (points - pad) / scale
        faces.append(Face(((bx - pad) / scale, (by - pad) / scale, bw / scale, bh / scale), points))
    return sorted(faces, key=lambda f: -f.eye_distance)


def faces_in_photo(photo) -> list[Face]:
    """:func:`find_faces` of a photo tensor (3, H, W) in [0, 1]."""
    return find_faces((photo * 255).round().byte().permute(1, 2, 0).numpy())


def mouth_width_ratio(landmarks: np.ndarray) -> float:
    """Mouth width over jaw width (corner to corner over jaw point 0 to 16): 0.36 for the labelled non-smiling
    UTKFace faces and 0.47 for the smiling ones (docs/editor.md)."""
    mouth = np.hypot(*(landmarks[RIGHT_CORNER] - landmarks[LEFT_CORNER]))
    jaw = np.hypot(*(landmarks[16] - landmarks[0]))
    return float(mouth / max(jaw, 1e-6))


def mouth_features(landmarks: np.ndarray) -> np.ndarray:
    """Shape of the mouth in the face's own frame (turned level by the eyes, in eye distances): mouth width,
    lip opening, how far the corners sit above the lips' middle, upper lip to nose, mouth width over jaw width."""
    (left, right) = landmarks[LEFT_EYE].mean(0), landmarks[RIGHT_EYE].mean(0)
    d = right - left
    unit = np.hypot(*d)
    c, s = d / unit
    level = (landmarks - left) @ np.array([[c, -s], [s, c]]) / unit  # x along the eye line, y down the face
    corners_y = (level[LEFT_CORNER, 1] + level[RIGHT_CORNER, 1]) / 2
    middle_y = (level[UPPER_LIP_TOP, 1] + level[LOWER_LIP_BOTTOM, 1]) / 2
    return np.array([
        np.hypot(*(level[RIGHT_CORNER] - level[LEFT_CORNER])),
        np.hypot(*(level[INNER_BOTTOM] - level[INNER_TOP])),
        middle_y - corners_y,
        level[UPPER_LIP_TOP, 1] - level[NOSE_TIP, 1],
        mouth_width_ratio(landmarks),
    ])
