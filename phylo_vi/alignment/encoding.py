"""Nucleotide characters as 4-bit state masks (A=1, C=2, G=4, T/U=8).

An IUPAC ambiguity code is the OR of the bits of the bases it stands for (Cornish-Bowden 1985,
Nucleic Acids Res. 13:3021, Table 1). Gap ``-``, ``?``, ``N`` and ``X`` are missing data: all four
bits set, so the tip partial-likelihood vector is (1, 1, 1, 1), as in MrBayes, IQ-TREE, BEAGLE
and VBPI. Lower case is accepted. Any other character is an error.
"""
from __future__ import annotations

import numpy as np

A, C, G, T = 1, 2, 4, 8
MISSING = A | C | G | T

#: Character -> bitmask for every accepted character (upper case; lower case is added below).
NUCLEOTIDE_CODES: dict[str, int] = {
    "A": A, "C": C, "G": G, "T": T, "U": T,
    "R": A | G, "Y": C | T, "S": C | G, "W": A | T, "K": G | T, "M": A | C,
    "B": C | G | T, "D": A | G | T, "H": A | C | T, "V": A | C | G,
    "N": MISSING, "X": MISSING, "?": MISSING, "-": MISSING,
}

_LOOKUP = np.zeros(256, dtype=np.uint8)
for _char, _mask in NUCLEOTIDE_CODES.items():
    _LOOKUP[ord(_char)] = _mask
    _LOOKUP[ord(_char.lower())] = _mask


def encode_nucleotides(sequences: list[str]) -> tuple[np.ndarray, tuple[int, int] | None]:
    """Encode equal-length sequences as a ``(n_taxa, n_sites)`` uint8 bitmask matrix.

    Returns the matrix and the ``(row, column)`` of the first unknown character (None when
    every character is accepted); the caller turns that position into an error message.
    """
    n_sites = len(sequences[0]) if sequences else 0
    for row, sequence in enumerate(sequences):
        if not sequence.isascii():
            column = next(i for i, char in enumerate(sequence) if not char.isascii())
            return np.zeros((0, 0), dtype=np.uint8), (row, column)
    raw = np.frombuffer("".join(sequences).encode("ascii"), dtype=np.uint8)
    codes = _LOOKUP[raw].reshape(len(sequences), n_sites)
    bad = np.flatnonzero(codes.ravel() == 0)
    if len(bad):
        row, column = divmod(int(bad[0]), n_sites)
        return codes, (row, column)
    return codes, None


def tip_partials(codes: np.ndarray) -> np.ndarray:
    """Partial-likelihood vectors of bitmask codes: shape ``codes.shape + (4,)``, float64.

    Entry ``[..., s]`` is 1.0 when state ``s`` (order A, C, G, T) is allowed by the code.
    """
    bits = np.arange(4, dtype=np.uint8)
    return ((codes[..., None] >> bits) & 1).astype(np.float64)
