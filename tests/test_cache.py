"""Decoding images into one uint8 tensor: shapes, cropping, antialiasing, the disk cache, broken files."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch
from PIL import Image

from facegen.core.errors import FacegenError
from facegen.data import cache
from facegen.data.cache import decode_images, list_images


def save(path, array: np.ndarray, **kw):
    Image.fromarray(array.astype(np.uint8)).save(path, **kw)
    return path


def stripes(width: int, height: int) -> np.ndarray:
    """Left third red, middle third green, right third blue."""
    img = np.zeros((height, width, 3), np.uint8)
    third = width // 3
    img[:, :third, 0] = img[:, third : 2 * third, 1] = img[:, 2 * third :, 2] = 255
    return img


@pytest.mark.parametrize("channels", [1, 3])
def test_shapes_and_dtype(tmp_path, channels):
    paths = [
        save(tmp_path / "a.jpg", np.full((36, 48, 3), 90)),
        save(tmp_path / "b.png", np.full((50, 50), 200)),
    ]
    images = decode_images(paths, size=12, channels=channels, cache_dir=None, num_workers=2)
    assert images.shape == (2, channels, 12, 12) and images.dtype == torch.uint8
    assert abs(int(images[0].float().mean()) - 90) <= 3 and int(images[1].float().mean()) == 200


def test_non_square_input_is_centre_cropped(tmp_path):
    path = save(tmp_path / "wide.png", stripes(96, 32))  # the centred 32 x 32 square is all green
    rgb = decode_images([path], size=10, channels=3, cache_dir=None)[0, :, :, 1:-1]  # edges see neighbours
    assert rgb[1].min() >= 250 and rgb[0].max() <= 5 and rgb[2].max() <= 5


def test_crop_fractions_pick_the_region(tmp_path):
    path = save(tmp_path / "wide.png", stripes(96, 32))
    rgb = decode_images([path], size=8, channels=3, crop=(2 / 3, 0, 1, 1), cache_dir=None)[0, :, :, 1:]
    assert rgb[2].min() >= 250 and rgb[:2].max() <= 5


def test_downscaling_is_antialiased(tmp_path):
    board = (np.indices((256, 256)).sum(0) % 2) * 255  # 1-pixel checkerboard
    for name in ("board.png", "board.jpg"):
        path = save(tmp_path / name, np.stack([board] * 3, -1), **({"quality": 100} if "jpg" in name else {}))
        grey = decode_images([path], size=16, channels=1, cache_dir=None)[0].float()
        assert abs(grey.mean() - 127.5) < 8 and grey.std() < 4, name


def test_cache_hit_skips_decoding(tmp_path, monkeypatch):
    paths = [save(tmp_path / f"{i}.png", np.full((40, 40, 3), 40 * i)) for i in range(3)]
    first = decode_images(paths, size=8, channels=3, cache_dir=tmp_path / "cache")
    assert len(list((tmp_path / "cache").glob("faces-*.pt"))) == 1

    def fail(*args):
        raise AssertionError("decoded again despite the cache")

    monkeypatch.setattr(cache, "_decode_one", fail)
    assert torch.equal(decode_images(paths, size=8, channels=3, cache_dir=tmp_path / "cache"), first)


def test_changed_file_or_settings_miss_the_cache(tmp_path, monkeypatch):
    paths = [save(tmp_path / f"{i}.png", np.full((40, 40, 3), 40 * i)) for i in range(3)]
    decode_images(paths, size=8, channels=3, cache_dir=tmp_path / "cache")
    save(paths[1], np.full((40, 40, 3), 250))
    stat = os.stat(paths[1])
    os.utime(paths[1], ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    calls = []
    real = cache._decode_one
    monkeypatch.setattr(cache, "_decode_one", lambda *a: calls.append(a[0]) or real(*a))
    again = decode_images(paths, size=8, channels=3, cache_dir=tmp_path / "cache")
    assert len(calls) == 3 and int(again[1].float().mean()) == 250
    decode_images(paths, size=8, channels=1, cache_dir=tmp_path / "cache")
    assert len(calls) == 6


def test_corrupt_cache_file_is_rebuilt(tmp_path, capsys):
    paths = [save(tmp_path / "a.png", np.full((40, 40, 3), 77))]
    decode_images(paths, size=8, channels=3, cache_dir=tmp_path / "cache")
    (cached,) = (tmp_path / "cache").glob("faces-*.pt")
    cached.write_bytes(b"not a tensor")
    images = decode_images(paths, size=8, channels=3, cache_dir=tmp_path / "cache")
    assert int(images.float().mean()) == 77 and "rebuilding" in capsys.readouterr().err
    assert torch.equal(torch.load(cached, weights_only=True)["images"], images)


def test_truncated_and_non_image_files_name_the_file(tmp_path):
    good = save(tmp_path / "good.jpg", np.random.default_rng(0).integers(0, 255, (64, 64, 3)))
    truncated = tmp_path / "cut.jpg"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    text = tmp_path / "notes.jpg"
    text.write_text("not an image")
    for bad in (truncated, text):
        with pytest.raises(FacegenError, match=f"cannot read image {bad} .*remove or replace the file"):
            decode_images([good, bad], size=8, channels=3, cache_dir=tmp_path / "cache")
    with pytest.raises(FacegenError, match="gone.png"):
        decode_images([tmp_path / "gone.png"], size=8, channels=3, cache_dir=tmp_path / "cache")


def test_list_images(tmp_path):
    with pytest.raises(FacegenError, match="not found: pass --data"):
        list_images(tmp_path / "none")
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(FacegenError, match="no images"):
        list_images(tmp_path)
    for name in ("b.PNG", "a.jpg", ".hidden.jpg", "c.webp"):
        save(tmp_path / name, np.zeros((4, 4, 3)), format="PNG")
    assert [p.name for p in list_images(tmp_path)] == ["a.jpg", "b.PNG", "c.webp"]
