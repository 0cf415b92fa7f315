"""The original Conditional Smiles study's training loop, rebuilt in one file as the yardstick of
``benchmarks/whole_run.py --compare`` (not part of the package; nothing imports it).

    python benchmarks/study_replica.py --data DIR --labels FILE --out DIR --n_epochs 30

It does what the study's ``cvae.py`` did, the way it did it, so that the whole command can be timed against
``cvae.py`` of this project on the same faces for the same epochs:

- a ``Dataset`` that opens, decodes and resizes every JPEG with PIL each time a face is drawn
  (``transforms.Resize((S, S), NEAREST)``, ``ToTensor``, ``RandomHorizontalFlip``), read through a
  ``DataLoader(batch_size, shuffle=True)`` in the main process, every epoch;
- a convolutional CVAE of the study's size: 7.7 M parameters (stride-2 3x3 convolutions with BatchNorm and
  LeakyReLU, 96 -> 192 -> 384 -> 768 channels down to 4 x 4, a linear posterior head, the decoder mirrored with
  transposed convolutions; the condition enters the encoder as a constant plane and the decoder beside z);
- per batch: the sampled codes copied to the host as NumPy and folded row by row into a Welford running
  variance (the study's latent-usage statistics), ``loss.item()`` for the epoch's printed loss;
- Adam, a StepLR schedule stepped per epoch, the loss ``mean squared error + beta * KL`` (KL in closed form,
  averaged over the batch);
- every 5 epochs and after the first: the first 32 training faces reconstructed and pasted into a PIL grid
  (``iterations/iter_E.png``, ``iterations/original.png``);
- a line printed and appended to ``training.txt`` per epoch, the latent variances appended to
  ``latent_variance.txt``, the checkpoint (model + optimizer) saved every 100 epochs and at the end; the
  seconds spent in the epochs go to ``seconds.txt`` (for the benchmark).

Faithful but not handicapped: the study's own slips that cost time or correctness are left out (it never put
the model back into training mode after its first evaluation, it evaluated with gradients on, and its KL
exponentiated sigma squared); the loss's form does not change the cost of a step.
"""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path

import numpy as np
import torch
import torchvision.transforms as transforms
from PIL import Image
from torch import nn

EVAL_EVERY = 5
SAVE_EVERY = 100


class SmilesFaces(torch.utils.data.Dataset):
    """(file, degree) rows of the label file whose image exists; each item decoded from disk when drawn."""

    def __init__(self, labels: Path, root: Path, transform):
        with open(labels, newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
        self.items = [(root / r["stimulus_filename"], float(r["avg_encode"])) for r in rows
                      if (root / r["stimulus_filename"]).is_file()]
        self.transform = transform

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> dict:
        path, degree = self.items[i]
        image = Image.open(path).convert("RGB")
        return {"image": self.transform(image), "encode": torch.tensor([degree], dtype=torch.float32)}


def block(conv: nn.Module, channels: int) -> nn.Sequential:
    return nn.Sequential(conv, nn.BatchNorm2d(channels), nn.LeakyReLU(0.2))


class StudyCVAE(nn.Module):
    """Conv CVAE for S x S RGB faces: 4 stride-2 levels (S = 50: 50 -> 25 -> 13 -> 7 -> 4)."""

    def __init__(self, size: int, latent: int, widths: tuple[int, ...] = (96, 192, 384, 768)):
        super().__init__()
        sizes = [size]
        for _ in widths:
            sizes.append((sizes[-1] + 1) // 2)
        layers, c_in = [], 3 + 1
        for w in widths:
            layers.append(block(nn.Conv2d(c_in, w, 3, 2, 1, bias=False), w))
            c_in = w
        self.encoder = nn.Sequential(*layers)
        flat = widths[-1] * sizes[-1] ** 2
        self.head = nn.Linear(flat, 2 * latent)
        self.fc = nn.Sequential(nn.Linear(latent + 1, flat), nn.LeakyReLU(0.2))
        self.start = (widths[-1], sizes[-1], sizes[-1])
        layers = []
        for i in range(len(widths) - 1, 0, -1):
            pad = sizes[i] - (2 * sizes[i + 1] - 1)
            layers.append(block(nn.ConvTranspose2d(widths[i], widths[i - 1], 3, 2, 1, output_padding=pad,
                                                   bias=False), widths[i - 1]))
        layers.append(nn.ConvTranspose2d(widths[0], 3, 3, 2, 1, output_padding=sizes[0] - (2 * sizes[1] - 1)))
        self.decoder = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
        planes = y[:, :, None, None].expand(-1, 1, x.shape[2], x.shape[3])
        mu, logvar = self.head(self.encoder(torch.cat([x, planes], 1)).flatten(1)).chunk(2, 1)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
        h = self.fc(torch.cat([z, y], 1)).view(-1, *self.start)
        return {"mu": mu, "logvar": logvar, "z": z, "xhat": torch.sigmoid(self.decoder(h))}


class OnlineVariance:
    """Welford's running mean and variance of D-dimensional vectors, one vector at a time (NumPy)."""

    def __init__(self, ndim: int):
        self.n, self.mean, self.m2 = 0, np.zeros(ndim), np.zeros(ndim)

    def include(self, datum: np.ndarray) -> None:
        self.n += 1
        delta = datum - self.mean
        self.mean += delta / self.n
        self.m2 += delta * (datum - self.mean)

    @property
    def variance(self) -> np.ndarray:
        return self.m2 / self.n


def image_grid(images: list[Image.Image], rows: int, cols: int, w: int, h: int) -> Image.Image:
    grid = Image.new("RGB", size=(cols * w, rows * h))
    for i, img in enumerate(images):
        grid.paste(img, box=(i % cols * w, i // cols * h))
    return grid


def to_pil(batch: torch.Tensor) -> list[Image.Image]:
    return [Image.fromarray(np.transpose((255 * img).cpu().numpy().astype(np.uint8), (1, 2, 0))) for img in batch]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, required=True, help="folder of the face images")
    p.add_argument("--labels", type=Path, required=True, help="smile label CSV (stimulus_filename, avg_encode)")
    p.add_argument("--out", type=Path, required=True, help="folder for the results")
    p.add_argument("--n_epochs", type=int, default=100)
    p.add_argument("--lr", type=float, default=2e-4)
    p.add_argument("--beta", type=float, default=0.5)
    p.add_argument("--batch_size", type=int, default=8)
    p.add_argument("--latent_size", type=int, default=20)
    p.add_argument("--resize", type=int, default=50)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    torch.manual_seed(args.seed)
    (args.out / "iterations").mkdir(parents=True, exist_ok=True)
    (args.out / "model_savepoints").mkdir(parents=True, exist_ok=True)
    size = args.resize
    transform = transforms.Compose([transforms.Resize((size, size), interpolation=Image.NEAREST),
                                    transforms.ToTensor(), transforms.RandomHorizontalFlip()])
    dataset = SmilesFaces(args.labels, args.data, transform)
    loader = torch.utils.data.DataLoader(dataset, batch_size=args.batch_size, shuffle=True)
    eval_loader = torch.utils.data.DataLoader(dataset, batch_size=32)
    model = StudyCVAE(size, args.latent_size)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=100, gamma=0.9)  # the study's schedule
    print(f"{len(dataset)} faces, {sum(q.numel() for q in model.parameters()) / 1e6:.2f} M parameters", flush=True)
    start = time.perf_counter()
    for epoch in range(1, args.n_epochs + 1):
        model.train()
        latent = OnlineVariance(args.latent_size)
        train_loss = 0.0
        for sample in loader:
            x, y = sample["image"], sample["encode"]
            out = model(x, y)
            for z in out["z"].detach().cpu().numpy():
                latent.include(z)
            mse = torch.mean((out["xhat"] - x) ** 2)
            kld = -0.5 * torch.mean(torch.sum(1 + out["logvar"] - out["mu"] ** 2 - out["logvar"].exp(), 1))
            loss = mse + args.beta * kld
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            train_loss += loss.detach().cpu().item()
        scheduler.step()
        if epoch % EVAL_EVERY == 0 or epoch == 1:
            model.eval()
            with torch.no_grad():
                sample = next(iter(eval_loader))
                out = model(sample["image"], sample["encode"])
            image_grid(to_pil(out["xhat"]), 4, 8, size, size).save(args.out / f"iterations/iter_{epoch}.png")
            if epoch == 1:
                image_grid(to_pil(sample["image"]), 4, 8, size, size).save(args.out / "iterations/original.png")
        if epoch % SAVE_EVERY == 0 or epoch == args.n_epochs:
            torch.save({"epoch": epoch, "model_state_dict": model.state_dict(),
                        "optimizer_state_dict": optimizer.state_dict(), "loss": train_loss},
                       args.out / "model_savepoints/model.pt")
        lr = scheduler.get_last_lr()[0]
        print(f"epoch:{epoch}, loss:{train_loss}, mse: {mse.item()}, kld: {kld.item()}, lr: {lr}", flush=True)
        with open(args.out / "training.txt", "a") as f:
            print(epoch, train_loss, mse.item(), kld.item(), lr, file=f)
        with open(args.out / "latent_variance.txt", "a") as f:
            print(latent.variance, file=f)
    seconds = time.perf_counter() - start
    (args.out / "seconds.txt").write_text(f"{seconds:.3f}\n")
    print(f"trained {args.n_epochs} epochs in {seconds:.1f} s", flush=True)


if __name__ == "__main__":
    main()
