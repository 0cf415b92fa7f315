"""Measure a trained run: reconstruction, smile control, forcing, diversity, gender bias (see --help).

Writes RUN/metrics.json, RUN/plots/smile_response.png and RUN/plots/bias_by_degree.png, and prints a table.
"""

from pathlib import Path

from facegen.analysis.evaluation import metrics
from facegen.cli.args import Parser, add_common_args, add_run_arg, guard, open_run
from facegen.core.lock import check_unlocked
from facegen.models.capabilities import Decoder, Encoder


def parser() -> Parser:
    p = Parser(description="Evaluate a trained run; writes RUN/metrics.json and RUN/plots/, and prints a table. "
                           "The smile regressor and gender classifier it trains are cached in RUN/evaluators/.")
    add_run_arg(p, default_model=True)
    add_common_args(p)
    p.add_argument("--judges", type=Path, default=None,
                   help="score with the smile regressor and gender classifier another evaluated run cached, so two "
                        "runs are compared by the same judges (default: this run's own, fitted on its faces)")
    p.add_argument("--identity", type=Path, default=None,
                   help="an identity run (train_identity.py): also report whether reconstructions and forced faces "
                        "are still the same person as the input")
    return p


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    if args.judges is not None:
        check_unlocked(args.judges)
    run, model = open_run(args, (Encoder, "evaluating reconstructions and smile edits (compare_models.py measures "
                                           "GANs without an encoder)"), (Decoder, "evaluating a generator"))
    result = metrics.evaluate_run(run, model, seed=args.seed, judges=args.judges, identity=args.identity)
    print("\n".join(metrics.summary(result)))
    print(f"wrote {args.run / 'metrics.json'}")


if __name__ == "__main__":
    guard(main)
