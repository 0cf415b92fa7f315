"""What decides one toy face: its parameters and palette, shared by the face renderer (toyfaces) and the depth
renderer (toydepth), so neither imports the other's module for them."""

from __future__ import annotations

from dataclasses import dataclass

Colour = tuple[int, int, int]

SUPERSAMPLE = 3
SMILE_OPEN = 0.45  # above this smile degree the mouth opens and shows teeth
MOUTH_COLOUR: Colour = (90, 20, 30)
MOUTH_INSIDE: Colour = (130, 40, 50)
TEETH: Colour = (246, 244, 236)
SKIN_BY_RACE: tuple[Colour, ...] = (  # UTKFace race codes: White, Black, Asian, Indian, Others
    (238, 204, 178), (118, 80, 56), (234, 200, 160), (184, 132, 96), (208, 164, 128),
)
HAIR_COLOURS: tuple[Colour, ...] = ((30, 24, 22), (70, 46, 30), (116, 74, 42), (206, 170, 102), (152, 74, 38))
GREY_HAIR: Colour = (178, 175, 170)
IRIS_COLOURS: tuple[Colour, ...] = ((78, 52, 32), (50, 36, 28), (70, 110, 150), (80, 120, 70))


@dataclass(frozen=True)
class FaceParams:
    """Everything that decides one toy face. Lengths are fractions of the image side."""

    smile: float = 0.0  # -1 frown ... +1 broad smile
    age: int = 30  # written into the file name; children get rounder faces, older people grey hair
    gender: int = 0  # 0 male, 1 female: written into the file name; shows mostly as hair length
    race: int = 0  # UTKFace code 0-4: written into the file name; sets the base skin tone
    face_w: float = 0.27  # half width of the face ellipse
    face_h: float = 0.34  # half height
    skin: Colour = SKIN_BY_RACE[0]
    hair: Colour = HAIR_COLOURS[1]
    long_hair: bool = False
    eye_spacing: float = 0.11  # half the distance between the eye centres
    eye_size: float = 0.035  # eye radius
    iris: Colour = IRIS_COLOURS[0]
    brow_height: float = 0.05  # brow above the eye centre
    brow_tilt: float = 0.0  # > 0 raises the outer ends of the brows
    mouth_width: float = 0.11  # half width of the mouth
    shirt: Colour = (70, 90, 140)
    shift_x: float = 0.0  # pose: translation ...
    shift_y: float = 0.0
    rotation: float = 0.0  # ... and in-plane rotation in degrees, anticlockwise
    light_angle: float = 0.0  # direction the light comes from, radians (0: from the right)
    light_strength: float = 0.0  # brightness gradient: 0 flat ... 0.4 strong
    background: Colour = (200, 205, 210)
