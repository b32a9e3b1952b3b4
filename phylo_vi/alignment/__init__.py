"""DNA alignments: IUPAC bitmask encoding, site-pattern compression, taxon matching.

Files are read by :func:`phylo_vi.io.read_alignment` (FASTA, NEXUS, PHYLIP).
"""
from phylo_vi.alignment.alignment import Alignment
from phylo_vi.alignment.encoding import MISSING, NUCLEOTIDE_CODES, encode_nucleotides, tip_partials
from phylo_vi.alignment.patterns import SitePatterns, compress_columns
from phylo_vi.alignment.records import SequenceRecord

__all__ = [
    "Alignment", "SitePatterns", "SequenceRecord",
    "encode_nucleotides", "tip_partials", "compress_columns", "NUCLEOTIDE_CODES", "MISSING",
]
