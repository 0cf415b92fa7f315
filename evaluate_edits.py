"""Measure edits of any run that can decode and sample: for each direction (InterFaceGAN, mean_diff and svm
attribute directions; pca, ganspace and sefa principal directions; the run's conditions) and each edit distance,
the share of faces whose target attribute flips, how much every judged attribute moves (entanglement), how far the
face moves in the judges' feature space, and the cosines between directions. One table: RUN/steering/edits.md and
edits.csv (docs/steering.md explains every number).
"""

from facegen.analysis.directions.principal import PRINCIPAL, available_methods
from facegen.analysis.directions.steering import ATTRIBUTE_METHODS
from facegen.analysis.evaluation.direction_edits import default_attributes, default_methods, evaluate_edits
from facegen.cli.args import Parser, add_common_args, add_run_arg, guard, open_run
from facegen.cli.steering import add_judge_args, judges_from, sampling_from
from facegen.core.argtypes import float_list, int_at_least
from facegen.core.errors import FacegenError
from facegen.models.capabilities import Decoder, Sampler


def names(text: str, flag: str, allowed: tuple[str, ...] | None = None) -> list[str]:
    """A comma-separated list (possibly empty: "none"), each checked against ``allowed``."""
    values = [] if text.strip().lower() == "none" else [v.strip() for v in text.split(",") if v.strip()]
    for v in values:
        if allowed is not None and v not in allowed:
            raise FacegenError(f"{flag}: unknown method {v!r}: use some of {', '.join(allowed)} (or none)")
    return values


def shift_list(text: str) -> list[float]:
    """--shifts: comma-separated shifts from -2 to 2, or none."""
    return [] if text.strip().lower() == "none" else float_list(-2.0, 2.0)(text)


def main(argv: list[str] | None = None) -> None:
    p = Parser(description=__doc__)
    add_common_args(p)
    add_run_arg(p, default_model=True)
    p.add_argument("--attributes", default="auto",
                   help="judged attributes to find directions for (comma-separated), or auto: smile, gender and "
                        "q(y|x)'s smile where judged, plus Smiling, Eyeglasses and Male with an attribute net")
    p.add_argument("--methods", default="auto",
                   help="attribute methods (comma-separated, or none), or auto: interfacegan where the run can "
                        "sample, mean_diff and svm where it can encode and its data labels the attribute")
    p.add_argument("--principal", default="auto",
                   help="principal methods (comma-separated, or none), or auto: pca where the run can encode, "
                        "ganspace and sefa where the model exposes their hooks")
    p.add_argument("--k", type=int_at_least(1), default=3, help="top principal directions of each method")
    p.add_argument("--fixed", default="", help="also measure each attribute direction with these attributes' "
                                               "directions projected out (comma-separated)")
    p.add_argument("--distances", type=float_list(-10.0, 10.0), default="1,2,3",
                   help="edit distances, in latent units (prior sd), each from -10 to 10")
    p.add_argument("--shifts", type=shift_list, default="0.5,1,2",
                   help="condition edits: shifts of each condition column, each from -2 to 2 (or none)")
    p.add_argument("--n", type=int_at_least(4), default=200, help="prior samples edited")
    add_judge_args(p)
    args = p.parse_args(argv)
    distances, shifts = args.distances, args.shifts
    run, model = open_run(args, (Decoder, "measuring edits"), (Sampler, "measuring edits of prior samples"))
    judges = judges_from(args, run, model)
    attributes = (default_attributes(judges) if args.attributes == "auto"
                  else names(args.attributes, "--attributes"))
    methods = (default_methods(model) if args.methods == "auto"
               else names(args.methods, "--methods", ATTRIBUTE_METHODS))
    principal = (available_methods(model) if args.principal == "auto"
                 else names(args.principal, "--principal", PRINCIPAL))
    evaluate_edits(run, model, judges, attributes=attributes, methods=methods, principal=principal, k=args.k,
                   distances=distances, shifts=shifts if run.cond_names else [],
                   fixed=names(args.fixed, "--fixed"), n=args.n, sampling=sampling_from(args))


if __name__ == "__main__":
    guard(main)
