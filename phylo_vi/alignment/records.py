"""Sequences as read from a file, before validation: name, characters, and where they were."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SequenceRecord:
    """One aligned sequence as a format reader found it.

    ``line`` is the 1-based line where the record (or its first row) begins; ``segments``
    lists ``(line, n_characters)`` for each piece of the sequence when the reader knows them,
    so an error at a site can name the exact line.
    """

    name: str
    sequence: str
    line: int | None = None
    segments: tuple[tuple[int, int], ...] = ()

    def line_of_site(self, site: int) -> int | None:
        """Line holding character ``site`` (0-based), or the record's first line when unknown."""
        end = 0
        for line, length in self.segments:
            end += length
            if site < end:
                return line
        return self.line
