"""Judge attribute edits with the project's attribute classifier (train_feature_net.py).

For each attribute: the share of edited held-out faces the classifier calls positive after adding it (negative
after removing it), and how much the other 39 predicted attributes moved, for difference-of-means vectors,
SVM directions and SVM directions conditioned on --fixed, in one table (RUN/attributes/evaluation.*).
"""

from pathlib import Path

from facegen.analysis.evaluation.attribute_edits import evaluate_attributes
from facegen.cli.args import Parser, add_common_args, add_run_arg, guard, open_run
from facegen.core.argtypes import float_list, positive_int
from facegen.models.capabilities import Decoder, Encoder
from facegen.nn.features import DEFAULT_FEATURE_NET

MAX_AMOUNT = 10.0  # lengths of the mean difference: beyond this an edit only saturates


def main(argv: list[str] | None = None) -> None:
    p = Parser(description=__doc__)
    add_common_args(p)
    add_run_arg(p, default_model=True)
    p.add_argument("--classifier", type=Path, default=DEFAULT_FEATURE_NET, help="attribute net to judge with")
    p.add_argument("--attributes", default="Smiling,Eyeglasses,Bald,Male",
                   help="comma-separated attributes to edit, or all")
    p.add_argument("--fixed", default="Male,Young", help="attributes the conditioned directions keep fixed")
    p.add_argument("--amounts", type=float_list(0, MAX_AMOUNT), default="1,2",
                   help=f"comma-separated edit sizes, in lengths of the mean-difference vector (0 to {MAX_AMOUNT:g})")
    p.add_argument("--n", type=positive_int, default=200,
                   help="held-out faces per attribute and edit (add / remove), >= 1")
    p.add_argument("--mean_only", action="store_true",
                   help="judge only the difference-of-means vectors, fitting no SVM (for large codes, e.g. a Glow's)")
    args = p.parse_args(argv)
    attributes = [a.strip() for a in args.attributes.split(",") if a.strip()]
    fixed = [c.strip() for c in args.fixed.split(",") if c.strip()]
    run, model = open_run(args, (Encoder, "judging attribute edits"), (Decoder, "attribute edits"))
    evaluate_attributes(run, model, args.classifier, attributes, fixed, args.amounts, args.n, args.seed,
                        next(model.parameters()).device, svm=not args.mean_only)


if __name__ == "__main__":
    guard(main)
