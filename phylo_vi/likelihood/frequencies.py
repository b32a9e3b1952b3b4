"""Empirical base frequencies from site patterns.

IQ-TREE's ``+F`` (``Alignment::computeStateFreq``) starts from the uniform vector and runs 8
rounds in which every character is spread over the states its IUPAC code allows, in
proportion to the current frequencies; gaps and ``N`` (all four states) are spread too. With
only unambiguous characters this is the plain count fraction (the README of
``shared/data/reference`` documents the difference on DS1: the 7th digit).
"""
from __future__ import annotations

import numpy as np

#: (16, 4) membership of each nucleotide bitmask code: ``_ALLOWED[code, i]`` = state i allowed.
_ALLOWED = ((np.arange(16)[:, None] >> np.arange(4)[None, :]) & 1).astype(np.float64)


def code_counts(codes: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Weighted number of occurrences of each bitmask code 0..15 in ``codes`` (T, P)."""
    per_pattern = np.stack([(codes == c).sum(axis=0) for c in range(16)])
    return per_pattern @ np.asarray(weights, dtype=np.float64)


def empirical_frequencies(codes: np.ndarray, weights: np.ndarray, *, n_rounds: int = 8,
                          count_fractions: bool = False) -> np.ndarray:
    """Base frequencies (A, C, G, T) of site patterns ``codes`` (T, P) with weights (P,).

    ``count_fractions=True`` counts unambiguous characters only; the default reproduces
    IQ-TREE's ``+F`` (EM over ambiguous characters, ``n_rounds`` rounds from uniform).
    """
    counts = code_counts(codes, weights)
    if count_fractions:
        single = counts[[1, 2, 4, 8]]
        return single / single.sum()
    freqs = np.full(4, 0.25)
    for _ in range(n_rounds):
        share = _ALLOWED * freqs
        totals = share.sum(axis=1, keepdims=True)
        share = np.divide(share, totals, out=np.zeros_like(share), where=totals > 0)
        expected = counts @ share
        freqs = expected / expected.sum()
    return freqs
