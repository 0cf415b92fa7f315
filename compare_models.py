"""Train (or reuse) AE, VAE at three KL weights, DC-GAN and VAE-GAN under one budget of images seen, and compare
them with numbers (see --help); the table and figures go to --out.

    python compare_models.py --dataset lfw --data ../shared/data/lfw --resize 64 --images 200000 \\
        --feature_net results/feature_net/attribute_net.pt --seeds 0,1,2

Each model of each seed is a run folder OUT/seedS/MODEL made by its own training script's code (a finished one
is reused, an unfinished one resumed), so every exploration script works on it. Sample quality is measured in the
feature space of the project's own attribute net (train_feature_net.py) or of 8 x 8 pixels (--feature_net
pixels): a Fréchet and a kernel distance, precision / recall, nearest training face, diversity. None of it is an
FID: the feature network is not Inception, and the numbers compare these runs with each other only. The study
itself is facegen.cli.model_study.
"""

from __future__ import annotations

from pathlib import Path

from facegen.cli.args import Parser, add_common_args, add_data_args, guard, resolve_resize
from facegen.cli.model_study import MODELS, ModelStudy, parse_extras, parse_models, parse_seeds, run_study, study_data
from facegen.core.argtypes import int_at_least


def parser() -> Parser:
    p = Parser(description="Train (or reuse) and compare AE, VAE (beta 0.2 / 0.1 / 0.01), DC-GAN and VAE-GAN under "
                           "one budget of images seen; writes OUT/table.md, OUT/results.json and figures.")
    add_common_args(p)
    add_data_args(p)
    g = p.add_argument_group("comparison")
    g.add_argument("--out", type=Path, default=Path("results/compare"), help="folder of the runs, table and figures")
    g.add_argument("--models", default=",".join(m for m in MODELS if m != "vae_b2"),
                   help=f"comma-separated, from {', '.join(MODELS)} (default: all but vae_b2)")
    g.add_argument("--seeds", default="0", help="comma-separated seeds; each trains every model (mean ± sd reported)")
    g.add_argument("--images", type=int_at_least(1), default=200_000,
                   help="images seen in training per model: epochs = ceil(images / training faces)")
    g.add_argument("--batch_size", type=int_at_least(2), default=64, help="faces per step for every model")
    g.add_argument("--lr", type=float, default=2e-4, help="learning rate of every model")
    g.add_argument("--jitter", type=float, default=0.0, help="colour jitter of every model's batches (e.g. 0.05)")
    g.add_argument("--extra", action="append", default=[], metavar="MODEL=FLAGS",
                   help="more training flags for one model, e.g. 'dcgan=--g_channels 32' (repeatable)")
    g.add_argument("--feature_net", default="results/feature_net/attribute_net.pt",
                   help="attribute net written by train_feature_net.py, or 'pixels' (8 x 8 pixels)")
    g.add_argument("--n_samples", type=int_at_least(10), default=1000, help="prior samples measured per run")
    g.add_argument("--n_show", type=int_at_least(1), default=8, help="samples per row of the figures")
    g.add_argument("--eval_only", action="store_true", help="measure the runs in --out; train nothing")
    return p


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    resolve_resize(args)
    models = parse_models(args.models)
    study = ModelStudy(out=args.out, data=study_data(args), models=models,
                       seeds=parse_seeds(args.seeds), images=args.images, batch_size=args.batch_size, lr=args.lr,
                       jitter=args.jitter, extra=parse_extras(args.extra, models), feature_net=args.feature_net,
                       n_samples=args.n_samples, n_show=args.n_show, eval_only=args.eval_only, device=args.device)
    table = run_study(study, {k: str(v) for k, v in vars(args).items()})
    print(table.read_text(encoding="utf-8"))
    print(f"wrote {table}, {args.out / 'results.json'} and figures in {args.out}")


if __name__ == "__main__":
    guard(main)
