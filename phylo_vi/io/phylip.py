"""PHYLIP alignments (relaxed and strict, sequential or interleaved), parsed with Biopython.

Grammar accepted::

    file   := header row{ntax} block*
    header := ntax nchar                      (two integers on the first line)
    row    := name sequence-piece             (one line per taxon in the first block)
    block  := blank* sequence-piece{ntax}     (interleaved continuation, same taxon order)

Names are read the relaxed way first (Biopython ``phylip-relaxed``: the name ends at the first
whitespace, any length; what RAxML, IQ-TREE and PhyML write). When that reading fails or does
not give ``nchar`` sites per taxon, the strict way is tried (``phylip``: the name is the first
10 characters, may contain spaces, and may touch the sequence).

Quirks tolerated and rules: spaces inside sequences are ignored; characters are IUPAC
nucleotide codes in either case, ``-``, ``?``, ``N``, ``X``; ``.`` (match-the-first-row) is
refused by Biopython and reported as an error; underscores in names are kept.

Errors (:class:`~phylo_vi.errors.AlignmentFormatError`, naming file and line): a bad header,
rows whose lengths differ from each other or from ``nchar`` (named at the row's first line),
duplicate names, unknown characters (at the taxon's first line). An empty file raises
:class:`~phylo_vi.errors.EmptyInputError`.
"""
from __future__ import annotations

from pathlib import Path

from Bio.AlignIO.PhylipIO import PhylipIterator, RelaxedPhylipIterator

from phylo_vi.alignment.records import SequenceRecord
from phylo_vi.errors import AlignmentFormatError, EmptyInputError


class _CountingHandle:
    """Text handle whose ``readline`` remembers the number of every line it returned."""

    def __init__(self, handle):
        self._handle = handle
        self.lines: list[tuple[int, str]] = []
        self._number = 0

    def readline(self) -> str:
        line = self._handle.readline()
        if line:
            self._number += 1
            self.lines.append((self._number, line))
        return line


def _header(path) -> tuple[int, int, int]:
    """``(ntax, nchar, line)`` of the first non-blank line."""
    with open(path, encoding="utf-8-sig", errors="surrogateescape") as handle:
        for number, line in enumerate(handle, start=1):
            fields = line.split()
            if not fields:
                continue
            if len(fields) != 2 or not all(field.isdigit() for field in fields):
                raise AlignmentFormatError(
                    f"PHYLIP header must be two integers 'ntax nchar', found {line.strip()!r}", path, number)
            return int(fields[0]), int(fields[1]), number
    raise EmptyInputError("empty alignment file", path)


def _count_rows(path, header_line: int) -> int:
    """Non-blank lines after the header: every taxon needs one (Biopython would wait for them forever)."""
    with open(path, encoding="utf-8-sig", errors="surrogateescape") as handle:
        return sum(1 for number, line in enumerate(handle, start=1) if number > header_line and line.strip())


def _row_lengths(lines: list[tuple[int, str]], n_taxa: int, strict: bool) -> list[tuple[int, int]]:
    """``(first line, number of characters)`` per taxon, recounted the way Biopython reads rows."""
    body = [(number, text) for number, text in lines[1:] if text.strip()]
    rows: list[list[int]] = []
    for position, (number, text) in enumerate(body):
        if position < n_taxa:
            sequence = text.rstrip("\r\n")[10:] if strict else (text.split(None, 1) + [""])[1]
            rows.append([number, len("".join(sequence.split()))])
        else:
            rows[(position - n_taxa) % n_taxa][1] += len("".join(text.split()))
    return [(number, length) for number, length in rows]


def _parse(path, iterator_class, n_taxa: int, n_sites: int) -> tuple[list[SequenceRecord] | None, str, int | None]:
    """Records, or None with the reason and line when this reading of the file does not fit."""
    strict = iterator_class is PhylipIterator
    with open(path, encoding="utf-8-sig", errors="surrogateescape") as handle:
        counting = _CountingHandle(handle)
        try:
            alignment = next(iterator_class(counting))
        except (ValueError, StopIteration) as error:
            lengths = _row_lengths(counting.lines, n_taxa, strict)
            for number, length in lengths:
                if length != n_sites:
                    return None, f"a row has {length} sites but the header says {n_sites} (ragged alignment?)", number
            return None, str(error) or "cannot parse the PHYLIP rows", counting.lines[-1][0] if counting.lines else None
    row_lines = [number for number, text in counting.lines[1:] if text.strip()][:n_taxa]
    records = [SequenceRecord(str(record.id), str(record.seq), line)
               for record, line in zip(alignment, row_lines)]
    for record in records:
        if len(record.sequence) != n_sites:
            return None, (f"ragged alignment: {record.name!r} has {len(record.sequence)} sites but the "
                          f"header says {n_sites}"), record.line
    return records, "", None


def read_phylip_records(path: str | Path) -> list[SequenceRecord]:
    """Sequences of a PHYLIP file with the line where each taxon's row begins."""
    n_taxa, n_sites, header_line = _header(path)
    if n_taxa == 0:
        raise EmptyInputError("PHYLIP header declares 0 taxa", path, header_line)
    n_rows = _count_rows(path, header_line)
    if n_rows < n_taxa:
        raise AlignmentFormatError(f"the header declares {n_taxa} taxa but only {n_rows} rows follow it", path,
                                   header_line)
    records, reason, line = _parse(path, RelaxedPhylipIterator, n_taxa, n_sites)
    if records is None:
        strict_records, _, _ = _parse(path, PhylipIterator, n_taxa, n_sites)
        if strict_records is None:
            raise AlignmentFormatError(reason, path, line)
        records = strict_records
    return records
