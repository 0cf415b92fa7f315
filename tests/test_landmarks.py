"""Faces and 68 landmarks in any framing (dlib): closed-form geometry on planted points, and on the shared photos
tight crops, tilted heads, faces at the border and small faces (those skip without the shared data)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from facegen.data.landmarks import LEFT_CORNER, NOSE_TIP, RIGHT_CORNER, Face, find_faces, mouth_width_ratio
from tests.helpers import SHARED_DATA

UTK = SHARED_DATA / "utkface" / "UTKFace"
LFW_PHOTOS = SHARED_DATA / "lfw" / "photos"
needs_data = pytest.mark.data("utkface/UTKFace", "lfw/photos")


def _planted(eye_distance: float = 40.0, nose_offset: float = 0.0) -> np.ndarray:
    points = np.zeros((68, 2))
    points[0], points[16] = (0.0, 50.0), (100.0, 50.0)
    points[36:42], points[42:48] = (50 - eye_distance / 2, 40.0), (50 + eye_distance / 2, 40.0)
    points[NOSE_TIP] = (50.0 + nose_offset, 60.0)
    points[LEFT_CORNER], points[RIGHT_CORNER] = (32.0, 80.0), (68.0, 80.0)
    return points


def test_geometry_of_planted_landmarks():
    face = Face((0, 0, 100, 100), _planted())
    assert face.eyes == ((30.0, 40.0), (70.0, 40.0))
    assert face.eye_distance == pytest.approx(40.0)
    assert face.yaw == pytest.approx(0.0)
    assert mouth_width_ratio(face.landmarks) == pytest.approx(0.36)
    assert face.refusal() is None
    assert Face((0, 0, 100, 100), _planted(nose_offset=45.0)).yaw == pytest.approx(0.45)
    assert "side" in Face((0, 0, 100, 100), _planted(nose_offset=45.0)).refusal()
    assert "apart" in Face((0, 0, 20, 20), _planted(eye_distance=10.0)).refusal()


def _photo(name: str) -> np.ndarray:
    return np.asarray(Image.open(name).convert("RGB"))


@needs_data
def test_whole_lfw_photos_are_found_with_eyes_above_the_mouth():
    found = 0
    for path in sorted(LFW_PHOTOS.glob("*.jpg")):
        faces = find_faces(_photo(path))
        if faces:
            found += 1
            f = faces[0]
            assert f.eyes[0][1] < f.landmarks[LEFT_CORNER, 1] and f.eyes[0][0] < f.eyes[1][0]
    assert found >= 39


@needs_data
def test_tight_crop_tilt_border_and_small_face_are_found_where_they_are():
    photo = _photo(sorted(UTK.glob("*.jpg"))[0])
    eyes = np.array(find_faces(photo)[0].eyes)
    # a tight crop: forehead to chin, cheek to cheek (2.5 x 2.6 eye distances), nothing around the face
    (lx, ly), (rx, _) = eyes
    d = rx - lx
    x0, y0 = int((lx + rx) / 2 - 1.25 * d), int(ly - 0.8 * d)
    tight = photo[y0:y0 + int(2.6 * d), x0:x0 + int(2.5 * d)]
    found = find_faces(tight)
    assert found and np.abs(np.array(found[0].eyes) - (eyes - (x0, y0))).max() < 4
    # turned by 30 degrees: the eyes turn with the photo
    import cv2
    h, w = photo.shape[:2]
    turn = cv2.getRotationMatrix2D((w / 2, h / 2), 30, 1.0)
    turned = cv2.warpAffine(photo, turn, (w, h), borderMode=cv2.BORDER_REPLICATE)
    found = find_faces(turned)
    assert found and np.abs(np.array(found[0].eyes) - (eyes @ turn[:, :2].T + turn[:, 2])).max() < 0.1 * d
    # at the border of a larger photo, and shrunk to a face about 50 px wide
    canvas = np.full((400, 600, 3), 90, np.uint8)
    canvas[400 - h:, 600 - w:] = photo
    found = find_faces(canvas)
    assert found and np.abs(np.array(found[0].eyes) - (eyes + (600 - w, 400 - h))).max() < 4
    small = cv2.resize(photo, (w * 2 // 5, h * 2 // 5), interpolation=cv2.INTER_AREA)
    found = find_faces(small)
    assert found and found[0].refusal() is None
    assert np.abs(np.array(found[0].eyes) - eyes * 0.4).max() < 3
