"""Streaming split of a text file into ``;``-terminated statements (NEXUS and Newick).

A ``;`` ends a statement only outside ``'quoted'`` text and ``[comments]``; comments and
quotes may span lines. Lines are read one at a time, so memory does not grow with the file.
The common case, a whole statement on one line with no quote and only closed comments (every
MrBayes and BEAST tree line), takes a fast path that does not scan characters in Python.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Iterable, Iterator, NamedTuple

from phylo_vi.errors import TreeFormatError
from phylo_vi.io.text import require_file

_CLOSED_COMMENTS = re.compile(r"[^\[\]]*(?:\[[^\[\]]*\][^\[\]]*)*")


class Statement(NamedTuple):
    """One statement: its text without the ``;``, the line where it starts, and whether a ``;`` ended it."""

    text: str
    line: int
    terminated: bool = True


def iter_statements(path: str | Path, lines: Iterable[str] | None = None, *,
                    first_line: int = 1) -> Iterator[Statement]:
    """Yield the statements of ``path`` (or of ``lines``, with ``path`` used in messages).

    ``first_line`` is the number of the first line of ``lines`` (for a reader that resumes in
    the middle of a file). Text after the last ``;`` that holds more than whitespace and
    comments is yielded as a final statement with ``terminated=False``, so a caller can
    report the missing ``;``.
    """
    if lines is None:
        with open(require_file(path), encoding="utf-8-sig", errors="replace") as handle:
            yield from _split(handle, path, first_line)
    else:
        yield from _split(lines, path, first_line)


def _split(lines: Iterable[str], path, first_line: int) -> Iterator[Statement]:
    pending: list[str] = []
    start: int | None = None
    in_quote = in_comment = False
    number = first_line - 1
    for number, text in enumerate(lines, start=first_line):
        if start is None and not in_quote and not in_comment:
            stripped = text.rstrip()
            if (stripped.endswith(";") and stripped.count(";") == 1 and "'" not in stripped
                    and _comments_closed(stripped)):
                yield Statement(stripped[:-1], number)
                continue
        begin = 0
        for position, char in enumerate(text):
            if start is None and not char.isspace():
                start = number
            if in_comment:
                in_comment = char != "]"
            elif in_quote:
                in_quote = char != "'"
            elif char == "[":
                in_comment = True
            elif char == "'":
                in_quote = True
            elif char == ";":
                pending.append(text[begin:position])
                yield Statement("".join(pending), start)
                pending, start, begin = [], None, position + 1
        if begin < len(text):
            pending.append(text[begin:])
    if in_comment:
        raise TreeFormatError("unterminated comment '[' at end of file", path, number)
    if in_quote:
        raise TreeFormatError("unterminated quoted label at end of file", path, number)
    leftover = "".join(pending)
    if _strip_comments(leftover).strip():
        yield Statement(leftover, start or number, terminated=False)


def _comments_closed(text: str) -> bool:
    """Whether every ``[`` of ``text`` is closed by a ``]`` on it (comments do not nest)."""
    return _CLOSED_COMMENTS.fullmatch(text) is not None


def _strip_comments(text: str) -> str:
    out, depth = [], 0
    for char in text:
        if char == "[":
            depth += 1
        elif char == "]" and depth:
            depth -= 1
        elif not depth:
            out.append(char)
    return "".join(out)
