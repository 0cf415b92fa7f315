"""Real files of each awkward kind decode to the pixels a viewer shows, or are refused; a damaged cache is rebuilt."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import ExifTags, Image

from facegen.core.errors import FacegenError
from facegen.data.cache import BACKGROUND, MIN_SIDE, decode_images, load_upright

RED, GREEN, BLUE = (255, 0, 0), (0, 255, 0), (0, 0, 255)


def decode(path, size: int, channels: int = 3) -> np.ndarray:
    """(size, size, channels) int array of one decoded file."""
    return decode_images([path], size=size, channels=channels, cache_dir=None)[0].permute(1, 2, 0).numpy().astype(int)


def test_16_bit_greyscale_is_scaled_not_clipped(tmp_path):
    values = np.array([0, 257 * 40, 30000, 65535], np.uint16)  # -> 0, 40, round(116.73) = 117, 255
    wide = np.repeat(np.repeat(values[None, :], 48, 0), 12, 1)  # 48 x 48: four 12-px columns
    path = tmp_path / "deep.png"
    Image.fromarray(wide).save(path)
    with Image.open(path) as im:
        assert im.mode == "I;16"
    for channels in (1, 3):
        got = decode(path, 48, channels)
        assert np.array_equal(got[:, [3, 15, 27, 39]], np.broadcast_to([0, 40, 117, 255], (48, 4))[..., None]
                              .repeat(channels, -1)), channels


def exif_rotated_jpeg(path, width: int, height: int):
    """A JPEG stored ``width`` x ``height``, left half red, right half blue, EXIF orientation 6 (turn clockwise)."""
    stored = np.zeros((height, width, 3), np.uint8)
    stored[:, : width // 2] = RED
    stored[:, width // 2:] = BLUE
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    Image.fromarray(stored).save(path, quality=95, exif=exif)
    return path


@pytest.mark.parametrize(("width", "height", "size"), [(64, 48, 48), (512, 384, 16)])  # the second: DCT draft
def test_exif_orientation_turns_the_image_upright(tmp_path, width, height, size):
    path = exif_rotated_jpeg(tmp_path / "turned.jpg", width, height)
    got = decode(path, size)  # upright it is height x width: red on top, blue below (clockwise turn)
    top, bottom = got[1 : size // 2 - 2], got[size // 2 + 2 : -1]
    assert np.abs(top - RED).max() < 40 and np.abs(bottom - BLUE).max() < 40
    upright = load_upright(path)
    assert upright.size == (height, width)
    assert np.abs(np.asarray(upright, int)[2, height // 2] - RED).max() < 40


def palette_png(path, transparent: bool):
    """48 x 48 palette image: left half index 0 = (10, 20, 30), right half index 1 = green."""
    indices = np.zeros((48, 48), np.uint8)
    indices[:, 24:] = 1
    im = Image.fromarray(indices, "P")
    im.putpalette([10, 20, 30, *GREEN] + [0] * 762)
    im.save(path, **({"transparency": 0} if transparent else {}))
    return path


def test_palette_images_with_and_without_transparency(tmp_path):
    plain = decode(palette_png(tmp_path / "plain.png", False), 48)
    assert (plain[:, :24] == (10, 20, 30)).all() and (plain[:, 24:] == GREEN).all()
    clear = decode(palette_png(tmp_path / "clear.png", True), 48)
    assert (clear[:, :24] == BACKGROUND).all() and (clear[:, 24:] == GREEN).all()
    grey = decode(palette_png(tmp_path / "plain.png", False), 48, channels=1)  # L = .299 R + .587 G + .114 B
    assert abs(grey[0, 0, 0] - (0.299 * 10 + 0.587 * 20 + 0.114 * 30)) <= 1
    assert abs(grey[0, -1, 0] - 0.587 * 255) <= 1


def test_alpha_is_composited_on_white(tmp_path):
    rgba = np.zeros((48, 48, 4), np.uint8)
    rgba[:, :24] = (200, 100, 0, 128)  # half covered: a * rgb + (1 - a) * 255
    Image.fromarray(rgba, "RGBA").save(tmp_path / "rgba.png")  # right half (0, 0, 0, 0): fully transparent
    got = decode(tmp_path / "rgba.png", 48)
    a = 128 / 255
    assert np.abs(got[:, :24] - (200 * a + 255 * (1 - a), 100 * a + 255 * (1 - a), 255 * (1 - a))).max() <= 1
    assert (got[:, 24:] == 255).all()
    la = np.zeros((48, 48, 2), np.uint8)
    la[:, :24] = (50, 255)
    Image.fromarray(la, "LA").save(tmp_path / "la.png")
    grey = decode(tmp_path / "la.png", 48, channels=1)[..., 0]
    assert (grey[:, :24] == 50).all() and (grey[:, 24:] == 255).all()
    keyed = np.full((48, 48, 3), 90, np.uint8)
    keyed[:, 24:] = (10, 20, 30)
    Image.fromarray(keyed).save(tmp_path / "keyed.png", transparency=(10, 20, 30))  # a colour-key tRNS chunk
    got = decode(tmp_path / "keyed.png", 48)
    assert (got[:, :24] == 90).all() and (got[:, 24:] == 255).all()


def test_cmyk_jpeg(tmp_path):
    Image.new("CMYK", (48, 48), (100, 50, 0, 60)).save(tmp_path / "cmyk.jpg", quality=100)
    with Image.open(tmp_path / "cmyk.jpg") as im:
        assert im.mode == "CMYK"
    got = decode(tmp_path / "cmyk.jpg", 48)
    expected = [255 * (1 - c / 255) * (1 - 60 / 255) for c in (100, 50, 0)]  # 118.5, 156.8, 195
    assert np.abs(got - expected).max() <= 2


@pytest.mark.parametrize(("width", "height"), [(1, 1), (MIN_SIDE - 1, 200), (200, MIN_SIDE - 1)])
def test_too_small_images_are_refused(tmp_path, width, height):
    path = tmp_path / "tiny.png"
    Image.new("RGB", (width, height), RED).save(path)
    ok = tmp_path / "ok.png"
    Image.new("RGB", (MIN_SIDE, MIN_SIDE), RED).save(ok)
    assert decode(ok, 16).shape == (16, 16, 3)
    with pytest.raises(FacegenError, match=f"^image {path} is {width}x{height} px, under the minimum of {MIN_SIDE} px "
                                           f"on each side: remove or replace the file$"):
        decode_images([ok, path], size=16, channels=3, cache_dir=None)


def test_flipped_byte_in_the_cache_is_noticed_and_rebuilt(tmp_path, capsys):
    rng = np.random.default_rng(0)
    paths = []
    for i in range(3):
        paths.append(tmp_path / f"{i}.png")
        Image.fromarray(rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)).save(paths[-1])
    first = decode_images(paths, size=16, channels=3, cache_dir=tmp_path / "cache")
    (cached,) = (tmp_path / "cache").glob("faces-*.pt")
    raw = bytearray(cached.read_bytes())
    at = raw.find(first.numpy().tobytes())
    assert at > 0
    raw[at + 100] ^= 0x01
    cached.write_bytes(bytes(raw))
    assert not torch.equal(torch.load(cached, weights_only=True)["images"], first)  # torch itself does not notice
    capsys.readouterr()
    again = decode_images(paths, size=16, channels=3, cache_dir=tmp_path / "cache")
    err = capsys.readouterr().err.strip().splitlines()
    assert torch.equal(again, first)
    assert len(err) == 1 and "checksum does not match" in err[0] and str(cached) in err[0]
    assert torch.equal(torch.load(cached, weights_only=True)["images"], first)  # rewritten intact
    decode_images(paths, size=16, channels=3, cache_dir=tmp_path / "cache")
    assert capsys.readouterr().err == ""
