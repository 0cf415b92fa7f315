"""Experience replay of generated images for the discriminator (Shrivastava et al. 2017; CycleGAN's ImagePool).

The discriminator then also sees images from earlier generators, which damps oscillation. A buffer of
``capacity`` images: while it is empty, :meth:`ReplayBuffer.query` returns the fresh batch and stores it;
once it holds images, floor(share B) (``share`` 1/2 by default) random slots of the returned batch (B images)
are replaced by distinct random stored images, and those buffer slots take the fresh images they displaced;
the other fresh images fill free buffer slots while there are any. Stored images are detached copies. To
replay conditional fakes (pix2pix's discriminator sees source and image), pass them concatenated along the
channels.
All randomness comes from the ``generator`` given, and :meth:`state_dict` holds the images and that
generator's state, so a resumed run draws the same choices.
"""

from __future__ import annotations

import torch

from facegen.core.errors import FacegenError


class ReplayBuffer:
    """A pool of up to ``capacity`` generated images; ``capacity`` 0 passes every batch through unchanged."""

    def __init__(self, capacity: int, generator: torch.Generator, share: float = 0.5):
        if capacity < 0:
            raise FacegenError(f"replay buffer capacity must be 0 (off) or more, not {capacity}")
        if not 0 <= share <= 1:
            raise FacegenError(f"replay share {share} must lie between 0 and 1 (the stored images' share of a batch)")
        self.capacity, self.generator, self.share = capacity, generator, share
        self.images: torch.Tensor | None = None  # (capacity, C, H, W) once the first batch arrives
        self.count = 0  # slots in use: images[:count]

    def __len__(self) -> int:
        return self.count

    def query(self, fake: torch.Tensor) -> torch.Tensor:
        """A batch of ``fake``'s size for the discriminator: fresh and replayed images, detached (``fake``
        itself when the capacity is 0)."""
        if self.capacity == 0:
            return fake
        fresh = fake.detach()
        if self.images is None:
            self.images = fresh.new_empty((self.capacity, *fresh.shape[1:]))
        elif self.images.shape[1:] != fresh.shape[1:]:
            raise ValueError(f"replay buffer holds images of shape {tuple(self.images.shape[1:])}, "
                             f"got {tuple(fresh.shape[1:])}")
        self.images = self.images.to(fresh.device)
        out = fresh.clone()
        n = len(fresh)
        k = min(int(self.share * n), self.count)
        order = torch.randperm(n, generator=self.generator)
        slots = order[:k]  # batch positions that get a stored image
        if k:
            stored = torch.randperm(self.count, generator=self.generator)[:k].to(fresh.device)
            slots_dev = slots.to(fresh.device)
            out[slots_dev] = self.images[stored]
            self.images[stored] = fresh[slots_dev]
        free = self.capacity - self.count
        if free:
            rest = order[k:].sort().values[:free].to(fresh.device)
            self.images[self.count:self.count + len(rest)] = fresh[rest]
            self.count += len(rest)
        return out

    def state_dict(self) -> dict:
        """The stored images (on the CPU), the capacity and the generator's state."""
        images = None if self.images is None else self.images[:self.count].cpu()
        return {"capacity": self.capacity, "images": images, "rng": self.generator.get_state()}

    def load_state_dict(self, state: dict) -> None:
        """Restore what :meth:`state_dict` returned (the capacity must be the same)."""
        if state["capacity"] != self.capacity:
            raise FacegenError(f"the checkpoint's replay buffer holds {state['capacity']} images, this run's "
                               f"{self.capacity}: resume with the same buffer size")
        self.generator.set_state(state["rng"])
        stored = state["images"]
        if stored is None:
            self.images, self.count = None, 0
            return
        self.images = stored.new_empty((self.capacity, *stored.shape[1:]))
        self.images[:len(stored)] = stored
        self.count = len(stored)
