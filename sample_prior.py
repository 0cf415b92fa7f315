"""Decode codes drawn from a trained run's prior at a chosen smile degree (see --help); figures go to RUN/sampled."""

from facegen.analysis.latent import explore
from facegen.cli.args import (
    EXTRAPOLATE,
    Parser,
    add_common_args,
    add_condition_args,
    add_run_arg,
    condition_values,
    guard,
    note_extrapolation,
    open_run,
)
from facegen.core.argtypes import degree, float_between, float_list, positive_int, span
from facegen.models.capabilities import Decoder, Sampler

MAX_TEMPERATURE = 10.0  # prior standard deviations: beyond this every sample saturates


def parser() -> Parser:
    p = Parser(description="Sample faces from the prior of a trained run at a smile degree; writes RUN/sampled/.")
    add_run_arg(p, default_model=True)
    add_common_args(p)
    p.add_argument("--degree", type=degree(), default=0.0, help="smile degree the samples are decoded with (-1 to +1)")
    add_condition_args(p)
    p.add_argument("--n", type=positive_int, default=None,
                   help="number of samples, >= 1 (default 32; 10 columns for the sweeps)")
    p.add_argument("--temperature", type=float_between(0, MAX_TEMPERATURE, exclude_low=True), default=None,
                   help=f"scale of the prior's standard deviation, above 0, at most {MAX_TEMPERATURE:g} (default: the "
                        f"run's --temperature, e.g. a Glow's 0.7; else 1)")
    what = p.add_mutually_exclusive_group()
    what.add_argument("--sweep", action="store_true",
                      help="the same codes at every degree from -1 to +1 in steps of 0.1 (sampled/all_synthetic.png)")
    what.add_argument("--degrees", type=float_list(-EXTRAPOLATE, EXTRAPOLATE), default=None,
                      help=f"the same codes at each listed degree, e.g. -3,-1.1,1.1,3; degrees past -1 or +1 (up to "
                           f"{EXTRAPOLATE:g}) extrapolate beyond the training labels, and a note says so")
    what.add_argument("--temperatures", type=span(0, MAX_TEMPERATURE), default=None,
                      help="START:STOP:STEP of prior standard deviations, one row each, e.g. 0.25:2.0:0.25")
    return p


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    if args.degrees:
        note_extrapolation("--degrees", args.degrees)
    others = condition_values(args)
    run, model = open_run(args, (Sampler, "sampling from the prior"), (Decoder, "decoding samples"))
    temperature = args.temperature if args.temperature is not None else run.model_config.get("temperature", 1.0)
    for path in explore.sample_prior(run, model, seed=args.seed, degree=args.degree, n=args.n,
                                     temperature=temperature, degrees=args.degrees, temperatures=args.temperatures,
                                     sweep=args.sweep, **others):
        print(f"wrote {path}")


if __name__ == "__main__":
    guard(main)
