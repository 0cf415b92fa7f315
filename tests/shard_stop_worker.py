"""``cvae.py`` stopped on every rank right after its checkpoint at step STOP of epoch 2, as Ctrl-C would stop it:
``torchrun ... tests/shard_stop_worker.py STOP CVAE_FLAGS...`` (tests/test_shards.py resumes it)."""

from __future__ import annotations

import sys

import cvae
from facegen.cli.args import guard
from facegen.train.trainer import Trainer

STOP = int(sys.argv[1])
checkpoint_within = Trainer.checkpoint_within


def stop_after(self: Trainer, step: int, terms: dict, sizes: list) -> None:
    checkpoint_within(self, step, terms, sizes)
    if self.epoch == 1 and step == STOP:
        raise KeyboardInterrupt


Trainer.checkpoint_within = stop_after
guard(lambda: cvae.main(sys.argv[2:]))
