"""Faces on disk as shards, written once and read a batch at a time: a dataset larger than memory.

A shard folder holds ``shards.json`` (the manifest: size, channels, condition names, the source, and per shard
its file names, face count, byte size and sha256 checksums) and per shard two files:

- ``faces-KKKKK.npy``: uint8 (n, C, H, W), the faces already resized, in NumPy's ``.npy`` layout (a short header,
  then the rows back to back), so face i of a shard is ``C*H*W`` bytes at a fixed offset and is read with one
  ``pread``, without decoding and without mapping the file: the page cache holds what was read, the process
  only the batch in hand;
- ``labels-KKKKK.npz``: the conditions (float32 (n, K)), which faces are labelled, the file names and the
  per-face metadata (age, gender, race, CelebA attributes, LFW person), read with ``allow_pickle=False``.

Why not WebDataset's tar shards: a tar is read front to back, one member at a time; these rows are addressable,
so a batch of any faces costs one read each, a resumed run jumps to its step without reading what came before,
and a buffer as large as the data is the in-memory path's exact order (:class:`ShardImages`). The manifest's
checksums make a truncated or altered shard one line naming it, never a silently skipped one.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from facegen.core.errors import FacegenError
from facegen.data.faceset import FaceSet

MANIFEST = "shards.json"
FORMAT = "facegen-shards"
VERSION = 1
CHUNK = 1 << 23  # bytes hashed per read when a shard's checksum is verified
REPAIR = "write the shards again with prepare_data.py"


@dataclass(frozen=True)
class ShardFile:
    """One shard as the manifest lists it."""

    images: str
    labels: str
    n: int
    images_bytes: int
    images_sha256: str
    labels_sha256: str


@dataclass(frozen=True)
class Manifest:
    """What ``shards.json`` says about a shard folder."""

    size: int
    channels: int
    cond_names: list[str]
    attr_names: list[str]
    source: str
    shards: list[ShardFile]

    @property
    def n(self) -> int:
        return sum(s.n for s in self.shards)

    @property
    def n_shards(self) -> int:
        return len(self.shards)

    def to_dict(self) -> dict:
        return {"format": FORMAT, "version": VERSION, "size": self.size, "channels": self.channels, "n": self.n,
                "cond_names": self.cond_names, "attr_names": self.attr_names, "source": self.source,
                "shards": [vars(s) for s in self.shards]}


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


# ---- writing ------------------------------------------------------------------------------------------------
def write_shards(faces: Iterable[FaceSet], out: Path, *, shard_size: int, source: str) -> Manifest:
    """Write the faces of ``faces`` (chunks of any length, one size, channel count and condition set) into ``out``
    as shards of ``shard_size`` faces (the last may be shorter), then the manifest; returns it. The shards are
    written into a folder beside ``out`` that replaces it at the end, so a killed run leaves no half dataset."""
    out = Path(out)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.partial")
    tmp.mkdir(parents=True, exist_ok=False)
    shards: list[ShardFile] = []
    first: FaceSet | None = None
    pending: list[FaceSet] = []
    for chunk in faces:
        if first is None:
            first = chunk
        elif (chunk.size, chunk.channels, chunk.cond_names) != (first.size, first.channels, first.cond_names):
            raise ValueError("every chunk of faces must have the size, channels and conditions of the first")
        pending.append(chunk)
        while sum(len(c) for c in pending) >= shard_size:
            whole = _concat(pending)
            shards.append(_write_shard(whole.subset(torch.arange(shard_size)), tmp, len(shards)))
            rest = whole.subset(torch.arange(shard_size, len(whole)))
            pending = [rest] if len(rest) else []
    if pending:
        shards.append(_write_shard(_concat(pending), tmp, len(shards)))
    if first is None:
        raise FacegenError(f"no faces to write into {out}: check the data flags")
    manifest = Manifest(first.size, first.channels, list(first.cond_names), list(first.attr_names), source, shards)
    (tmp / MANIFEST).write_text(json.dumps(manifest.to_dict(), indent=1) + "\n")
    if out.exists():
        old = out.with_name(f".{out.name}.{os.getpid()}.old")
        out.rename(old)
        tmp.rename(out)
        for f in old.iterdir():
            f.unlink()
        old.rmdir()
    else:
        tmp.rename(out)
    return manifest


def _concat(parts: list[FaceSet]) -> FaceSet:
    if len(parts) == 1:
        return parts[0]
    p0 = parts[0]
    return FaceSet(images=torch.cat([p.images for p in parts]), cond=torch.cat([p.cond for p in parts]),
                   cond_names=list(p0.cond_names), labelled=torch.cat([p.labelled for p in parts]),
                   names=[n for p in parts for n in p.names],
                   meta={k: torch.cat([p.meta[k] for p in parts]) for k in p0.meta},
                   attr_names=list(p0.attr_names), source=p0.source)


def _write_shard(faces: FaceSet, folder: Path, k: int) -> ShardFile:
    images, labels = folder / f"faces-{k:05d}.npy", folder / f"labels-{k:05d}.npz"
    np.save(images, faces.images.contiguous().numpy())
    arrays = {"cond": faces.cond.numpy(), "labelled": faces.labelled.numpy(),
              "names": np.array(faces.names, dtype=str)}
    arrays.update({f"meta_{key}": value.numpy() for key, value in faces.meta.items()})
    np.savez(labels, **arrays)
    return ShardFile(images.name, labels.name, len(faces), images.stat().st_size, _sha256_file(images),
                     _sha256_file(labels))


# ---- reading ------------------------------------------------------------------------------------------------
def read_manifest(folder: Path) -> Manifest:
    """The manifest of a shard folder; one line naming the file for a missing, unreadable or malformed one."""
    path = Path(folder) / MANIFEST
    if not Path(folder).is_dir():
        raise FacegenError(f"--shards {folder} is not a folder: pass the folder prepare_data.py wrote")
    try:
        raw = json.loads(path.read_text())
        if raw.get("format") != FORMAT or raw.get("version") != VERSION:
            raise ValueError(f"not a {FORMAT} v{VERSION} manifest")
        shards = [ShardFile(**s) for s in raw["shards"]]
        manifest = Manifest(int(raw["size"]), int(raw["channels"]), list(raw["cond_names"]),
                            list(raw["attr_names"]), str(raw["source"]), shards)
    except FileNotFoundError:
        raise FacegenError(f"{path} not found: --shards takes a folder written by prepare_data.py") from None
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise FacegenError(f"{path} is damaged ({e}): {REPAIR}") from None
    if not manifest.shards or manifest.n != raw.get("n"):
        raise FacegenError(f"{path} is damaged (its face counts do not add up): {REPAIR}")
    return manifest


def _data_offset(path: Path, n: int, shape: tuple[int, int, int]) -> int:
    """Where the rows start in a ``.npy`` shard whose header must say uint8 (n, *shape), C order."""
    with path.open("rb") as f:
        version = np.lib.format.read_magic(f)
        header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                  else np.lib.format.read_array_header_2_0)(f)
        offset = f.tell()
    if header != ((n, *shape), False, np.dtype(np.uint8)):
        raise ValueError(f"its header says {header[2]} {header[0]}, the manifest uint8 {(n, *shape)}")
    return offset


class ShardImages:
    """The faces of a shard folder as uint8 rows read on demand (nothing is held in memory but the positions):
    ``len()``, ``shape``, ``images[idx]`` (a subset, still on disk) and ``read(idx)`` (the rows at ``idx`` as a
    uint8 (B, C, H, W) tensor). Every shard's size is checked when the folder is opened and its checksum the
    first time this process reads from it; a mismatch is one line naming the shard."""

    def __init__(self, folder: Path, manifest: Manifest, index: torch.Tensor | None = None):
        self.folder, self.manifest = Path(folder), manifest
        c, s = manifest.channels, manifest.size
        self.row_bytes = c * s * s
        counts = torch.tensor([f.n for f in manifest.shards])
        self.starts = torch.cat([torch.zeros(1, dtype=torch.long), counts.cumsum(0)])  # global position of each
        self.index = torch.arange(manifest.n) if index is None else index  # global position of each face here
        self._files: dict[int, tuple[int, int]] = {}  # shard -> (descriptor, data offset), opened when first read
        self._lock = threading.Lock()

    @classmethod
    def open(cls, folder: Path, manifest: Manifest) -> ShardImages:
        images = cls(folder, manifest)
        for shard in manifest.shards:
            path = images.folder / shard.images
            try:
                got = path.stat().st_size
            except OSError:
                raise FacegenError(f"shard {path} is missing: {REPAIR}") from None
            if got != shard.images_bytes:
                what = "truncated" if got < shard.images_bytes else "longer than written"
                raise FacegenError(f"shard {path} is {what} ({got} of {shard.images_bytes} bytes): {REPAIR}")
        return images

    def __len__(self) -> int:
        return len(self.index)

    @property
    def shape(self) -> tuple[int, int, int, int]:
        return (len(self.index), self.manifest.channels, self.manifest.size, self.manifest.size)

    def __getitem__(self, idx: torch.Tensor) -> ShardImages:
        """The faces at positions ``idx`` of this set, still on disk (shares open files and verified shards): what
        :meth:`FaceSet.subset` takes of faces on disk; :meth:`read` reads them."""
        out = ShardImages(self.folder, self.manifest, self.index[torch.as_tensor(idx, dtype=torch.long)])
        out._files, out._lock = self._files, self._lock
        return out

    def shard_of(self, positions: torch.Tensor) -> torch.Tensor:
        """The shard number of each face at ``positions`` of this set."""
        return torch.searchsorted(self.starts, self.index[positions], right=True) - 1

    def read(self, idx: torch.Tensor) -> torch.Tensor:
        """uint8 (len(idx), C, H, W): the faces at positions ``idx`` of this set, read from their shards."""
        glob = self.index[torch.as_tensor(idx, dtype=torch.long).cpu()]
        out = np.empty((len(glob), self.row_bytes), dtype=np.uint8)
        shard = torch.searchsorted(self.starts, glob, right=True) - 1
        for i, (k, g) in enumerate(zip(shard.tolist(), glob.tolist(), strict=True)):
            fd, offset = self._file(k)
            got = os.preadv(fd, [out[i]], offset + (g - int(self.starts[k])) * self.row_bytes)
            if got != self.row_bytes:
                raise FacegenError(f"shard {self.folder / self.manifest.shards[k].images} ended early: {REPAIR}")
        c, s = self.manifest.channels, self.manifest.size
        return torch.from_numpy(out).view(len(glob), c, s, s)

    def _file(self, k: int) -> tuple[int, int]:
        """Shard k's open descriptor and data offset; opened (and its checksum verified) on first use."""
        found = self._files.get(k)
        if found is not None:
            return found
        with self._lock:
            if k not in self._files:
                shard = self.manifest.shards[k]
                path = self.folder / shard.images
                try:
                    if _sha256_file(path) != shard.images_sha256:
                        raise FacegenError(f"shard {path} is corrupt (its sha256 does not match {MANIFEST}): "
                                           f"{REPAIR}")
                    c, s = self.manifest.channels, self.manifest.size
                    offset = _data_offset(path, shard.n, (c, s, s))
                    self._files[k] = (os.open(path, os.O_RDONLY), offset)
                except (OSError, ValueError) as e:
                    raise FacegenError(f"shard {path} cannot be read ({e}): {REPAIR}") from None
        return self._files[k]


def load_shards(folder: Path, conditions: list[str]) -> FaceSet:
    """A :class:`FaceSet` whose ``images`` stay on disk (:class:`ShardImages`) and whose labels are in memory
    (about 10 bytes a face, plus its name), with the condition columns ``conditions`` of those written."""
    folder = Path(folder)
    manifest = read_manifest(folder)
    missing = [c for c in conditions if c not in manifest.cond_names]
    if missing:
        raise FacegenError(f"the shards in {folder} hold the conditions {','.join(manifest.cond_names) or 'none'}, "
                           f"not {','.join(missing)}: pass --conditions from those, or write the shards with them")
    images = ShardImages.open(folder, manifest)
    parts = [_read_labels(folder, shard) for shard in manifest.shards]
    meta_keys = [k for k in parts[0] if k.startswith("meta_")]
    columns = [manifest.cond_names.index(c) for c in conditions]
    faces = FaceSet(images=images,  # type: ignore[arg-type]  # a FaceSet whose rows are read on demand
                    cond=torch.from_numpy(np.concatenate([p["cond"] for p in parts])[:, columns]),
                    cond_names=list(conditions),
                    labelled=torch.from_numpy(np.concatenate([p["labelled"] for p in parts])),
                    names=[str(n) for p in parts for n in p["names"]],
                    meta={k[len("meta_"):]: torch.from_numpy(np.concatenate([p[k] for p in parts]))
                          for k in meta_keys},
                    attr_names=manifest.attr_names, source=f"{manifest.source} (shards in {folder})")
    return faces


def _read_labels(folder: Path, shard: ShardFile) -> dict[str, np.ndarray]:
    path = folder / shard.labels
    try:
        if _sha256_file(path) != shard.labels_sha256:
            raise FacegenError(f"shard labels {path} are corrupt (their sha256 does not match {MANIFEST}): {REPAIR}")
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except FileNotFoundError:
        raise FacegenError(f"shard labels {path} are missing: {REPAIR}") from None
    except (OSError, ValueError) as e:
        raise FacegenError(f"shard labels {path} cannot be read ({e}): {REPAIR}") from None
    if any(len(a) != shard.n for a in arrays.values()):
        raise FacegenError(f"shard labels {path} do not hold {shard.n} faces: {REPAIR}")
    return arrays


def rank_generator(generator: torch.Generator, world_rank: int) -> torch.Generator:
    """A generator of this rank's own, seeded by one draw from the shared ``generator``: what a rank draws for its
    own faces (their buffer, their flips) then moves the shared generator alike on every rank."""
    seed = int(torch.randint(2**62, (1,), generator=generator))
    return torch.Generator().manual_seed(seed + world_rank)


def buffered_order(shards: torch.Tensor, buffer: int, generator: torch.Generator, mine_generator: torch.Generator,
                   world_rank: int, world_size: int) -> torch.Tensor:
    """One epoch's order of this rank's faces, WebDataset style: the shards that hold faces of the set are permuted
    (the same permutation on every rank: drawn from the shared ``generator``), rank r reads shards r,
    r + world_size, ... of it front to back, and a buffer of ``buffer`` faces mixes them (each face read replaces a
    uniformly drawn one in the full buffer, which is emitted; the buffer is drained in random order at the end:
    drawn from ``mine_generator``, the rank's own). ``shards`` is the shard number of each face of the set, in
    position order; the result holds positions."""
    present = torch.unique(shards)
    perm = present[torch.randperm(len(present), generator=generator)]
    mine = perm[world_rank::world_size]
    stream = torch.cat([torch.nonzero(shards == k).flatten() for k in mine.tolist()] or [torch.zeros(0).long()])
    n = len(stream)
    slots = torch.rand(n, generator=mine_generator)  # one uniform draw per face read, turned into a slot below
    drain = torch.randperm(min(buffer, n), generator=mine_generator)
    out = torch.empty(n, dtype=torch.long)
    held = stream[:buffer].tolist()
    emitted = 0
    for i, s in zip(range(len(held), n), slots[len(held):].tolist(), strict=False):
        j = int(s * len(held))
        out[emitted] = held[j]
        held[j] = int(stream[i])
        emitted += 1
    out[emitted:] = torch.tensor(held, dtype=torch.long)[drain[:len(held)]] if held else out[emitted:]
    return out
