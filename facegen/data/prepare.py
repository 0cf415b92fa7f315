"""Write a dataset as shards once (``prepare_data.py``): every face resized, with its labels, for ``--shards``.

The toy faces are drawn straight into the shards a chunk at a time, so any number of them is written in the
memory of one chunk. The real sources (UTKFace, CelebA, LFW) are decoded the way training decodes them (the same
loader and resize) and then written; they are held in memory once while they are decoded.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from facegen.data import load_dataset
from facegen.data.faceset import FaceSet
from facegen.data.shards import Manifest, write_shards
from facegen.data.toyfaces import draw_face, random_params
from facegen.data.utkface import CONDITIONS, age_condition

CHUNK = 1024  # toy faces drawn per chunk


def toy_chunks(n: int, size: int, channels: int, seed: int, workers: int = 0) -> Iterator[FaceSet]:
    """``n`` toy faces (conditions smile, gender, age, as UTKFace's) drawn with ``seed``, CHUNK at a time."""
    rng = np.random.default_rng(seed)
    mode = "RGB" if channels == 3 else "L"
    with (ThreadPoolExecutor(max_workers=workers or None) as pool,
          tqdm(total=n, desc="toy faces", unit="img", disable=n < 2000) as bar):
        for first in range(0, n, CHUNK):
            params = [random_params(rng) for _ in range(min(CHUNK, n - first))]
            faces = list(pool.map(lambda p: np.asarray(draw_face(p, size).convert(mode)), params))
            images = torch.from_numpy(np.stack(faces).reshape(len(faces), size, size, channels)).permute(0, 3, 1, 2)
            age = torch.tensor([float(p.age) for p in params])
            gender = torch.tensor([p.gender for p in params])
            smile = torch.tensor([p.smile for p in params], dtype=torch.float32)
            bar.update(len(params))
            yield FaceSet(images=images.contiguous(),
                          cond=torch.stack([smile, gender * 2.0 - 1.0, age_condition(age)], 1),
                          cond_names=list(CONDITIONS), labelled=torch.ones(len(params), dtype=torch.bool),
                          names=[f"{p.age}_{p.gender}_{p.race}_toy{first + i:07d}.png" for i, p in enumerate(params)],
                          meta={"age": age, "gender": gender, "race": torch.tensor([p.race for p in params])},
                          source=f"{n} toy faces (seed {seed})")


def chunks_of(faces: FaceSet, size: int = CHUNK) -> Iterator[FaceSet]:
    for first in range(0, len(faces), size):
        yield faces.subset(torch.arange(first, min(first + size, len(faces))))


def prepare(dataset: str, out: Path, *, size: int, channels: int, shard_size: int, seed: int, n_toy: int,
            data: Path | None = None, labels: Path | None = None, attrs: Path | None = None,
            num_workers: int = 0) -> Manifest:
    """Write ``dataset`` (toy, utkface, celeba or lfw) into ``out`` as shards; returns the manifest. UTKFace keeps
    the conditions smile, gender and age, CelebA Smiling (as ``smile``) and its 40 attributes, LFW the person."""
    if dataset == "toy":
        return write_shards(toy_chunks(n_toy, size, channels, seed, num_workers), out, shard_size=shard_size,
                            source=f"{n_toy} toy faces (seed {seed})")
    conditions = {"utkface": list(CONDITIONS), "celeba": ["smile"], "lfw": []}[dataset]
    faces = load_dataset(dataset=dataset, data=data, labels=labels, attrs=attrs, size=size, channels=channels,
                         conditions=conditions, cache_dir=None, num_workers=num_workers)
    return write_shards(chunks_of(faces), out, shard_size=shard_size, source=faces.source)
