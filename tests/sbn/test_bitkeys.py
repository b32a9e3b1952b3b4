"""``distinct_ranks`` (hash-table deduplication used by the support) against NumPy's sort-based reference."""
from __future__ import annotations

import numpy as np
import pytest

from phylo_vi.sbn.bitkeys import distinct_ranks


@pytest.mark.parametrize("high", [3, 5_000, 10**12, 2**62])
def test_distinct_ranks_equal_unique_and_searchsorted(high):
    # Reference: np.unique (sorted distinct values) and np.searchsorted (rank of each entry);
    # negative codes must pass through. Exact integer equality.
    rng = np.random.default_rng(high % 1000)
    keys = rng.integers(-2, high, size=(3_000, 4))
    table, ranks = distinct_ranks(keys)
    expected = np.unique(keys[keys >= 0])
    assert np.array_equal(table, expected)
    assert np.array_equal(ranks, np.where(keys < 0, keys, np.searchsorted(expected, keys)))


def test_distinct_ranks_without_valid_keys():
    # No non-negative entry: empty table, codes unchanged.
    table, ranks = distinct_ranks(np.full(7, -2, dtype=np.int64))
    assert table.size == 0 and np.array_equal(ranks, np.full(7, -2))
