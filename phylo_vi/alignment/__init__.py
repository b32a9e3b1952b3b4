"""DNA alignments: IUPAC bitmask encoding, site-pattern compression, taxon matching."""
from phylo_vi.alignment.alignment import Alignment
from phylo_vi.alignment.encoding import MISSING, NUCLEOTIDE_CODES, encode_nucleotides, tip_partials
from phylo_vi.alignment.patterns import SitePatterns, compress_columns
from phylo_vi.alignment.read import detect_alignment_format, read_alignment
from phylo_vi.alignment.records import SequenceRecord

__all__ = [
    "Alignment", "SitePatterns", "SequenceRecord", "read_alignment", "detect_alignment_format",
    "encode_nucleotides", "tip_partials", "compress_columns", "NUCLEOTIDE_CODES", "MISSING",
]
