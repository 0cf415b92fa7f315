"""Depth maps of the procedural toy faces, rendered from the same geometry as ``toyfaces.draw_face``.

Every part that ``draw_face`` paints (shoulders, long hair, neck, ears, face, hair cap) becomes a surface
of height h(x, y) in millimetres towards the camera, painted in the same order, so the nearest painted
part is the one the photo shows. The face is an ellipsoid over the face ellipse with relief added: a nose
(the nearest point), brow ridges, recessed eyes, lips along the drawn mouth curve (so the smile shows in
the depth) with the mouth opening recessed, and a chin. The image side stands for ``SIDE_MM`` = 260 mm,
the crop of the real Kinect pairs, and the grey levels follow their convention: near = bright, one grey
level = 1 mm, grey = 250 - (ref - h) clipped to 1..255 with ref the nearest point (the nose tip, grey
250), and 0 = no depth (the background). The same pose (shift, rotation) as the photo is applied exactly:
each output pixel is mapped back through the inverse of PIL's ``rotate`` and the surfaces are evaluated
there at ``SUPERSAMPLE`` x ``SUPERSAMPLE`` points; a pixel has depth when at least half of its points hit
the figure, and its height is their mean.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from PIL import Image

from facegen.data.toyparams import SMILE_OPEN, SUPERSAMPLE, FaceParams

SIDE_MM = 260.0  # the image side in millimetres (the real pairs' crop)
NOSE_GREY = 250  # grey level of the nearest point
HEAD_DEPTH = 1.0  # depth half-axis of the head ellipsoid, as a multiple of the face half width
NOSE_MM, BRIDGE_MM, BROW_MM, EYE_MM, LIP_MM, GROOVE_MM, MOUTH_MM, CHIN_MM = 24.0, 9.0, 5.0, -7.0, 5.0, -3.0, -10.0, 5.0


def draw_depth(p: FaceParams, size: int = 128) -> Image.Image:
    """The 8-bit grey ("L") ``size`` x ``size`` depth map of the face ``p`` (near = bright, 0 = none)."""
    x, y, on_canvas = _source_points(p, size)
    h, hit = _height(p, x, y, 0.5 / (SUPERSAMPLE * size))
    hit &= on_canvas  # rotate fills what it brings in from beyond the drawing with background
    k = SUPERSAMPLE
    hits = hit.reshape(size, k, size, k).sum((1, 3))
    total = h.astype(np.float64).reshape(size, k, size, k).sum((1, 3))
    valid = hits * 2 >= k * k
    mean = total / np.maximum(hits, 1)
    ref = mean[valid].max() if valid.any() else 0.0
    grey = np.where(valid, np.clip(np.round(NOSE_GREY - (ref - mean)), 1, 255), 0)
    return Image.fromarray(grey.astype(np.uint8), mode="L")


def _source_points(p: FaceParams, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Where each sample point of the posed ``size`` px image lies in the unposed drawing, as fractions of the
    side: the inverse of ``Image.rotate(p.rotation, translate=(p.shift_x * size, p.shift_y * size))`` (pixel i
    spans [i, i + 1)), then the half-pixel offset of drawing at ``SUPERSAMPLE`` times the size. Also whether
    the point lies on the drawing's canvas."""
    k = SUPERSAMPLE
    u = (np.arange(size * k, dtype=np.float32) + 0.5) / k - size / 2
    gx, gy = u[None, :] - p.shift_x * size, u[:, None] - p.shift_y * size
    a = -math.radians(p.rotation)
    sx = math.cos(a) * gx + math.sin(a) * gy + size / 2
    sy = -math.sin(a) * gx + math.cos(a) * gy + size / 2
    on_canvas = (sx >= 0) & (sx < size) & (sy >= 0) & (sy < size)
    return (sx - 0.5 / k) / size, (sy - 0.5 / k) / size, on_canvas


def _height(p: FaceParams, x: np.ndarray, y: np.ndarray, grow: float) -> tuple[np.ndarray, np.ndarray]:
    """(height in mm, hit mask) of the figure at the points (x, y), parts painted in draw_face's order.

    PIL fills the pixels of a bounding box's both end rows and columns, so every drawn part reaches half a
    drawing pixel (``grow``, as a fraction of the side) beyond its box on each side.
    """
    cx, cy, fw, fh = 0.5, 0.47, p.face_w, p.face_h
    h = np.zeros(x.shape, dtype=np.float32)
    hit = np.zeros(x.shape, dtype=bool)

    def ellipse(ex: float, ey: float, ax: float, ay: float) -> np.ndarray:
        return _r2(x, y, ex, ey, ax + grow, ay + grow) <= 1

    def paint(mask: np.ndarray, height: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> None:
        """Set the part's height, evaluated only where the part is."""
        h[mask] = height(x[mask], y[mask])
        hit[mask] = True

    shoulders = (cx, cy + 1.875 * fh, 1.9 * fw, 0.925 * fh)  # a low dome well behind the face
    paint(ellipse(*shoulders), lambda u, v: -100 + 40 * _dome(_r2(u, v, *shoulders)))
    if p.long_hair:  # a sheet behind the head, bulging a little in the middle
        sheet = _rounded_rect(x, y, cx, cy + 0.4 * fh, 1.2 * fw + grow, 0.9 * fh + grow, 0.45 * fw + grow)
        paint(sheet | ellipse(cx, cy - 0.425 * fh, 1.2 * fw, 0.725 * fh),
              lambda u, v: -20 + 15 * _dome(((u - cx) / (1.2 * fw)) ** 2))
    neck = (np.abs(x - cx) <= 0.4 * fw + grow) & (np.abs(y - cy - 0.85 * fh) <= 0.35 * fh + grow)
    paint(neck, lambda u, v: -25 + 0.4 * fw * SIDE_MM * _dome(((u - cx) / (0.4 * fw)) ** 2))  # a cylinder
    if not p.long_hair:
        for side in (-1, 1):  # ears: small flat shells beside the head
            ear = (cx + side * fw * 0.97, cy - 0.035 * fh, 0.15 * fw, 0.185 * fh)
            paint(ellipse(*ear), lambda u, v, e=ear: -5 + 4 * _dome(_r2(u, v, *e)))
    depth = HEAD_DEPTH * fw * SIDE_MM
    paint(ellipse(cx, cy, fw, fh), lambda u, v: depth * _dome(_r2(u, v, cx, cy, fw, fh)) + _relief(p, u, v))
    hairline = cy - fh * (0.5 if p.long_hair else 0.45)
    cap = ellipse(cx, hairline, 1.07 * fw, hairline - (cy - 1.1 * fh)) & (y <= hairline + grow)
    paint(cap, lambda u, v: 1.04 * depth * _dome(_r2(u, v, cx, cy, 1.15 * fw, 1.1 * fh)))  # just above the scalp
    return h, hit


def _relief(p: FaceParams, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Nose, brow ridges, eye hollows, lips, mouth and chin in mm at the face points (x, y)."""
    cx, cy, fw, fh = 0.5, 0.47, p.face_w, p.face_h
    r = NOSE_MM * _bump(x, y, cx, cy + 0.16 * fh, 0.13 * fw, 0.12 * fh)
    r += BRIDGE_MM * _bump(x, y, cx, cy - 0.05 * fh, 0.07 * fw, 0.2 * fh)
    r += CHIN_MM * _bump(x, y, cx, cy + 0.8 * fh, 0.2 * fw, 0.1 * fh)
    ey, er = cy - fh * 0.08, p.eye_size
    for side in (-1, 1):  # the same eye centres and brow strokes as toyfaces._draw_eyes
        ex = cx + side * p.eye_spacing
        r += EYE_MM * _bump(x, y, ex, ey, 1.1 * er, 0.8 * er)
        by, half = ey - p.brow_height, er * 1.5
        lift = p.brow_tilt * half
        dist = _segment_distance(x, y, (ex - side * half, by + lift), (ex + side * half, by - lift))
        r += BROW_MM * np.exp(-0.5 * (dist / (0.8 * er)) ** 2)
    return r + _mouth(p, x, y, cx, cy + fh * 0.5)


def _mouth(p: FaceParams, x: np.ndarray, y: np.ndarray, cx: float, my: float) -> np.ndarray:
    """Lips on both sides of toyfaces' mouth curve (corners ``smile * 0.55 * mw`` above its middle), a groove
    along it, and the open mouth recessed between its upper and lower curves."""
    mw = p.mouth_width
    t = (x - cx) / mw
    along = np.clip(1 - t**2, 0, None)  # fades out at the corners
    dy = y - (my - p.smile * 0.55 * mw * (t**2 - 0.5))  # below the drawn curve: > 0
    opening = 0.0
    if p.smile > SMILE_OPEN:
        opening = (p.smile - SMILE_OPEN) / (1 - SMILE_OPEN) * 0.6 * mw * along
    lips = np.exp(-0.5 * ((dy + 0.12 * mw) / (0.08 * mw)) ** 2) + np.exp(-0.5 * ((dy - opening - 0.14 * mw)
                                                                                  / (0.09 * mw)) ** 2)
    groove = np.exp(-0.5 * (dy / (0.035 * mw)) ** 2)
    inside = (dy > 0) & (dy < opening)
    return along * (LIP_MM * lips + GROOVE_MM * groove) + MOUTH_MM * inside


def _r2(x: np.ndarray, y: np.ndarray, cx: float, cy: float, ax: float, ay: float) -> np.ndarray:
    """Squared normalised radius of the ellipse with centre (cx, cy) and half axes (ax, ay): <= 1 inside."""
    return ((x - cx) / ax) ** 2 + ((y - cy) / ay) ** 2


def _dome(r2: np.ndarray) -> np.ndarray:
    """Height profile of an ellipsoid of unit depth half-axis: sqrt(1 - r^2), 0 outside."""
    return np.sqrt(np.clip(1 - r2, 0, None))


def _bump(x: np.ndarray, y: np.ndarray, cx: float, cy: float, sx: float, sy: float) -> np.ndarray:
    """An axis-aligned Gaussian of peak 1."""
    return np.exp(-0.5 * _r2(x, y, cx, cy, sx, sy))


def _rounded_rect(x: np.ndarray, y: np.ndarray, cx: float, cy: float, hw: float, hh: float, radius: float
                  ) -> np.ndarray:
    """Inside the rectangle of centre (cx, cy), half sizes (hw, hh), corners rounded with ``radius``."""
    qx = np.clip(np.abs(x - cx) - (hw - radius), 0, None)
    qy = np.clip(np.abs(y - cy) - (hh - radius), 0, None)
    return (np.abs(x - cx) <= hw) & (np.abs(y - cy) <= hh) & (qx**2 + qy**2 <= radius**2)


def _segment_distance(x: np.ndarray, y: np.ndarray, a: tuple[float, float], b: tuple[float, float]
                      ) -> np.ndarray:
    """Euclidean distance from the points (x, y) to the segment a-b."""
    dx, dy = b[0] - a[0], b[1] - a[1]
    t = np.clip(((x - a[0]) * dx + (y - a[1]) * dy) / (dx * dx + dy * dy), 0, 1)
    return np.hypot(x - (a[0] + t * dx), y - (a[1] + t * dy))
