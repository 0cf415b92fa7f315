"""Build the exemplar smile editor's bank of real mouths (facegen.data.mouth_bank) from a prepare_mouths.py folder:
sharp, not wide-open mouths of training faces with their landmarks and smile degrees, in one safetensors file.

Writes OUT (the bank) and OUT with .json added (flags and counts).

Example: python build_mouth_bank.py --mouths data/mouths --out results/mouth_bank.safetensors
"""

from __future__ import annotations

from pathlib import Path

from facegen.cli.args import Parser, guard
from facegen.core.argtypes import int_at_least
from facegen.core.files import check_writable_file, write_json
from facegen.data.mouth_bank import build_bank, save_bank


def main(argv: list[str] | None = None) -> None:
    p = Parser(description=__doc__.split("\n\n")[0])
    p.add_argument("--mouths", type=Path, default=Path("data/mouths"), help="prepare_mouths.py output folder")
    p.add_argument("--n", type=int_at_least(1), default=3000,
                   help="mouths to keep (every strongly smiling and strongly plain one is kept)")
    p.add_argument("--seed", type=int, default=0, help="which of the other mouths are kept")
    p.add_argument("--out", type=Path, default=Path("results/mouth_bank.safetensors"))
    args = p.parse_args(argv)
    check_writable_file(args.out, "--out")
    bank = build_bank(args.mouths, args.n, args.seed)
    save_bank(bank, args.out)
    counts = {k: v for k, v in bank.provenance.items() if k != "names"}
    write_json(args.out.with_name(args.out.name + ".json"), {**{k: str(v) for k, v in vars(args).items()}, **counts})
    smiling, plain = int((bank.degrees >= 0.6).sum()), int((bank.degrees <= -0.6).sum())
    print(f"{len(bank)} of {counts['patches']} mouths kept ({smiling} smiling, {plain} plain) -> {args.out}")


if __name__ == "__main__":
    guard(main)
