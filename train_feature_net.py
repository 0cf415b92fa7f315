"""Train the project's attribute classifier on CelebA (40 attributes) and report its held-out accuracy.

It is the model ``attrnet`` of the one trainer (so --resume, --amp and torchrun work as for every model). Its
layers are the default feature network of the DFC-VAE (vae.py --loss perceptual), and it judges attribute
edits in evaluate_attributes.py; both read RUN/attribute_net.pt, written at the end.
"""


from facegen.analysis.judges.attribute_accuracy import report
from facegen.cli.args import guard
from facegen.cli.training import train_main
from facegen.core.distributed import world_from_env
from facegen.runs import Run

DEFAULTS = {"--dataset": "celeba", "--resize": "64", "--lr": "2e-3", "--batch_size": "64", "--eval_every": "1",
            "--out": "results/feature_net"}


def main(argv: list[str] | None = None) -> None:
    out = train_main(argv, "attrnet", defaults=DEFAULTS, epochs=4)
    if world_from_env().is_main:
        report(Run.load(out))


if __name__ == "__main__":
    guard(main)
