"""The one exception type users see as a single line (see ``facegen.cli.guard``), and warnings that never come
between a script and its one-line refusal."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

_held: list[str] | None = None  # warnings held back while a script runs under guard; None: printed at once


class FacegenError(Exception):
    """A problem with the user's input: the message names the file and the fix."""


def warn(text: str) -> None:
    """``warning: TEXT`` on stderr. While :func:`held_warnings` is active (a script under ``guard``) it is held and
    printed once, however often it was raised, when the script ends without a refusal: a refusal stays one line."""
    if _held is None:
        print(f"warning: {text}", file=sys.stderr)
    elif text not in _held:
        _held.append(text)


@contextmanager
def held_warnings() -> Iterator[list[str]]:
    """Hold :func:`warn`'s warnings in the yielded list for the caller to print (or drop) at the end."""
    global _held
    saved, _held = _held, []
    try:
        yield _held
    finally:
        _held = saved
