"""Faces and eyes in a photo: OpenCV's Haar cascades, whose weights ship inside the opencv-python-headless wheel
(``cv2.data.haarcascades``), so they load offline with nothing downloaded at run time.

Why these: they are the one detector that comes as plain files inside a registry package with no other
dependency than numpy (MediaPipe's models also ship in its wheel, but it pulls in a large stack of packages;
dlib's landmark model and OpenCV's YuNet / LBF models must be downloaded separately). They are old (Viola-Jones,
frontal faces only) but fast on a CPU and good enough to place a frontal face; :mod:`facegen.data.align` then
aligns it by its eyes when the eye cascade finds both, and by the face box otherwise. OpenCV 5 no longer
ships the cascades, hence ``opencv-python-headless<5``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from facegen.core.errors import FacegenError

FACE_CASCADE = "haarcascade_frontalface_alt2.xml"
EYE_CASCADE = "haarcascade_eye_tree_eyeglasses.xml"
MAX_SIDE = 1024  # photos are searched at most this large (the boxes are scaled back)


@dataclass
class Face:
    """A face found in a photo: its box (x, y, width, height in the photo's pixels) and, when both were found,
    its eye centres (x, y) in image order (left of the image first)."""

    box: tuple[float, float, float, float]
    eyes: tuple[tuple[float, float], tuple[float, float]] | None = None


def _cv2():
    try:
        import cv2
    except ImportError:
        raise FacegenError("finding faces in photos needs OpenCV's detector: pip install 'opencv-python-headless<5' "
                           "(it is in requirements.txt)") from None
    return cv2


def _cascade(name: str):
    cv2 = _cv2()
    cascade = cv2.CascadeClassifier(cv2.data.haarcascades + name)
    if cascade.empty():
        raise FacegenError(f"OpenCV has no {name} (OpenCV 5 dropped the Haar cascades): pip install "
                           f"'opencv-python-headless<5'")
    return cascade


def _grey(rgb: np.ndarray) -> np.ndarray:
    """uint8 grey image (H, W) from (H, W, 3) RGB or (H, W) grey, histogram-equalised."""
    cv2 = _cv2()
    grey = rgb if rgb.ndim == 2 else cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY)
    return cv2.equalizeHist(grey)


def find_eyes(grey: np.ndarray, box: tuple[float, float, float, float]) -> tuple[tuple[float, float], ...] | None:
    """The two eye centres inside the upper part of a face box: the largest detection on each side of the box's
    centre, kept when they lie 0.25 to 0.65 box widths apart and level within 0.25 of a width; else None."""
    x, y, w, h = (int(round(v)) for v in box)
    top = grey[max(0, y):max(0, y) + int(0.6 * h), max(0, x):max(0, x) + w]
    if top.size == 0:
        return None
    found = _cascade(EYE_CASCADE).detectMultiScale(top, scaleFactor=1.1, minNeighbors=4,
                                                   minSize=(max(4, w // 10), max(4, w // 10)))
    centres = [(x + ex + ew / 2, y + ey + eh / 2, ew * eh) for ex, ey, ew, eh in np.asarray(found).reshape(-1, 4)]
    left = [c for c in centres if c[0] < x + w / 2]
    right = [c for c in centres if c[0] >= x + w / 2]
    if not left or not right:
        return None
    a, b = max(left, key=lambda c: c[2]), max(right, key=lambda c: c[2])
    if not (0.25 * w <= b[0] - a[0] <= 0.65 * w and abs(b[1] - a[1]) <= 0.25 * w):
        return None
    return (a[0], a[1]), (b[0], b[1])


def detect_faces(rgb: np.ndarray, min_size: int = 24) -> list[Face]:
    """Frontal faces in an RGB (or grey) uint8 photo, largest first, each with its eyes when found."""
    cv2 = _cv2()
    h, w = rgb.shape[:2]
    scale = min(1.0, MAX_SIDE / max(h, w))
    grey = _grey(rgb)
    small = grey if scale == 1 else cv2.resize(grey, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
    side = max(16, int(min_size * scale))
    boxes = _cascade(FACE_CASCADE).detectMultiScale(small, scaleFactor=1.1, minNeighbors=5, minSize=(side, side))
    faces = []
    for bx, by, bw, bh in sorted(np.asarray(boxes).reshape(-1, 4).tolist(), key=lambda b: -b[2] * b[3]):
        box = (bx / scale, by / scale, bw / scale, bh / scale)
        faces.append(Face(box, find_eyes(grey, box)))
    return faces
