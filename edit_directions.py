"""Edit directions of an attribute: a linear SVM on encoded faces (--method svm), the difference of the mean codes
(mean_diff), or InterFaceGAN (interfacegan): an SVM on prior samples labelled by the project's judges, which needs
no encoder and no labelled data.

Reports the held-out accuracy and saves the unit direction. With --fixed, the other attributes' directions (same
method) are projected out, so the edit leaves them alone; the figure compares plain and conditioned edits on
held-out faces that lack the attribute (prior samples the judge calls without it, for runs without an encoder).
Everything goes to RUN/attributes/directions/ (file names end in _<method> unless svm).
"""

from facegen.analysis.directions.attribute_figures import write_directions
from facegen.analysis.directions.steering import ATTRIBUTE_METHODS
from facegen.cli.args import Parser, add_common_args, add_run_arg, guard, open_run
from facegen.cli.steering import add_judge_args, add_method_arg, judges_from, sampling_from
from facegen.core.argtypes import positive_int, span
from facegen.models.capabilities import Decoder

MAX_AMOUNT = 10.0  # lengths of the mean difference along the direction: beyond this an edit only saturates


def main(argv: list[str] | None = None) -> None:
    p = Parser(description=__doc__)
    add_common_args(p)
    add_run_arg(p, default_model=True)
    p.add_argument("--attribute", required=True,
                   help="attribute to edit: a CelebA attribute (Smiling, Eyeglasses, ...), smile or gender")
    add_method_arg(p, ATTRIBUTE_METHODS, "svm")
    p.add_argument("--fixed", default="", help="comma-separated attributes to keep fixed, e.g. Male,Young")
    p.add_argument("--n", type=positive_int, default=4,
                   help="held-out faces (without the attribute) in the figure (>= 1)")
    p.add_argument("--amounts", type=span(-MAX_AMOUNT, MAX_AMOUNT), default="0:3:0.75",
                   help="START:STOP:STEP, in units of the distance between the mean codes with and without the "
                        f"attribute along the direction (from -{MAX_AMOUNT:g} to {MAX_AMOUNT:g})")
    add_judge_args(p)
    args = p.parse_args(argv)
    fixed = [c.strip() for c in args.fixed.split(",") if c.strip()]
    run, model = open_run(args, (Decoder, "attribute edits"))
    write_directions(run, model, args.attribute, fixed, args.n, args.amounts, args.seed, args.method,
                     judges_from(args, run, model), sampling_from(args))


if __name__ == "__main__":
    guard(main)
