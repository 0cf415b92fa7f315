"""Reading a user's text file (labels, attributes, answers) whatever editor saved it.

Tried in order: UTF-16 when the file starts with its byte-order mark (Excel's "Unicode text"), UTF-8 with or
without a BOM, then Windows-1252 (Excel's and Notepad's "ANSI" on Western systems). Every byte sequence is valid
Windows-1252 except 0x81, 0x8D, 0x8F, 0x90 and 0x9D, so a file that fails all of these, or that decodes to NUL
characters, is not text and is refused in one line.
"""

from __future__ import annotations

import codecs
from pathlib import Path

from facegen.core.errors import FacegenError

NAMES = {"utf-16": "UTF-16", "utf-8-sig": "UTF-8", "cp1252": "Windows-1252"}


def read_text(path: Path) -> str:
    """The file's text (line endings untouched). OSError (missing file, a folder, no permission) propagates as
    ``open`` raises it, for the caller to name its flag; undecodable or binary content is a FacegenError."""
    raw = Path(path).read_bytes()
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encodings = ["utf-16"]
    else:
        encodings = ["utf-8-sig", "cp1252"]
    for encoding in encodings:
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError as e:
            error = e
            continue
        if "\0" in text:
            raise FacegenError(f"{path} holds NUL bytes, so it is not a text file: pass the text (CSV) file, "
                               f"saved as UTF-8")
        return text
    tried = " or ".join(NAMES[name] for name in encodings)
    raise FacegenError(f"{path} is not text in {tried} (byte {raw[error.start]:#04x} at offset {error.start}): "
                       f"save it as UTF-8 text")
