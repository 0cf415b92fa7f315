"""Judge attribute edits with the project's attribute classifier (train_feature_net.py).

For each attribute: the share of edited held-out faces the classifier calls positive after adding it (negative
after removing it), and how much the other 39 predicted attributes moved, for difference-of-means vectors,
SVM directions and SVM directions conditioned on --condition, in one table (RUN/attributes/evaluation.*).
"""

from pathlib import Path

from facegen.attribute_eval import evaluate_attributes
from facegen.cli import Parser, add_common_args, add_run_arg, guard, parse_floats, pick_device
from facegen.experiment import DEFAULT_FEATURE_NET
from facegen.run import load_trained


def main() -> None:
    p = Parser(description=__doc__)
    add_common_args(p)
    add_run_arg(p)
    p.add_argument("--classifier", type=Path, default=DEFAULT_FEATURE_NET, help="attribute net to judge with")
    p.add_argument("--attributes", default="Smiling,Eyeglasses,Bald,Male",
                   help="comma-separated attributes to edit, or all")
    p.add_argument("--condition", default="Male,Young", help="attributes the conditioned directions keep fixed")
    p.add_argument("--amounts", default="1,2", help="comma-separated edit sizes, in lengths of the mean-difference "
                                                     "vector")
    p.add_argument("--n", type=int, default=200, help="held-out faces per attribute and edit (add / remove)")
    args = p.parse_args()
    device = pick_device(args.device)
    attributes = [a.strip() for a in args.attributes.split(",") if a.strip()]
    condition = [c.strip() for c in args.condition.split(",") if c.strip()]
    amounts = parse_floats(args.amounts, "--amounts")
    model, flags = load_trained(args.run, device)
    evaluate_attributes(args.run, model, flags, args.classifier, attributes, condition, amounts, args.n, args.seed,
                        device)


if __name__ == "__main__":
    guard(main)
