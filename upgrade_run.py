"""Convert a run written while facegen stored pickles, once, for a run you trust: ``python upgrade_run.py --run RUN
--trust``.

Old checkpoints held NumPy and Python objects, and the fitted judges were joblib pickles; reading either means
unpickling, which runs whatever code the file carries, so every script refuses such a run. This script unpickles
the run's old files (that is what --trust allows) and rewrites them as tensors, plain values, .npz and JSON, which
every later read loads without unpickling. For a run from someone you do not trust, ask them for an exported model
(export_model.py) instead.
"""

from facegen.cli.args import Parser, add_run_arg, guard
from facegen.cli.upgrade import upgrade_run
from facegen.core.errors import FacegenError
from facegen.core.lock import check_unlocked


def parser() -> Parser:
    p = Parser(description="Rewrite a run's old pickled checkpoints and judges without pickle (unpickles them once: "
                           "only for runs you trust).")
    add_run_arg(p)
    p.add_argument("--trust", action="store_true",
                   help="you trust whoever made the run: its old files are unpickled once, which runs any code in "
                        "them")
    return p


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    if not args.trust:
        raise FacegenError(f"converting {args.run} unpickles its old files, which runs whatever code they carry: "
                           f"add --trust only for a run you made or whose author you trust")
    check_unlocked(args.run)
    written = upgrade_run(args.run)
    print(f"rewrote {len(written)} file(s) of {args.run} without pickle" if written else
          f"{args.run} holds no pickled files: nothing to convert")
    for path in written:
        print(f"  {path}")


if __name__ == "__main__":
    guard(main)
