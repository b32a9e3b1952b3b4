"""Text input for the line-based readers: UTF-8 with or without a byte-order mark, errors with a line.

:func:`open_text` iterates the lines of a file decoded one at a time, so a byte sequence that
is not UTF-8 (a Latin-1 export, a binary file) is an :class:`~phylo_vi.errors.InputFormatError`
naming the file and line instead of a ``UnicodeDecodeError``. A UTF-8 byte-order mark (what
Windows editors write at the start of a file) is dropped. Lines keep their line ends.
:func:`text_lines` gives the numbered lines without their line ends. :func:`require_file` turns a
missing, unreadable or directory path into a PhyloVIError.
"""
from __future__ import annotations

import codecs
import os
from pathlib import Path
from typing import Iterator

from phylo_vi.errors import EmptyInputError, InputFormatError


def require_file(path: str | Path) -> Path:
    """``path`` as a Path, after checking it names a readable file (PhyloVIError subclasses otherwise)."""
    path = Path(path)
    if path.is_dir():
        raise InputFormatError("is a directory, not a file", path)
    if not path.is_file():
        raise EmptyInputError("no such file", path)
    if not os.access(path, os.R_OK):
        raise InputFormatError("cannot read the file (permission denied)", path)
    return path


def decode_line(raw: bytes, path: str | Path, line: int) -> str:
    """``raw`` as UTF-8 text (a leading byte-order mark dropped on line 1); InputFormatError otherwise."""
    if line == 1 and raw.startswith(codecs.BOM_UTF8):
        raw = raw[len(codecs.BOM_UTF8):]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InputFormatError(f"not UTF-8 text (byte 0x{raw[error.start]:02x} at column {error.start + 1}); "
                               "a binary file, or text in another encoding such as Latin-1? Save it as UTF-8",
                               path, line) from None


class TextLines:
    """Context manager over the decoded lines of ``path`` (see the module docstring).

    ``with open_text(path) as lines: for text in lines: ...``; ``lines.line`` is the number of
    the line last returned.
    """

    def __init__(self, path: str | Path):
        self.path = path
        self.line = 0
        self._handle = open(require_file(path), "rb")

    def __enter__(self) -> "TextLines":
        return self

    def __exit__(self, *exc_info) -> None:
        self._handle.close()

    def __iter__(self) -> Iterator[str]:
        for raw in self._handle:
            self.line += 1
            yield decode_line(raw, self.path, self.line)


def open_text(path: str | Path) -> TextLines:
    """The lines of ``path`` as UTF-8 text, for a ``with`` statement (see :class:`TextLines`)."""
    return TextLines(path)


def text_lines(path: str | Path) -> Iterator[tuple[int, str]]:
    """``(1-based line number, line without its line break)`` of ``path`` (see :func:`open_text`)."""
    with open_text(path) as lines:
        for text in lines:
            yield lines.line, text.rstrip("\r\n")
