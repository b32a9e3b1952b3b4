"""A DNA alignment as a matrix of nucleotide bitmasks over a taxon namespace."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from phylo_vi.alignment.encoding import encode_nucleotides
from phylo_vi.alignment.patterns import SitePatterns, compress_columns
from phylo_vi.alignment.records import SequenceRecord
from phylo_vi.errors import AlignmentFormatError, EmptyInputError, PhyloVIError
from phylo_vi.trees.taxa import TaxonNamespace


class Alignment:
    """``codes`` (n_taxa, n_sites) uint8 bitmasks (see :mod:`phylo_vi.alignment.encoding`);
    row ``i`` belongs to taxon ``taxa[i]`` (file order)."""

    def __init__(self, taxa: TaxonNamespace, codes: np.ndarray, path: str | Path | None = None):
        codes = np.ascontiguousarray(codes, dtype=np.uint8)
        if codes.ndim != 2 or codes.shape[0] != len(taxa):
            raise PhyloVIError(f"codes of shape {codes.shape} do not fit {len(taxa)} taxa")
        if np.any(codes == 0) or np.any(codes > 15):
            raise PhyloVIError("codes must be nucleotide bitmasks between 1 and 15")
        self.taxa = taxa
        self.codes = codes
        self.path = None if path is None else str(path)

    @classmethod
    def from_records(cls, records: Sequence[SequenceRecord], path: str | Path | None = None) -> "Alignment":
        """Validate and encode records: no duplicates, equal lengths, known characters only."""
        if not records:
            raise EmptyInputError("no sequences found", path)
        first_line: dict[str, int | None] = {}
        for record in records:
            if record.name in first_line:
                seen = first_line[record.name]
                where = f" (first on line {seen})" if seen is not None else ""
                raise AlignmentFormatError(f"duplicate taxon {record.name!r}{where}", path, record.line)
            first_line[record.name] = record.line
        n_sites = len(records[0].sequence)
        for record in records[1:]:
            if len(record.sequence) != n_sites:
                raise AlignmentFormatError(
                    f"ragged alignment: {record.name!r} has {len(record.sequence)} sites but "
                    f"{records[0].name!r} has {n_sites}", path, record.line)
        if n_sites == 0:
            raise EmptyInputError("the sequences are empty (0 sites)", path, records[0].line)
        codes, bad = encode_nucleotides([record.sequence for record in records])
        if bad is not None:
            row, site = bad
            record = records[row]
            raise AlignmentFormatError(
                f"unknown character {record.sequence[site]!r} in {record.name!r} at site {site + 1} "
                "(accepted: IUPAC nucleotide codes, '-', '?')", path, record.line_of_site(site))
        return cls(TaxonNamespace(record.name for record in records), codes, path)

    @property
    def n_taxa(self) -> int:
        return self.codes.shape[0]

    @property
    def n_sites(self) -> int:
        return self.codes.shape[1]

    def site_patterns(self) -> SitePatterns:
        """Distinct columns, in order of first appearance, weighted by their counts."""
        codes, weights, site_pattern = compress_columns(self.codes)
        return SitePatterns(self.taxa, codes, weights, site_pattern, self.path)

    def __repr__(self) -> str:
        return f"Alignment({self.n_taxa} taxa, {self.n_sites} sites, path={self.path!r})"
