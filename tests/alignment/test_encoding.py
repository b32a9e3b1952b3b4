"""IUPAC bitmask encoding and tip partials, checked against the IUPAC table written out by hand."""
import numpy as np
import pytest

from phylo_vi.alignment import NUCLEOTIDE_CODES, encode_nucleotides, tip_partials

# IUPAC nucleotide codes (Cornish-Bowden 1985, Table 1): the bases each code stands for.
IUPAC = {
    "A": "A", "C": "C", "G": "G", "T": "T", "U": "T", "R": "AG", "Y": "CT", "S": "CG", "W": "AT",
    "K": "GT", "M": "AC", "B": "CGT", "D": "AGT", "H": "ACT", "V": "ACG", "N": "ACGT",
}


@pytest.mark.parametrize("char", sorted(IUPAC))
def test_iupac_code_allows_exactly_its_bases(char):
    codes, bad = encode_nucleotides([char + char.lower()])
    assert bad is None
    expected = [1.0 if base in IUPAC[char] else 0.0 for base in "ACGT"]
    np.testing.assert_array_equal(tip_partials(codes)[0], [expected, expected])


@pytest.mark.parametrize("char", ["-", "?", "N", "n", "X"])
def test_gap_and_missing_are_all_ones(char):
    codes, bad = encode_nucleotides([char])
    assert bad is None and codes[0, 0] == 15
    np.testing.assert_array_equal(tip_partials(codes)[0, 0], [1, 1, 1, 1])


def test_bit_values_follow_the_contract():
    # /work/api_alignment.md: A=1, C=2, G=4, T/U=8
    assert [NUCLEOTIDE_CODES[c] for c in "ACGTU"] == [1, 2, 4, 8, 8]


@pytest.mark.parametrize("sequences, position", [(["ACGT", "ACJT"], (1, 2)), (["AC*T"], (0, 2)),
                                                 (["ACGT", "ACGé"], (1, 3))])
def test_first_unknown_character_is_located(sequences, position):
    _, bad = encode_nucleotides(sequences)
    assert bad == position
