"""FASTA alignments, parsed with Biopython's ``SimpleFastaParser``.

Grammar accepted::

    file     := blank* record+
    record   := ">" title NEWLINE sequence-line*
    title    := name [whitespace description]
    sequence := characters on any number of lines (wrapped at any width or not at all)

Quirks tolerated and rules:

- the taxon name is the first whitespace-delimited word of the title (as Biopython's
  ``SeqRecord.id``); the rest of the title is ignored; underscores are kept;
- blank lines, spaces inside sequence lines and Windows line ends (``\\r\\n``) are ignored;
- characters are IUPAC nucleotide codes in either case, ``-``, ``?``, ``N``, ``X``
  (see :mod:`phylo_vi.alignment.encoding`).

Errors (:class:`~phylo_vi.errors.AlignmentFormatError`, naming file and line): text before
the first ``>``, an empty name, a duplicate name, sequences of different lengths (ragged), an
unknown character (the exact line of the character). An empty file raises
:class:`~phylo_vi.errors.EmptyInputError`.
"""
from __future__ import annotations

from pathlib import Path
from Bio.SeqIO.FastaIO import SimpleFastaParser

from phylo_vi.alignment.records import SequenceRecord
from phylo_vi.errors import AlignmentFormatError


class _LineTracker:
    """Iterator over a handle's lines noting each header's line and each sequence line's length.

    Biopython's parser loops over the handle twice (before and after the first header), so
    this is one iterator whose line count carries over.
    """

    def __init__(self, handle, path):
        self._handle = handle
        self._path = path
        self._number = 0
        self.headers: list[int] = []
        self.segments: list[list[tuple[int, int]]] = []

    def __iter__(self) -> "_LineTracker":
        return self

    def __next__(self) -> str:
        line = next(self._handle)
        self._number += 1
        if line.startswith(">"):
            self.headers.append(self._number)
            self.segments.append([])
        elif line.strip():
            if not self.headers:
                raise AlignmentFormatError("text before the first '>' header (is this FASTA?)",
                                           self._path, self._number)
            self.segments[-1].append((self._number, len("".join(line.split()))))
        return line


def read_fasta_records(path: str | Path) -> list[SequenceRecord]:
    """Sequences of a FASTA file with the line of each record (see the module grammar)."""
    records: list[SequenceRecord] = []
    with open(path, encoding="utf-8-sig", errors="surrogateescape", newline=None) as handle:
        tracker = _LineTracker(handle, path)
        for index, (title, sequence) in enumerate(SimpleFastaParser(tracker)):
            line = tracker.headers[index]
            words = title.split()
            if not words:
                raise AlignmentFormatError("FASTA header without a name", path, line)
            records.append(SequenceRecord(words[0], "".join(sequence.split()), line,
                                          tuple(tracker.segments[index])))
    return records
