"""Decode codes drawn from a trained run's prior at a chosen smile degree (see --help); figures go to RUN/sampled."""

from facegen.analysis import explore
from facegen.cli.args import (
    Parser,
    add_common_args,
    add_condition_args,
    add_run_arg,
    condition_values,
    guard,
    open_run,
    parse_floats,
    parse_span,
)


def parser() -> Parser:
    p = Parser(description="Sample faces from the prior of a trained run at a smile degree; writes RUN/sampled/.")
    add_run_arg(p)
    add_common_args(p)
    p.add_argument("--degree", type=float, default=0.0, help="smile degree the samples are decoded with (-1 to +1)")
    add_condition_args(p)
    p.add_argument("--n", type=int, default=None, help="number of samples (default 32; 10 columns for the sweeps)")
    p.add_argument("--temperature", type=float, default=None,
                   help="scale of the prior's standard deviation (default: the run's --temperature, e.g. a Glow's "
                        "0.7; else 1)")
    what = p.add_mutually_exclusive_group()
    what.add_argument("--sweep", action="store_true",
                      help="the same codes at every degree from -1 to +1 in steps of 0.1 (sampled/all_synthetic.png)")
    what.add_argument("--degrees", default=None, help="the same codes at each listed degree, e.g. -3,-1.1,1.1,3")
    what.add_argument("--temperatures", default=None,
                      help="START:STOP:STEP of prior standard deviations, one row each, e.g. 0.25:2.0:0.25")
    return p


def main(argv: list[str] | None = None) -> None:
    p = parser()
    args = p.parse_args(argv)
    if args.n is not None and args.n < 1:
        p.error(f"--n {args.n}: need at least one sample")
    degrees = parse_floats(args.degrees, "--degrees") if args.degrees else None
    others = condition_values(args)
    temperatures = parse_span(args.temperatures, "--temperatures") if args.temperatures else None
    run, model = open_run(args, ("sample", "sampling from the prior"), ("decode", "decoding samples"))
    temperature = args.temperature if args.temperature is not None else run.model_config.get("temperature", 1.0)
    for path in explore.sample_prior(run, model, seed=args.seed, degree=args.degree, n=args.n,
                                     temperature=temperature, degrees=degrees, temperatures=temperatures,
                                     sweep=args.sweep, **others):
        print(f"wrote {path}")


if __name__ == "__main__":
    guard(main)
