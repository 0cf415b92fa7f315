"""The experience-replay buffer: filling, half fresh / half replayed, detached copies, pass-through, resume."""

from __future__ import annotations

import io
from collections import Counter

import pytest
import torch

from facegen.core.errors import FacegenError
from facegen.nn.replay import ReplayBuffer

counter = iter(range(1, 10**6))


def generated(n: int) -> torch.Tensor:
    """``n`` images, each constant at a value no other image has, so an image is known by its value."""
    return torch.tensor([float(next(counter)) for _ in range(n)]).view(n, 1, 1, 1).expand(n, 2, 3, 3).clone()


def ids(images: torch.Tensor) -> list[int]:
    assert (images == images[:, :1, :1, :1]).all()
    return [int(v) for v in images[:, 0, 0, 0]]


def buffer(capacity: int, seed: int = 0) -> ReplayBuffer:
    return ReplayBuffer(capacity, torch.Generator().manual_seed(seed))


def test_capacity_zero_passes_through():
    pool = buffer(0)
    fake = generated(4)
    assert pool.query(fake) is fake and len(pool) == 0


def test_fills_then_returns_half_fresh_half_stored():
    pool = buffer(6)
    first = generated(4)
    assert ids(pool.query(first)) == ids(first) and sorted(ids(pool.images[:len(pool)])) == ids(first)
    second = generated(4)
    out = pool.query(second)
    replayed = [i for i in ids(out) if i in ids(first)]
    assert len(replayed) == 2 and len(set(ids(out))) == 4
    assert [i for i, j in zip(ids(out), ids(second), strict=True) if i == j] == [i for i in ids(out) if i not in
                                                                                  replayed]  # fresh keep their slot
    # while filling, the fresh images shown are stored too; the replayed ones made room for the displaced
    assert len(pool) == 6 and Counter(ids(pool.images)) == Counter(ids(first) + ids(second)) - Counter(replayed)
    for batch_size in (4, 5, 8):
        before, fake = Counter(ids(pool.images)), generated(batch_size)
        out = pool.query(fake)
        stored = [i for i in ids(out) if i not in ids(fake)]
        assert len(stored) == batch_size // 2 and all(i in before for i in stored)
        # nothing is lost or invented: what comes out plus what stays is what was there plus the fresh batch
        assert Counter(ids(out)) + Counter(ids(pool.images)) == before + Counter(ids(fake))


def test_stored_images_are_detached_copies():
    pool = buffer(3)
    fake = generated(2).requires_grad_()
    values = fake.detach().clone()
    out = pool.query(fake * 1)
    assert not out.requires_grad and not pool.images.requires_grad
    with torch.no_grad():
        fake.add_(1000)
    assert torch.equal(pool.images[:2], values) and torch.equal(out, values)


def test_a_batch_larger_than_the_buffer():
    pool = buffer(3)
    first = generated(8)
    assert ids(pool.query(first)) == ids(first) and len(pool) == 3
    out = pool.query(generated(8))
    assert sum(i in ids(first) for i in ids(out)) == 3  # at most what the buffer holds


def test_choices_come_from_the_generator_and_survive_resume():
    batches = [generated(4) for _ in range(8)]
    a, b = buffer(5, seed=1), buffer(5, seed=1)
    assert all(torch.equal(a.query(x), b.query(x)) for x in batches[:4])
    slots = {tuple(i for i, x in enumerate(ids(a.query(y))) if x not in ids(y)) for y in map(generated, [4] * 12)}
    assert len(slots) > 1  # the replayed positions vary

    saved = io.BytesIO()
    torch.save(a.state_dict(), saved)
    expected = [a.query(x) for x in batches[4:]]
    resumed = buffer(5, seed=99)
    saved.seek(0)
    resumed.load_state_dict(torch.load(saved, weights_only=True))
    assert all(torch.equal(resumed.query(x), e) for x, e in zip(batches[4:], expected, strict=True))
    empty = buffer(5)
    empty.load_state_dict(buffer(5, seed=3).state_dict())
    assert len(empty) == 0 and torch.equal(empty.query(batches[0]), batches[0])
    with pytest.raises(FacegenError, match="same buffer size"):
        buffer(4).load_state_dict(a.state_dict())


def test_the_replayed_share_follows_the_flag():
    for share, batch, expect in ((0.25, 8, 2), (1.0, 4, 4), (0.0, 6, 0), (0.5, 7, 3)):
        pool = ReplayBuffer(20, torch.Generator().manual_seed(0), share)
        first = generated(10)
        pool.query(first)
        fresh = generated(batch)
        out = pool.query(fresh)
        assert sum(i in ids(first) for i in ids(out)) == expect and len(set(ids(out))) == batch
    with pytest.raises(FacegenError, match="between 0 and 1"):
        ReplayBuffer(4, torch.Generator(), 1.5)
