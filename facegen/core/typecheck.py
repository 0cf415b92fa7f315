"""Whether values read from a file (a run's flags.json, an exported model's metadata) have the types their
dataclass fields declare, so a hand-edited or damaged file is one line instead of a crash deep in the code."""

from __future__ import annotations

import dataclasses
import types
import typing
from pathlib import Path

from facegen.core.errors import FacegenError


def check_fields(cls: type, values: dict, where: str) -> None:
    """One line naming ``where`` (e.g. "RUN/flags.json model_config") and the field for the first value whose type
    does not fit the field of that name of the dataclass ``cls`` (names it lacks are left to the caller)."""
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        if f.name in values and not fits(values[f.name], hints[f.name]):
            raise FacegenError(f"{where}: {f.name} is {_shown(values[f.name])}, not {type_name(hints[f.name])}: "
                               f"the file was edited or damaged; restore it or train the run again")


def fits(value: object, hint: object) -> bool:
    """Whether a JSON value fits the type ``hint`` (ints count as floats, strings as paths, lists as tuples)."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return any(fits(value, a) for a in args)
    if hint is type(None):
        return value is None
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            return False
        if origin is tuple and args and args[-1] is not Ellipsis:
            return len(value) == len(args) and all(fits(v, a) for v, a in zip(value, args, strict=True))
        return not args or all(fits(v, args[0]) for v in value)
    if origin is dict or hint is dict:
        return isinstance(value, dict)
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint in (str, Path):
        return isinstance(value, str)
    return True  # Any and anything this check does not describe


def type_name(hint: object) -> str:
    """How a type reads in a message: int, list[str], int | None."""
    return str(hint).replace("typing.", "") if typing.get_args(hint) else getattr(hint, "__name__", str(hint))


def _shown(value: object) -> str:
    text = repr(value)
    return f"{type(value).__name__} {text if len(text) <= 30 else text[:27] + '...'}"
