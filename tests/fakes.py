"""Small stand-ins that tests build in seconds: flags for a tiny training run, a run record for a model trained in
the test, synthetic data in the layouts of CelebA and LFW, faces whose label is learnable, a toy identity run, a
trainer's step that records gradients, and faces with landmarks and a prepare_mouths.py folder of them."""

from __future__ import annotations

import contextlib
import csv
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from facegen.core.files import write_csv
from facegen.data.faceset import FaceSet
from facegen.data.lfw import parse_lfw_name
from facegen.data.mouths import SIZE

# ---- tiny training runs --------------------------------------------------------------------------------------
SMALL_GAN = dict(g_channels=8, d_channels=8, max_channels=16, latent_size=6)
SMALL_VAEGAN = dict(e_channels=8, g_channels=8, d_channels=8, max_channels=16, latent_size=6)


def tiny_args(tmp: Path, model: str = "cvae", *extra: str) -> list[str]:
    """Flags for a seconds-long training run on 160 toy faces at 32 px, all under ``tmp``."""
    return ["--dataset", "toy", "--toy_dir", str(tmp / "toy"), "--toy_n", "160", "--resize", "32",
            "--cache_dir", str(tmp / "cache"), "--latent_size", "6", "--batch_size", "16",
            "--n_epochs", "3", "--eval_every", "1", "--out", str(tmp / model), *extra]


def gan_args(tmp: Path, out: str, epochs: int, *extra: str) -> list[str]:
    """``tiny_args`` for a GAN script with small networks, ``epochs`` long, evaluated every third epoch."""
    args = tiny_args(tmp, out, "--g_channels", "8", "--d_channels", "8", "--max_channels", "16", *extra)
    args[args.index("--n_epochs") + 1] = str(epochs)
    args[args.index("--eval_every") + 1] = "3"
    return args


def record_run(out: Path, model, faces=None):
    """Write the flags.json of a model trained directly with the Trainer (no training script), so Run.load and
    the exploration code can read the folder."""
    from facegen.data.spec import DataSpec
    from facegen.runs import Run

    cond = list(faces.cond_names) if faces is not None else [f"c{i}" for i in range(model.cfg.cond_dim)]
    run = Run(path=out, model_name=model.name, model_config=model.cfg.to_dict(), train_config={}, data=DataSpec(),
              dataset={"source": "test", "n_faces": 0, "n_train": 0, "n_val": 0, "size": model.cfg.size,
                       "channels": model.cfg.channels, "cond_names": cond})
    run.save()
    return run


def structured_faces(n: int = 64, size: int = 32) -> FaceSet:
    """Images that are learnable: a vertical ramp whose colour and a bright blob depend on a label."""
    g = torch.Generator().manual_seed(0)
    y = torch.rand(n, 1, generator=g) * 2 - 1
    ramp = torch.linspace(0, 1, size)
    colour = torch.rand(n, 3, 1, 1, generator=g)
    img = colour * ramp[None, None, :, None] * torch.ones(1, 1, 1, size)
    rows = ((y[:, 0] + 1) / 2 * (size - 8)).long()
    for i, r in enumerate(rows.tolist()):
        img[i, :, r:r + 6, size // 2 - 3:size // 2 + 3] = 1.0
    images = (img * 255).round().to(torch.uint8)
    return FaceSet(images, y, ["smile"], torch.ones(n, dtype=torch.bool), [f"{i}.png" for i in range(n)])


# ---- CelebA's layout -----------------------------------------------------------------------------------------
CELEBA_ATTRIBUTES = (
    "5_o_Clock_Shadow Arched_Eyebrows Attractive Bags_Under_Eyes Bald Bangs Big_Lips Big_Nose Black_Hair "
    "Blond_Hair Blurry Brown_Hair Bushy_Eyebrows Chubby Double_Chin Eyeglasses Goatee Gray_Hair Heavy_Makeup "
    "High_Cheekbones Male Mouth_Slightly_Open Mustache Narrow_Eyes No_Beard Oval_Face Pale_Skin Pointy_Nose "
    "Receding_Hairline Rosy_Cheeks Sideburns Smiling Straight_Hair Wavy_Hair Wearing_Earrings Wearing_Hat "
    "Wearing_Lipstick Wearing_Necklace Wearing_Necktie Young").split()
CELEBA_N = 48
NOBODY = "Wearing_Necktie"  # no synthetic face has it


def write_celeba(root: Path, n: int = CELEBA_N) -> tuple[Path, Path]:
    """CelebA's layout: img_align_celeba/000001.jpg ... and list_attr_celeba.txt (count, names, rows).
    Smiling draws a bright mouth, Eyeglasses a dark band over the eyes, Male tints the face blue."""
    rng = np.random.default_rng(0)
    images = root / "img_align_celeba"
    images.mkdir(parents=True)
    rows = []
    for i in range(1, n + 1):
        attrs = np.where(rng.random(len(CELEBA_ATTRIBUTES)) < 0.4, 1, -1)
        attrs[CELEBA_ATTRIBUTES.index(NOBODY)] = -1
        attrs[CELEBA_ATTRIBUTES.index("Smiling")] = 1 if i % 2 else -1
        attrs[CELEBA_ATTRIBUTES.index("Male")] = 1 if (i // 2) % 2 else -1
        img = np.full((48, 40, 3), 0.2) + rng.random(3) * 0.1
        img[8:40, 8:32] = (0.8, 0.6, 0.5) if attrs[CELEBA_ATTRIBUTES.index("Male")] < 0 else (0.5, 0.6, 0.9)
        if attrs[CELEBA_ATTRIBUTES.index("Smiling")] > 0:
            img[30:35, 12:28] = 1.0
        if attrs[CELEBA_ATTRIBUTES.index("Eyeglasses")] > 0:
            img[16:21, 9:31] = 0.0
        Image.fromarray((img * 255).astype(np.uint8)).save(images / f"{i:06d}.jpg", quality=95)
        rows.append(f"{i:06d}.jpg " + " ".join(f"{a:2d}" for a in attrs))
    attrs_file = root / "list_attr_celeba.txt"
    attrs_file.write_text(f"{n}\n" + " ".join(CELEBA_ATTRIBUTES) + "\n" + "\n".join(rows) + "\n")
    return images, attrs_file


# ---- LFW's layout --------------------------------------------------------------------------------------------
LFW_FILES = {  # file -> colour; people with "-" and "_" in their names
    "AJ_Cook_0001.jpg": (200, 30, 30),
    "Abdullah_al-Attiyah_0001.jpg": (30, 200, 30),
    "Abdullah_al-Attiyah_0002.jpg": (30, 30, 200),
    "Abdullah_al-Attiyah_0003.jpg": (200, 200, 30),
    "Jean-Pierre_Raffarin_0001.jpg": (30, 200, 200),
    "Jean-Pierre_Raffarin_0002.jpg": (200, 30, 200),
    "Madonna_0001.jpg": (120, 120, 120),
}
LFW_PEOPLE = ["AJ_Cook", "Abdullah_al-Attiyah", "Jean-Pierre_Raffarin", "Madonna"]


def make_lfw(root: Path, with_index: bool = True) -> Path:
    """An LFW layout: root/lfwcrop_color_64/*.jpg (solid colours, 64 px) and root/faces.csv."""
    images = root / "lfwcrop_color_64"
    images.mkdir(parents=True)
    for name, colour in LFW_FILES.items():
        Image.new("RGB", (64, 64), colour).save(images / name, quality=95)
    if with_index:
        write_csv(root / "faces.csv", ["file", "person", "image_no", "person_images"], lfw_index_rows())
    return root


def lfw_index_rows() -> list[list[object]]:
    """The rows of faces.csv for ``LFW_FILES``."""
    counts = {p: sum(parse_lfw_name(f)[0] == p for f in LFW_FILES) for p in LFW_PEOPLE}
    return [[f"lfwcrop_color_64/{f}", parse_lfw_name(f)[0], parse_lfw_name(f)[1], counts[parse_lfw_name(f)[0]]]
            for f in sorted(LFW_FILES)]


def make_people(root: Path, n_people: int = 16, per_person: int = 4, size: int = 64) -> Path:
    """An LFW layout of toy people: each person a random smooth colour pattern, each photo that pattern shifted
    a little with noise."""
    images = root / "lfwcrop_color_64"
    images.mkdir(parents=True)
    g = torch.Generator().manual_seed(0)
    for p in range(n_people):
        base = F.interpolate(torch.rand(1, 3, 4, 4, generator=g), size=size + 8, mode="bilinear")[0]
        for k in range(per_person):
            dx, dy = torch.randint(0, 9, (2,), generator=g).tolist()
            img = (base[:, dy:dy + size, dx:dx + size] + 0.05 * torch.randn(3, size, size, generator=g)).clamp(0, 1)
            name = images / f"Person_{p:02d}_{k + 1:04d}.jpg"
            Image.fromarray((img * 255).byte().permute(1, 2, 0).numpy()).save(name)
    return root


def train_toy_identity(tmp: Path, n_people: int, n_epochs: int, batch_size: int) -> Path:
    """An identity run (train_identity.py, verified) on ``n_people`` toy people of 3 photos each, in tmp/run."""
    import train_identity

    data = make_people(tmp / "lfw", n_people=n_people, per_person=3)
    train_identity.main(["--data", str(data), "--resize", "32", "--width", "4", "--dim", "16", "--n_epochs",
                         str(n_epochs), "--batch_size", str(batch_size), "--val_fraction", "0.5", "--cache_dir",
                         str(tmp / "cache"), "--out", str(tmp / "run"), "--device", "cpu"])
    return tmp / "run"


# ---- a trainer's step for one model ------------------------------------------------------------------------------
class RecordingStep:
    """A Step that records each optimizer's gradients and (unless ``frozen``) steps it: the training steps are
    then checked against losses computed here from their definitions."""

    def __init__(self, model, settings_lr: float = 1e-3, step: bool = True):
        self.optimizers = model.optimizers(type("S", (), {"lr": settings_lr})(), torch.device("cpu"))
        self.params = {k: [p for g in o.param_groups for p in g["params"]] for k, o in self.optimizers.items()}
        self.grads: dict[str, list[torch.Tensor]] = {}
        self.calls: list[str] = []
        self.step = step

    def autocast(self):
        return contextlib.nullcontext()

    def all_reduce_mean(self, tensor):
        return tensor.detach()  # one process

    def update(self, loss, optimizer, retain_graph=False):
        for p in self.params[optimizer]:
            p.grad = None
        loss.backward(retain_graph=retain_graph)
        self.grads[optimizer] = [torch.zeros_like(p) if p.grad is None else p.grad.clone()
                                 for p in self.params[optimizer]]
        self.calls.append(optimizer)
        if self.step:
            self.optimizers[optimizer].step()


# ---- faces with landmarks, and a prepare_mouths.py folder ----------------------------------------------------
def synthetic_landmarks(centre=(120.0, 110.0), eye_distance: float = 50.0, mouth_width: float = 0.9,
                        gap: float = 0.0) -> np.ndarray:
    """A plausible 68-point frontal face (dlib's order) with eyes ``eye_distance`` apart, mouth corners
    ``mouth_width`` eye distances apart and inner lips ``gap`` eye distances apart."""
    d, (cx, cy) = eye_distance, centre
    p = np.zeros((68, 2))
    t = np.linspace(np.pi, 0, 17)  # jaw: a U from the left ear to the right
    p[0:17] = np.stack([cx + 1.05 * d * np.cos(t), cy + 0.2 * d + 1.1 * d * np.sin(t)], 1)
    p[17:22] = np.stack([cx - d * np.linspace(0.85, 0.15, 5), np.full(5, cy - 0.75 * d)], 1)
    p[22:27] = np.stack([cx + d * np.linspace(0.15, 0.85, 5), np.full(5, cy - 0.75 * d)], 1)
    p[27:31] = np.stack([np.full(4, cx), cy - d * np.linspace(0.45, -0.15, 4)], 1)
    p[31:36] = np.stack([cx + d * np.linspace(-0.3, 0.3, 5), np.full(5, cy + 0.05 * d)], 1)
    a = np.linspace(0, 2 * np.pi, 7)[:-1]
    for start, ex in ((36, cx - 0.5 * d), (42, cx + 0.5 * d)):
        p[start:start + 6] = np.stack([ex - 0.2 * d * np.cos(a), cy - 0.5 * d - 0.07 * d * np.sin(a)], 1)
    w, my = mouth_width * d / 2, cy + 0.55 * d
    a = np.linspace(0, 2 * np.pi, 13)[:-1]
    p[48:60] = np.stack([cx - w * np.cos(a), my - 0.2 * d * np.sin(a)], 1)
    b = np.linspace(0, 2 * np.pi, 9)[:-1]
    p[60:68] = np.stack([cx - 0.8 * w * np.cos(b), my - gap / 2 * d * np.sin(b) - 1e-3 * np.sin(b)], 1)
    return p


def textured_photo(h: int = 240, w: int = 240, seed: int = 0) -> np.ndarray:
    """A smooth random RGB photo (uint8) with detail at every scale a placement error would show."""
    import cv2

    rng = np.random.default_rng(seed)
    coarse = cv2.GaussianBlur((rng.random((h, w, 3)) * 255).astype(np.float32), (0, 0), 6)
    fine = cv2.GaussianBlur((rng.random((h, w, 3)) * 255).astype(np.float32), (0, 0), 1.2)
    mix = (coarse - coarse.mean()) * 3 + (fine - fine.mean()) * 2 + 128
    return mix.clip(0, 255).astype(np.uint8)


def fake_mouths(folder: Path, n: int = 12) -> list[float]:
    """A prepare_mouths.py folder of ``n`` textured patches: every fourth flat grey (no detail), one wide open."""
    (folder / "images").mkdir(parents=True)
    photo = textured_photo(SIZE, SIZE, seed=3)
    names, points, degrees = [], [], []
    base = synthetic_landmarks(centre=(48.0, 20.0), eye_distance=SIZE / 1.8)
    for i in range(n):
        name = f"{i}.jpg.png"
        img = photo if i % 4 else np.full_like(photo, 128)
        Image.fromarray(img).save(folder / "images" / name)
        lm = synthetic_landmarks(centre=(48.0, 20.0), eye_distance=SIZE / 1.8, gap=0.5 if i == 1 else 0.0)
        names.append(name)
        points.append(lm if i == 1 else base)
        degrees.append(-1.0 + 2 * i / (n - 1))
    np.savez(folder / "mouths.npz", names=np.array(names), landmarks=np.stack(points).astype(np.float32),
             features=np.zeros((n, 5), np.float32))
    with open(folder / "labels.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["", "stimulus_filename", "avg_encode"])
        w.writerows([i, name, f"{d:.4f}"] for i, (name, d) in enumerate(zip(names, degrees, strict=True)))
    return degrees
