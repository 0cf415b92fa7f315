"""argparse ``type=`` functions: each flag's valid range declared once, refused in one line.

A type raises :class:`argparse.ArgumentTypeError`, which argparse reports as
``PROG: error: argument --flag: expected RANGE, e.g. EXAMPLE; got 'TEXT'``. Every number type refuses nan and
+-inf; the integer types take whole numbers written as such ("8", not "8.0" or "1e3").
"""

from __future__ import annotations

import argparse
import math
import re
from collections.abc import Callable

DEVICES = "auto, cpu, cuda, cuda:N (N = 0, 1, ...), mps"
_CUDA_INDEX = re.compile(r"^cuda:\d+$")


def _refuse(text: str, allowed: str, example: str) -> argparse.ArgumentTypeError:
    return argparse.ArgumentTypeError(f"expected {allowed}, e.g. {example}; got {text!r}")


def _int(text: str, allowed: str, example: str) -> int:
    try:
        return int(text, 10)
    except (TypeError, ValueError):
        raise _refuse(text, allowed, example) from None


def _float(text: str, allowed: str, example: str) -> float:
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise _refuse(text, allowed, example) from None
    if not math.isfinite(value):
        raise _refuse(text, allowed, example)
    return value


def int_between(low: int, high: int) -> Callable[[str], int]:
    """A whole number n with low <= n <= high."""
    allowed = f"a whole number from {low} to {high}"

    def parse(text: str) -> int:
        value = _int(text, allowed, str(low))
        if not low <= value <= high:
            raise _refuse(text, allowed, str(low))
        return value

    parse.__name__ = f"int_between_{low}_{high}"
    return parse


def int_at_least(k: int) -> Callable[[str], int]:
    """A whole number n >= k."""
    allowed = f"a whole number >= {k}"

    def parse(text: str) -> int:
        value = _int(text, allowed, str(max(k, 8)))
        if value < k:
            raise _refuse(text, allowed, str(max(k, 8)))
        return value

    parse.__name__ = f"int_at_least_{k}"
    return parse


SEED_MAX = 2**32 - 1  # numpy.random.seed's limit
seed = int_between(0, SEED_MAX)
seed.__name__ = "seed"
positive_int = int_at_least(1)
positive_int.__name__ = "positive_int"
nonnegative_int = int_at_least(0)
nonnegative_int.__name__ = "nonnegative_int"


def finite_float(text: str) -> float:
    """Any finite number."""
    return _float(text, "a finite number", "0.5")


def positive_float(text: str) -> float:
    """A finite number > 0."""
    value = _float(text, "a finite number > 0", "0.5")
    if value <= 0:
        raise _refuse(text, "a finite number > 0", "0.5")
    return value


def nonnegative_float(text: str) -> float:
    """A finite number >= 0."""
    value = _float(text, "a finite number >= 0", "0.5")
    if value < 0:
        raise _refuse(text, "a finite number >= 0", "0.5")
    return value


def probability(text: str) -> float:
    """A number p with 0 <= p <= 1."""
    value = _float(text, "a number from 0 to 1", "0.5")
    if not 0 <= value <= 1:
        raise _refuse(text, "a number from 0 to 1", "0.5")
    return value


def open_unit(text: str) -> float:
    """A number p with 0 < p < 1 (both ends excluded)."""
    value = _float(text, "a number strictly between 0 and 1", "0.1")
    if not 0 < value < 1:
        raise _refuse(text, "a number strictly between 0 and 1", "0.1")
    return value


def learning_rate(text: str) -> float:
    """A finite step size > 0."""
    value = _float(text, "a learning rate > 0", "1e-3")
    if value <= 0:
        raise _refuse(text, "a learning rate > 0", "1e-3")
    return value


def float_between(low: float, high: float, *, exclude_low: bool = False) -> Callable[[str], float]:
    """A finite number x with low <= x <= high (low < x with ``exclude_low``)."""
    allowed = f"a number {'above' if exclude_low else 'from'} {low:g} {'and at most' if exclude_low else 'to'} {high:g}"
    example = f"{high:g}" if exclude_low else f"{low:g}"

    def parse(text: str) -> float:
        value = _float(text, allowed, example)
        if value > high or value < low or (exclude_low and value == low):
            raise _refuse(text, allowed, example)
        return value

    parse.__name__ = f"float_between_{low:g}_{high:g}"
    return parse


def float_list(low: float, high: float) -> Callable[[str], list[float]]:
    """Comma-separated finite numbers, each from ``low`` to ``high``, e.g. "-0.5,0,0.5"."""
    allowed = f"comma-separated numbers from {low:g} to {high:g}"
    example = f"{low:g},0,{high:g}" if low < 0 < high else f"{low:g},{high:g}"

    def parse(text: str) -> list[float]:
        values = [_float(v, allowed, example) for v in text.split(",") if v.strip()]
        if not values or any(v < low or v > high for v in values):
            raise _refuse(text, allowed, example)
        return values

    parse.__name__ = "float_list"
    return parse


def span(low: float, high: float, max_values: int = 1000) -> Callable[[str], list[float]]:
    """START:STOP:STEP with low <= START <= STOP <= high and STEP > 0, both ends included:
    "0.25:2.0:0.25" -> 0.25, 0.5, ..., 2.0 (at most ``max_values`` values)."""
    allowed = f"START:STOP:STEP with {low:g} <= START <= STOP <= {high:g}, STEP > 0 and at most {max_values} values"

    def parse(text: str) -> list[float]:
        parts = text.split(":")
        if len(parts) != 3:
            raise _refuse(text, allowed, "0:2:0.25")
        start, stop, step = (_float(v, allowed, "0:2:0.25") for v in parts)
        if not (low <= start <= stop <= high and step > 0):
            raise _refuse(text, allowed, "0:2:0.25")
        n = math.floor((stop - start) / step + 1e-9) + 1
        if n > max_values:
            raise _refuse(text, allowed, "0:2:0.25")
        return [round(start + i * step, 10) for i in range(n)]

    parse.__name__ = "span"
    return parse


def bounds(low: float, high: float) -> Callable[[str], tuple[float, float]]:
    """LOW:HIGH with low <= LOW < HIGH <= high, e.g. "-3:3"."""
    allowed = f"LOW:HIGH with {low:g} <= LOW < HIGH <= {high:g}"
    example = f"{max(low, -3):g}:{min(high, 3):g}"

    def parse(text: str) -> tuple[float, float]:
        parts = text.split(":")
        if len(parts) != 2:
            raise _refuse(text, allowed, example)
        a, b = (_float(v, allowed, example) for v in parts)
        if not low <= a < b <= high:
            raise _refuse(text, allowed, example)
        return a, b

    parse.__name__ = "bounds"
    return parse


def degree(bound: float = 1.0) -> Callable[[str], float]:
    """A condition degree d with |d| <= bound. The data's degrees lie in [-1, +1]; a flag meant to extrapolate
    past them passes a larger ``bound`` (and its help says so)."""
    if not (math.isfinite(bound) and bound > 0):
        raise ValueError(f"degree bound must be a finite number > 0, not {bound}")
    allowed = f"a degree from {-bound:g} to {bound:g}"

    def parse(text: str) -> float:
        value = _float(text, allowed, "0.5")
        if abs(value) > bound:
            raise _refuse(text, allowed, "0.5")
        return value

    parse.__name__ = "degree"
    return parse


def device_name(text: str) -> str:
    """auto, cpu, cuda, cuda:N or mps, in lower case (whether that device is present is checked later)."""
    name = str(text).strip().lower()
    if name in ("auto", "cpu", "cuda", "mps") or _CUDA_INDEX.match(name):
        return name
    raise _refuse(text, f"a device: {DEVICES}", "cuda:0")
