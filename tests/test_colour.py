"""Whether a photo is in colour: black-and-white and lightly tinted photos are monochrome, a colour photo is not,
even a washed-out one."""

from __future__ import annotations

import cv2
import numpy as np
import torch

from facegen.data.colour import MONOCHROME, is_monochrome, monochrome
from tests.fakes import textured_photo


def _lab(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB)


def test_grey_and_lightly_tinted_photos_are_monochrome_and_colour_ones_are_not():
    colour = textured_photo(64, 64)
    grey = np.repeat(cv2.cvtColor(colour, cv2.COLOR_RGB2GRAY)[..., None], 3, -1)
    sepia = (grey.astype(np.float32) * [1.0, 0.95, 0.85]).round().astype(np.uint8)  # one light tint throughout
    faint = (grey * 0.9 + colour * 0.1).round().astype(np.uint8)  # a washed-out colour photo
    got = monochrome(np.stack([_lab(x) for x in (grey, sepia, colour, faint)]))
    assert got.tolist() == [True, True, False, False]
    ab = _lab(faint)[..., 1:].astype(np.float32)
    assert np.abs(ab - ab.mean((0, 1))).mean() < 4 * MONOCHROME  # faint indeed: near the threshold, not far above


def test_is_monochrome_reads_tensors_and_one_channel_is_always_monochrome():
    colour = torch.from_numpy(textured_photo(48, 48)).permute(2, 0, 1).float() / 255
    assert not is_monochrome(colour)
    assert is_monochrome(colour.mean(0, keepdim=True).expand(3, -1, -1))
    assert is_monochrome(colour[:1])
