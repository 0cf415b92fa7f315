"""argparse types: each accepts its edge cases and refuses the rest in one line (exit 2) through the real Parser."""

from __future__ import annotations

import argparse
import re

import pytest

from facegen.cli.args import Parser
from facegen.core import argtypes as at

BAD_NUMBERS = ["nan", "NaN", "inf", "-inf", "abc", "", "1,5"]

CASES = {
    # type: (accepted text -> value, refused texts)
    "positive_int": (at.positive_int, {"1": 1, "7": 7, " 12 ": 12, "1000000000": 10**9},
                     ["0", "-1", "1.5", "1e9", "2.0", *BAD_NUMBERS]),
    "nonnegative_int": (at.nonnegative_int, {"0": 0, "3": 3}, ["-1", "0.5", "1e3", *BAD_NUMBERS]),
    "int_at_least(4)": (at.int_at_least(4), {"4": 4, "3000": 3000}, ["3", "0", "-4", "4.0", *BAD_NUMBERS]),
    "int_between(32,128)": (at.int_between(32, 128), {"32": 32, "50": 50, "128": 128},
                            ["31", "129", "0", "-50", "1e9", "64.0", *BAD_NUMBERS]),
    "seed": (at.seed, {"0": 0, "4294967295": 2**32 - 1}, ["-1", "4294967296", "1e9", "0.5", *BAD_NUMBERS]),
    "positive_float": (at.positive_float, {"1e-12": 1e-12, "0.5": 0.5, "1e9": 1e9},
                       ["0", "-0.0", "-1", "-1e-12", *BAD_NUMBERS]),
    "nonnegative_float": (at.nonnegative_float, {"0": 0.0, "-0.0": 0.0, "2.5": 2.5, "1e9": 1e9},
                          ["-1", "-1e-12", *BAD_NUMBERS]),
    "finite_float": (at.finite_float, {"-1e9": -1e9, "0": 0.0, "1e308": 1e308}, ["1e309", *BAD_NUMBERS]),
    "probability": (at.probability, {"0": 0.0, "1": 1.0, "0.25": 0.25, "1.0": 1.0},
                    ["-1", "1.0000001", "-1e-9", "1e9", *BAD_NUMBERS]),
    "open_unit": (at.open_unit, {"1e-9": 1e-9, "0.1": 0.1, "0.999": 0.999}, ["0", "1", "-1", "1e9", *BAD_NUMBERS]),
    "learning_rate": (at.learning_rate, {"1e-3": 1e-3, "2e-4": 2e-4, "1": 1.0}, ["0", "-1e-3", "-1", *BAD_NUMBERS]),
    "degree()": (at.degree(), {"-1": -1.0, "1": 1.0, "0": 0.0, "0.5": 0.5},
                 ["1.01", "-1.5", "1e9", "-1e9", *BAD_NUMBERS]),
    "degree(3)": (at.degree(3.0), {"-3": -3.0, "2.5": 2.5}, ["3.5", "-3.01", "1e9", *BAD_NUMBERS]),
    "float_between(0,100)": (at.float_between(0, 100), {"0": 0.0, "100": 100.0, "30.5": 30.5},
                             ["-1", "100.5", "1e9", *BAD_NUMBERS]),
    "float_between(0,1,exclude_low)": (at.float_between(0, 1, exclude_low=True), {"1": 1.0, "1e-9": 1e-9},
                                       ["0", "-0.0", "1.5", *BAD_NUMBERS]),
    "device_name": (at.device_name, {"auto": "auto", "cpu": "cpu", "CUDA": "cuda", "cuda:0": "cuda:0",
                                     "cuda:12": "cuda:12", "mps": "mps", " cpu ": "cpu"},
                    ["banana", "gpu", "cuda:", "cuda:-1", "cuda:x", "cuda:0:1", "cpu:0", "tpu", ""]),
}


def parse(type_, text: str):
    p = Parser(prog="prog")
    p.add_argument("--x", type=type_)
    return p.parse_args([f"--x={text}"]).x  # "=": argparse would read "-inf" as an option


@pytest.mark.parametrize("name", CASES)
def test_accepts_its_range(name):
    type_, accepted, _ = CASES[name]
    for text, value in accepted.items():
        got = parse(type_, text)
        assert got == value and type(got) is type(value), (name, text, got)


@pytest.mark.parametrize("name", CASES)
def test_refuses_in_one_line_with_range_and_example(name, capsys):
    type_, _, refused = CASES[name]
    for text in refused:
        with pytest.raises(SystemExit) as stop:
            parse(type_, text)
        assert stop.value.code == 2, (name, text)
        err = capsys.readouterr().err
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("prog: error: argument --x: expected "), (name, text, err)
        assert f"got {text!r}" in lines[0] and ", e.g. " in lines[0], lines[0]


def test_messages_name_the_range():
    for type_, text, allowed in [
        (at.int_at_least(4), "2", "a whole number >= 4"),
        (at.int_between(32, 128), "16", "a whole number from 32 to 128"),
        (at.open_unit, "1", "strictly between 0 and 1"),
        (at.probability, "2", "from 0 to 1"),
        (at.degree(2.5), "3", "from -2.5 to 2.5"),
        (at.device_name, "banana", "auto, cpu, cuda, cuda:N (N = 0, 1, ...), mps"),
    ]:
        with pytest.raises(argparse.ArgumentTypeError, match=f"expected .*{re.escape(allowed)}"):
            type_(text)


def test_degree_bound_must_be_positive_and_finite():
    for bound in (0.0, -1.0, float("inf"), float("nan")):
        with pytest.raises(ValueError):
            at.degree(bound)
