"""The DC-GAN step of the one trainer against a plain single-file loop over the same networks and batches.

    python benchmarks/dcgan_reference.py                      # 64 px, batches 64 and 128, toy faces
    python benchmarks/dcgan_reference.py --sizes 32 --batches 8 --steps 3 --repeats 1   # a smoke check

The reference does the same work as ``dcgan``'s train_step, written out: the discriminator on [real, fake] in one
pass with the BCE loss, then the generator through the frozen discriminator on [real, fake] (BatchNorm sees the
mixed batch), two Adams (lr 2e-4, betas (0.5, 0.999)), no clipping, no logging. Prints images/s of both and the
trainer's share of the reference's speed (the issue asks for at least 0.9). Nothing here is a test.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from facegen.core.devices import pick_device  # noqa: E402
from facegen.core.seeding import seed_everything  # noqa: E402
from facegen.data import load_dataset  # noqa: E402
from facegen.data.batches import DeviceFaces  # noqa: E402
from facegen.data.faceset import FaceSet  # noqa: E402
from facegen.models.registry import build_model  # noqa: E402
from facegen.nn.dcgan import Discriminator, Generator  # noqa: E402
from facegen.train import trainer as train_module  # noqa: E402
from facegen.train.trainer import TrainConfig, Trainer  # noqa: E402

train_module.tqdm = lambda iterable, **_: iterable
LATENT = 100


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def reference_epoch(g: Generator, d: Discriminator, opt_g, opt_d, data: DeviceFaces, batch: int,
                    gen: torch.Generator) -> None:
    """One epoch of the plain loop."""
    for b in data.shuffled(batch, gen):
        real = b.x * 2 - 1
        n = real.shape[0]
        fake = g(torch.randn(n, LATENT, device=real.device))
        logits = d(torch.cat([real, fake.detach()]))
        d_loss = F.softplus(-logits[:n]).mean() + F.softplus(logits[n:]).mean()
        opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        opt_d.step()
        d.requires_grad_(False)
        g_loss = F.softplus(-d(torch.cat([real, fake]))[n:]).mean()
        opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        opt_g.step()
        d.requires_grad_(True)


def timed(run, device: torch.device, repeats: int) -> float:
    run()  # warm-up
    times = []
    for _ in range(repeats):
        sync(device)
        t = time.perf_counter()
        run()
        sync(device)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def compare(faces: FaceSet, size: int, batch: int, device: torch.device, repeats: int) -> tuple[float, float]:
    """(reference images/s, trainer images/s) for one setting."""
    seed_everything(0)
    model = build_model("dcgan", dict(size=size, channels=3, latent_size=LATENT,
                                      collapse_alarm=0.0))  # timing epochs on repeated faces: no alarm
    with tempfile.TemporaryDirectory() as tmp:
        trainer = Trainer(model, faces, faces.subset(torch.arange(2)), TrainConfig(batch_size=batch, clip_grad=0),
                          Path(tmp), device, {})
        ours = timed(trainer.train_epoch, device, repeats)
    fused = device.type == "cuda"  # as facegen.models.base.adam
    g = Generator(size, 3, LATENT).to(device, memory_format=torch.channels_last)
    d = Discriminator(size, 3).to(device, memory_format=torch.channels_last)
    opt_g = torch.optim.Adam(g.parameters(), 2e-4, betas=(0.5, 0.999), fused=fused, foreach=None if fused else True)
    opt_d = torch.optim.Adam(d.parameters(), 2e-4, betas=(0.5, 0.999), fused=fused, foreach=None if fused else True)
    data = DeviceFaces(faces, device, channels_last=True)
    gen = torch.Generator().manual_seed(0)
    ref = timed(lambda: reference_epoch(g.train(), d.train(), opt_g, opt_d, data, batch, gen), device, repeats)
    return len(faces) / ref, len(faces) / ours


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", default="64", help="comma list of image sizes")
    p.add_argument("--batches", default="64,128", help="comma list of batch sizes")
    p.add_argument("--steps", type=int, default=20, help="steps per timed epoch")
    p.add_argument("--repeats", type=int, default=3, help="timed epochs per setting (the median is reported)")
    p.add_argument("--device", default="auto")
    args = p.parse_args()
    device = pick_device(args.device)
    sizes = [int(s) for s in args.sizes.split(",")]
    pool = load_dataset(dataset="toy", size=max(sizes), conditions=[], cache_dir=Path("data/cache"))
    print(f"device {device}, {torch.get_num_threads()} threads")
    print(f"{'px':>4} {'batch':>5} {'reference img/s':>16} {'trainer img/s':>14} {'trainer / reference':>20}")
    for size in sizes:
        for batch in (int(b) for b in args.batches.split(",")):
            faces = pool.subset(torch.arange(args.steps * batch) % len(pool))
            if faces.size != size:
                images = F.interpolate(faces.images.float(), size=(size, size), mode="area")
                faces.images = images.round().to(torch.uint8)
            ref, ours = compare(faces, size, batch, device, args.repeats)
            print(f"{size:>4} {batch:>5} {ref:>16.0f} {ours:>14.0f} {ours / ref:>20.2f}", flush=True)


if __name__ == "__main__":
    main()
