"""NEXUS alignments (DATA or CHARACTERS block), parsed with Biopython's ``Bio.Nexus``.

Grammar accepted (keywords case-insensitive; other blocks such as TREES or MRBAYES are
skipped)::

    file       := "#NEXUS" block*
    data block := "begin" ("data" | "characters") ";"
                  "dimensions" ["ntax=" N] "nchar=" M ";"
                  "format" ["datatype=dna"] ["interleave"] ["missing=" c] ["gap=" c] ["matchchar=" c] ";"
                  "matrix" (name sequence)+ ";"
                  "end" ";"

Quirks tolerated and rules:

- interleaved matrices (the same taxa repeated block after block);
- quoted names (``'Homo sapiens'``), kept without the quotes; underscores are kept;
- the ``matchchar`` (``.``: same as the first row) is resolved by Biopython;
- custom ``missing=`` and ``gap=`` symbols are read as missing data, like ``?`` and ``-``;
- characters are IUPAC nucleotide codes in either case (see :mod:`phylo_vi.alignment.encoding`);
- TreeBASE header comments and a TAXA block before the data block.

Errors (:class:`~phylo_vi.errors.AlignmentFormatError`, naming file and line): a taxon listed
twice in the matrix (Biopython silently renames the second ``NAME.copy``; we refuse it), rows
longer or shorter than ``nchar``, unknown characters (at the line where the taxon's row
begins), a quoted name left open on its row (Biopython would loop forever), malformed
DIMENSIONS or FORMAT commands. A file without a matrix raises :class:`~phylo_vi.errors.EmptyInputError`.
"""
from __future__ import annotations

import io
import re
from pathlib import Path

from Bio.Nexus import Nexus

from phylo_vi.alignment.records import SequenceRecord
from phylo_vi.errors import AlignmentFormatError, EmptyInputError

_MATRIX = re.compile(r"^\s*matrix\b", re.IGNORECASE)
_TAXON_IN_ERROR = re.compile(r"taxon (?P<name>'[^']*'|[^\s:]+)", re.IGNORECASE)
_NCHAR = re.compile(r"\bnchar\s*=\s*(\d+)", re.IGNORECASE)


def _row_lines(path, names: list[str]) -> list[int | None]:
    """Line where each taxon's first row begins: names are matched in order after ``matrix``."""
    with open(path, encoding="utf-8-sig", errors="surrogateescape") as handle:
        lines = handle.read().splitlines()
    start = next((i for i, text in enumerate(lines) if _MATRIX.match(text)), 0)
    found: list[int | None] = []
    position = start
    for name in names:
        candidates = (name, f"'{name}'", f"'{name.replace(chr(39), chr(39) * 2)}'")
        line = None
        for index in range(position, len(lines)):
            text = _MATRIX.sub("", lines[index]).lstrip() if index == start else lines[index].lstrip()
            if any(text.startswith(c) and text[len(c):len(c) + 1] in ("", " ", "\t") for c in candidates):
                line, position = index + 1, index + 1
                break
        found.append(line)
    return found


def _open_quote_line(text: str) -> int | None:
    """First matrix row whose quotes (``'`` or ``"``, comments aside) are not closed on it.

    Biopython reads a matrix row by row and loops forever on a quote left open.
    """
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if _MATRIX.match(line)), None)
    if start is None:
        return None
    for index in range(start, len(lines)):
        row = re.sub(r"\[[^\]]*\]", "", lines[index])
        if row.count("'") % 2 or row.count('"') % 2:
            return index + 1
        if ";" in row:
            break
    return None


def _short_row_line(path) -> int | None:
    """First matrix row with fewer than NCHAR characters (one-row-per-taxon matrices only)."""
    with open(path, encoding="utf-8-sig", errors="surrogateescape") as handle:
        text = handle.read()
    nchar = _NCHAR.search(text)
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if _MATRIX.match(line)), None)
    if nchar is None or start is None:
        return None
    for index in range(start + 1, len(lines)):
        fields = re.sub(r"\[[^\]]*\]", "", lines[index]).replace(";", "").split(None, 1)
        if len(fields) == 2 and len("".join(fields[1].split())) < int(nchar.group(1)):
            return index + 1
        if ";" in lines[index]:
            break
    return None


def _error_line(path, message: str) -> int | None:
    match = _TAXON_IN_ERROR.search(message)
    if match is None:
        return None
    name = match.group("name").strip("'")
    return _row_lines(path, [name])[0]


def read_nexus_records(path: str | Path) -> list[SequenceRecord]:
    """Sequences of the DATA/CHARACTERS block of a NEXUS file (see the module grammar)."""
    with open(path, encoding="utf-8-sig", errors="surrogateescape") as handle:
        text = handle.read()
    if not text.strip():
        raise EmptyInputError("empty alignment file", path)
    open_quote = _open_quote_line(text)
    if open_quote is not None:
        raise AlignmentFormatError("a quoted taxon name is not closed on its line", path, open_quote)
    try:
        nexus = Nexus.Nexus(io.StringIO(text))
    except Nexus.NexusError as error:
        message = str(error)
        raise AlignmentFormatError(f"NEXUS: {message}", path, _error_line(path, message)) from None
    except (StopIteration, RuntimeError, IndexError, ValueError, TypeError, KeyError, AttributeError):
        # Biopython's own failures on malformed input (a DIMENSIONS or FORMAT value missing, a row cut short)
        raise AlignmentFormatError(
            "cannot read the NEXUS DATA block: a malformed DIMENSIONS or FORMAT command, or a row shorter than "
            "NCHAR, or the block cut off", path, _short_row_line(path)) from None
    if nexus.matrix is None or not nexus.unaltered_taxlabels:
        raise EmptyInputError("no DATA or CHARACTERS matrix in the NEXUS file", path)
    names = list(nexus.unaltered_taxlabels)
    lines = _row_lines(path, names)
    seen: dict[str, int | None] = {}
    for name, line in zip(names, lines):
        if name in seen:
            raise AlignmentFormatError(f"duplicate taxon {name!r} in the matrix (first on line {seen[name]})",
                                       path, line)
        seen[name] = line
    symbols = {}
    for symbol in (nexus.missing, nexus.gap):
        if symbol and symbol not in "?-":
            symbols[symbol.upper()] = "?"
            symbols[symbol.lower()] = "?"
    table = str.maketrans(symbols) if symbols else None
    records = []
    for label, name, line in zip(nexus.taxlabels, names, lines):
        sequence = str(nexus.matrix[label])
        records.append(SequenceRecord(name, sequence.translate(table) if table else sequence, line))
    return records
