"""Train the project's face-identity embedding on LFW (split by person), then verify it on the held-out people.

It is the model ``identity`` of the one trainer (``train.py --model identity`` is the same without the
defaults below and without the verification), so --resume, --amp and torchrun work as for every model.
Example: python train_identity.py --data ../shared/data/lfw --n_epochs 30 --device cuda
"""


from facegen.analysis.judges import identity
from facegen.cli.args import guard
from facegen.cli.training import train_main
from facegen.core.devices import pick_device
from facegen.core.distributed import world_from_env
from facegen.runs import Run

DEFAULTS = {"--dataset": "lfw", "--resize": "64", "--val_fraction": "0.2", "--lr": "2e-3", "--batch_size": "128",
            "--eval_every": "5", "--out": "results/identity"}


def main(argv: list[str] | None = None) -> None:
    out = train_main(argv, "identity", defaults=DEFAULTS, epochs=20)
    if world_from_env().is_main:
        run = Run.load(out)
        result = identity.report(run, pick_device(run.args.get("device", "auto")), run.args.get("seed", 0))
        print("\n".join(identity.summary(result)))


if __name__ == "__main__":
    guard(main)
