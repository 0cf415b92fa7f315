"""Train the project's attribute classifier on CelebA (40 attributes) and report its held-out accuracy.

Its layers are the default feature network of the DFC-VAE (vae.py --loss perceptual), and it judges attribute
edits in evaluate_attributes.py.
"""

from pathlib import Path

from facegen.cli import Parser, add_common_args, add_data_args, guard
from facegen.feature_training import train_feature_net


def main() -> None:
    p = Parser(description=__doc__)
    add_common_args(p)
    add_data_args(p)
    p.set_defaults(dataset="celeba", resize=64, conditions="")  # all 40 attributes are targets: no condition
    t = p.add_argument_group("training")
    t.add_argument("--n_epochs", type=int, default=4, help="epochs to train")
    t.add_argument("--lr", type=float, default=2e-3, help="peak Adam learning rate (one-cycle schedule)")
    t.add_argument("--batch_size", type=int, default=64, help="faces per step")
    t.add_argument("--out", type=Path, default=Path("results") / "feature_net", help="output folder")
    t.add_argument("--overwrite", action="store_true", help="replace an existing net in --out")
    train_feature_net(p.parse_args())


if __name__ == "__main__":
    guard(main)
