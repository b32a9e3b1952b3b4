"""Vectorised bitstrings and their sort order equal the one-row reference (bitset_to_string, sorted)."""
from __future__ import annotations

import numpy as np
import pytest

from phylo_vi.trees import bitset


@pytest.mark.parametrize("n_taxa", [1, 5, 63, 64, 65, 130, 1000])
def test_bitset_strings_and_their_order_match_the_row_by_row_strings(n_taxa):
    rng = np.random.default_rng(n_taxa)
    rows = np.stack([bitset.bitset_from_indices(np.flatnonzero(rng.random(n_taxa) < density), n_taxa)
                     for density in rng.random(600)])
    expected = [bitset.bitset_to_string(row, n_taxa) for row in rows]
    assert bitset.bitset_strings(rows, n_taxa) == expected
    order_words = bitset.string_order_words(rows)
    order = np.lexsort([order_words[:, w] for w in range(order_words.shape[1] - 1, -1, -1)])
    assert [expected[i] for i in order] == sorted(expected)
