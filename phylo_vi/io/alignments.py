"""``read_alignment``: one entry point for FASTA, NEXUS and PHYLIP alignments (format modules :mod:`.fasta`,
:mod:`.nexus_alignment`, :mod:`.phylip`)."""
from __future__ import annotations

from pathlib import Path

from phylo_vi.alignment.alignment import Alignment
from phylo_vi.errors import AlignmentFormatError, EmptyInputError
from phylo_vi.io.fasta import read_fasta_records
from phylo_vi.io.nexus_alignment import read_nexus_records
from phylo_vi.io.phylip import read_phylip_records
from phylo_vi.io.text import require_file

ALIGNMENT_FORMATS = ("fasta", "nexus", "phylip")
_READERS = {"fasta": read_fasta_records, "nexus": read_nexus_records, "phylip": read_phylip_records}
_EXTENSIONS = {
    ".fasta": "fasta", ".fa": "fasta", ".fas": "fasta", ".fna": "fasta", ".afa": "fasta", ".ffn": "fasta",
    ".nex": "nexus", ".nexus": "nexus", ".nxs": "nexus",
    ".phy": "phylip", ".phylip": "phylip", ".ph": "phylip",
}


def detect_alignment_format(path: str | Path) -> str:
    """Format from the first non-blank line (a byte-order mark skipped), whatever the file is named.

    ``>`` starts FASTA, ``#NEXUS`` starts NEXUS, two integers start PHYLIP. Content that is none
    of these goes to the reader the extension names, for its own error message.
    """
    with open(path, encoding="utf-8-sig", errors="replace") as handle:
        for number, line in enumerate(handle, start=1):
            text = line.strip()
            if not text:
                continue
            if text.startswith(">"):
                return "fasta"
            if text[:6].upper() == "#NEXUS":
                return "nexus"
            fields = text.split()
            if len(fields) == 2 and fields[0].isdigit() and fields[1].isdigit():
                return "phylip"
            by_extension = _EXTENSIONS.get(Path(path).suffix.lower())
            if by_extension is not None:
                return by_extension
            raise AlignmentFormatError(
                "cannot tell the alignment format (not FASTA '>', '#NEXUS' or a PHYLIP "
                "'ntax nchar' header); pass format=", path, number)
    raise EmptyInputError("empty alignment file", path, None)


def read_alignment(path: str | Path, format: str | None = None) -> Alignment:
    """Read a DNA alignment (FASTA, NEXUS or PHYLIP, through Biopython).

    ``format`` is one of ``"fasta"``, ``"nexus"``, ``"phylip"``, or None to detect it from the
    content. Errors name the file and line (see the format modules in
    :mod:`phylo_vi.io` for the grammar and quirks accepted).
    """
    path = require_file(path)
    if format is None:
        format = detect_alignment_format(path)
    reader = _READERS.get(str(format).lower())
    if reader is None:
        raise AlignmentFormatError(f"unknown alignment format {format!r} (choose from {', '.join(ALIGNMENT_FORMATS)})",
                                   path)
    return Alignment.from_records(reader(path), path)
