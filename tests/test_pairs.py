"""Paired depth -> face data: the three sources, pairing by name, bad input, subsets, batches flipped together."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from facegen.core.errors import FacegenError
from facegen.data.batches import DeviceFaces
from facegen.data.cache import decode_images
from facegen.data.faceset import FaceSet
from facegen.data.pairs import load_pairs
from facegen.data.split import split_groups
from tests.helpers import SHARED_DATA

RAP3DF = SHARED_DATA / "rap3df"


def write_pair(folder, stem: str, value: int, size=(40, 40), depth_dir="depth", photo_dir="photo"):
    """A flat depth map of grey ``value`` and a flat photo of colour (value, 255 - value, 7)."""
    (folder / depth_dir).mkdir(parents=True, exist_ok=True)
    (folder / photo_dir).mkdir(parents=True, exist_ok=True)
    Image.new("L", size, value).save(folder / depth_dir / f"{stem}.png")
    Image.new("RGB", size, (value, 255 - value, 7)).save(folder / photo_dir / f"{stem}.png")


def test_folder_pairs_match_by_name_whatever_the_extension(tmp_path):
    values = {"c": 30, "a": 90, "b": 150, "d": 210}
    for stem, v in values.items():
        write_pair(tmp_path, stem, v)
    (tmp_path / "photo" / "d.png").unlink()
    Image.new("RGB", (40, 40), (210, 45, 7)).save(tmp_path / "photo" / "d.jpg", quality=95)
    faces = load_pairs(tmp_path, size=8, cache_dir=tmp_path / "cache")
    assert faces.names == ["a.png", "b.png", "c.png", "d.jpg"]
    assert faces.images.shape == (4, 3, 8, 8) and faces.sources.shape == (4, 1, 8, 8)
    assert faces.sources.dtype == faces.images.dtype == torch.uint8
    depth = faces.sources.float().mean((1, 2, 3))
    red = faces.images[:, 0].float().mean((1, 2))
    assert torch.allclose(depth, torch.tensor([90.0, 150, 30, 210]), atol=1)
    assert torch.allclose(red, depth, atol=3)  # each photo is its own depth map's partner
    assert faces.meta["subject"].tolist() == [0, 1, 2, 3] and faces.cond.shape == (4, 0)


def test_similarly_named_subfolders_and_a_grey_depth_stored_as_rgb(tmp_path):
    write_pair(tmp_path, "x", 100, depth_dir="A", photo_dir="B")
    Image.new("RGB", (40, 40), (60, 60, 60)).save(tmp_path / "A" / "y.png")  # grey in RGB: a valid depth map
    Image.new("RGB", (40, 40), (1, 2, 3)).save(tmp_path / "B" / "y.png")
    faces = load_pairs(tmp_path, size=10, cache_dir=None, photo_channels=1)
    assert faces.images.shape == (2, 1, 10, 10) and faces.sources[:, 0, 0, 0].tolist() == [100, 60]


def error(tmp_path, **kw) -> str:
    with pytest.raises(FacegenError) as e:
        load_pairs(tmp_path, size=8, cache_dir=None, **kw)
    message = str(e.value)
    assert "\n" not in message
    return message


def test_folders_that_do_not_pair_up(tmp_path):
    for stem in ("a", "b", "c"):
        write_pair(tmp_path, stem, 50)
    (tmp_path / "photo" / "b.png").unlink()
    Image.new("L", (40, 40)).save(tmp_path / "depth" / "z.png")
    message = error(tmp_path)
    assert "do not pair up" in message and "2 files" in message and "b.png" in message


def test_bad_depth_maps_and_sizes(tmp_path):
    write_pair(tmp_path, "a", 50)
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)).save(tmp_path / "depth" / "a.png")
    assert "depth map" in (m := error(tmp_path)) and "colour" in m and "a.png" in m
    Image.fromarray(np.full((40, 40), 900, np.uint16)).save(tmp_path / "depth" / "a.png")
    assert "8-bit grey" in error(tmp_path)
    Image.new("L", (40, 48), 50).save(tmp_path / "depth" / "a.png")
    assert "40x48" in (m := error(tmp_path)) and "40x40" in m
    Image.new("L", (40, 40), 50).save(tmp_path / "depth" / "a.jpg")
    assert "holds both" in error(tmp_path)


def test_missing_folders(tmp_path):
    assert "not found" in error(tmp_path / "nowhere")
    (tmp_path / "depth").mkdir()
    assert "depth/ + photo/" in error(tmp_path)


def write_csv(folder, rows: list[str]) -> None:
    (folder / "pairs.csv").write_text("sample,subject,gender,age,photo,depth\n" + "\n".join(rows) + "\n")


def test_pairs_csv_groups_by_subject(tmp_path):
    subjects = ["bob", "amy", "bob", "cy", "amy", "bob"]
    rows = []
    for i, s in enumerate(subjects):
        write_pair(tmp_path, f"s{i}", 20 * i + 10)
        rows.append(f"s{i},{s},{'m' if s == 'bob' else 'f'},{20 + i},photo/s{i}.png,depth/s{i}.png")
    write_csv(tmp_path, rows)
    faces = load_pairs(tmp_path, size=8, cache_dir=tmp_path / "cache")
    assert faces.meta["subject"].tolist() == [1, 0, 1, 2, 0, 1]  # ids in sorted order of the subject names
    assert faces.meta["gender"].tolist() == [0, 1, 0, 1, 1, 0] and faces.meta["age"].tolist() == [20, 21, 22, 23,
                                                                                                   24, 25]
    assert faces.sources[:, 0, 0, 0].tolist() == [20 * i + 10 for i in range(6)]
    for seed in range(5):
        train, val = split_groups(faces.meta["subject"], 0.3, seed)
        part_t, part_v = faces.subset(train), faces.subset(val)
        assert not set(part_t.meta["subject"].tolist()) & set(part_v.meta["subject"].tolist())
        assert torch.equal(part_v.sources, faces.sources[val]) and torch.equal(part_v.images, faces.images[val])


def test_pairs_csv_errors(tmp_path):
    write_pair(tmp_path, "s0", 10)
    (tmp_path / "pairs.csv").write_text("subject,photo\nx,photo/s0.png\n")
    assert "no column depth" in error(tmp_path)
    write_csv(tmp_path, ["s0,x,m,3,photo/s0.png,depth/s0.png", "s1,y,m,3,photo/s1.png,depth/s1.png"])
    assert "2 listed files are missing" in (m := error(tmp_path)) and "s1.png" in m
    write_csv(tmp_path, ["s0,,m,3,photo/s0.png,depth/s0.png"])
    assert "line 2" in error(tmp_path)


def test_toy_pairs_share_the_toy_faces_folder(tmp_path):
    faces = load_pairs(None, size=32, cache_dir=tmp_path / "cache", toy_root=tmp_path / "toy", toy_n=5)
    assert faces.images.shape == (5, 3, 32, 32) and faces.sources.shape == (5, 1, 32, 32)
    assert faces.meta["subject"].tolist() == list(range(5)) and (faces.meta["gender"] >= 0).all()
    depth = decode_images([tmp_path / "toy" / "depth" / n for n in faces.names], size=32, channels=1,
                          cache_dir=None)
    assert torch.equal(faces.sources, depth)
    assert (faces.sources[:, 0, 0, 0] == 0).all() and (faces.sources[:, 0, 12:20, 14:18] > 100).all()


def test_subset_keeps_or_lacks_sources():
    plain = FaceSet(torch.zeros(4, 3, 2, 2, dtype=torch.uint8), torch.zeros(4, 0), [], torch.ones(4, dtype=bool),
                    list("abcd"))
    assert plain.subset(torch.tensor([1, 2])).sources is None
    paired = FaceSet(plain.images, plain.cond, [], plain.labelled, plain.names,
                     sources=torch.arange(16, dtype=torch.uint8).view(4, 1, 2, 2))
    assert paired.subset(torch.tensor([3, 0])).sources[:, 0, 0, 0].tolist() == [12, 0]


def paired_faces(n: int = 24, size: int = 6) -> FaceSet:
    """Random faces whose source is their own first channel, so a pair stays aligned only if both get the
    same flip."""
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (n, 3, size, size), generator=g, dtype=torch.uint8)
    return FaceSet(images, torch.zeros(n, 1), ["smile"], torch.arange(n) % 3 == 0, [str(i) for i in range(n)],
                   sources=images[:, :1].clone())


def test_batches_flip_source_and_face_together():
    faces = paired_faces()
    data = DeviceFaces(faces, torch.device("cpu"))
    g = torch.Generator().manual_seed(1)
    batches = [*data.shuffled(5, g), *data.mixed(6, g, 0.5), *data.in_order(7)]
    flipped = 0
    for b in batches:
        assert b.source.shape == (len(b.x), 1, 6, 6) and b.source.dtype == torch.float32
        assert torch.equal(b.source, b.x[:, :1])
        mirrored = [any(torch.equal(x * 255, f.flip(-1).float()) for f in faces.images) for x in b.x]
        flipped += sum(mirrored)
    assert flipped > 5  # some faces were mirrored, and their sources with them
    assert next(iter(DeviceFaces(FaceSet(faces.images, faces.cond, ["smile"], faces.labelled, faces.names),
                                 torch.device("cpu")).in_order(4))).source is None


@pytest.mark.data("rap3df/pairs.csv")
def test_real_kinect_pairs(tmp_path):
    faces = load_pairs(RAP3DF, size=32, cache_dir=tmp_path / "cache")
    assert len(faces) == 787 and faces.meta["subject"].unique().numel() == 142
    assert faces.images.shape == (787, 3, 32, 32) and faces.sources.shape == (787, 1, 32, 32)
    assert len(set(faces.names)) == 787 and faces.names[0].endswith(".jpg")
    again = load_pairs(RAP3DF, size=32, cache_dir=tmp_path / "cache")  # from the cache
    assert torch.equal(again.sources, faces.sources) and torch.equal(again.images, faces.images)
    # the photo is black where there is no depth (the background was removed), lit where the head is
    depth, brightness = faces.sources[:, 0].float(), faces.images.float().mean(1)
    assert brightness[depth == 0].mean() < 15 and brightness[depth > 150].mean() > 60
    train, val = split_groups(faces.meta["subject"], 0.2, 0)
    assert not set(faces.meta["subject"][train].tolist()) & set(faces.meta["subject"][val].tolist())
    assert 0.1 < len(val) / len(faces) < 0.3
