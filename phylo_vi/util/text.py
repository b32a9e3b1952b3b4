"""Text input that names the file and line of a byte that is not UTF-8."""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

from phylo_vi.errors import InputFormatError


def text_lines(path: str | Path) -> Iterator[tuple[int, str]]:
    """``(1-based line number, line without its line break)`` of a UTF-8 text file (a leading BOM
    is dropped); a line that is not UTF-8 (Latin-1, binary) raises :class:`InputFormatError`
    naming the file, the line and the column of the first bad byte."""
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                line = raw.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError as exc:
                raise InputFormatError(f"not UTF-8 text (byte 0x{raw[exc.start]:02x} at column {exc.start + 1})",
                                       path, number) from None
            yield number, line.rstrip("\r\n")
