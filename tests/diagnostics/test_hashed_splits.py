"""Splits as 128-bit hashes (issue 14 item 3): the same summary as the bitset path, in linear memory.

Reference: the bitset path (``tree_splits``, ``SplitCounter`` over bitsets, which the MrBayes
byte-identity tests check) on the same trees, its splits mapped to hashes by XOR-ing the labels of
the taxa on each side here, in Python, without the Numba kernel under test.
"""
from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from phylo_vi.diagnostics.summary import summarize_runs
from phylo_vi.diagnostics.tree_keys import tree_splits
from phylo_vi.io.newick import format_newick
from phylo_vi.io.trees import read_trees
from phylo_vi.trees import TaxonNamespace, Tree
from phylo_vi.trees.random_trees import random_joining_parent
from phylo_vi.trees.split_hashes import split_hashes, taxon_label


def _hash_of_bitset(words: np.ndarray) -> tuple[int, int]:
    high = low = 0
    for w, word in enumerate(words.tolist()):
        while word:
            bit = word & -word
            index = 64 * w + bit.bit_length() - 1
            high ^= int(taxon_label(index, 0))
            low ^= int(taxon_label(index, 1))
            word ^= bit
    return high, low


def _random_tree(n_taxa: int, seed: int, taxa: TaxonNamespace, swap: tuple[int, int] | None = None) -> Tree:
    """A random-joining tree; ``swap`` exchanges the taxa of two leaves (the other splits are kept)."""
    rng = np.random.default_rng(seed)
    parent = random_joining_parent(n_taxa, rng)
    taxon = np.full(len(parent), -1, dtype=np.int32)
    taxon[:n_taxa] = np.arange(n_taxa)
    if swap is not None:
        taxon[list(swap)] = taxon[list(swap[::-1])]
    return Tree(parent, rng.exponential(0.1, len(parent)), taxon, taxa)


def test_hashes_are_the_bitset_splits_hashed():
    taxa = TaxonNamespace(f"t{i}" for i in range(2000))
    tree = _random_tree(2000, 1, taxa)
    expected = sorted(_hash_of_bitset(row) for row in tree_splits(tree))
    assert len(expected) == 2000 - 3
    assert [tuple(row) for row in split_hashes(tree).tolist()] == expected


def test_hashed_summary_equals_the_bitset_summary():
    # two runs over 2,000 taxa: a tree, the same tree with two leaves swapped (most splits shared),
    # an unrelated tree, and repeats, so that splits have frequencies 0, 1/3, 1/2, 2/3 and 1 per run
    n = 2000
    taxa = TaxonNamespace(f"t{i}" for i in range(n))
    a, b, c = _random_tree(n, 2, taxa), _random_tree(n, 2, taxa, swap=(5, 1700)), _random_tree(n, 3, taxa)
    runs = [[a, b, a], [a, c]]
    by_bitset = summarize_runs(runs, hashed_splits=False)
    by_hash = summarize_runs(runs, hashed_splits=True)
    assert not by_bitset.split_table.hashed and by_hash.split_table.hashed
    table, hashed = by_bitset.split_table, by_hash.split_table
    expected = {_hash_of_bitset(row): (count, tuple(frequencies))
                for row, count, frequencies in zip(table.splits, table.counts, table.frequencies.tolist())}
    actual = {tuple(row): (count, tuple(frequencies))
              for row, count, frequencies in zip(hashed.splits.tolist(), hashed.counts, hashed.frequencies.tolist())}
    assert actual == expected
    assert len(set(np.round(table.pooled, 12))) >= 4            # shared and unshared splits
    assert np.array_equal(np.sort(hashed.pooled)[::-1], hashed.pooled)
    assert by_hash.asdsf == pytest.approx(by_bitset.asdsf, rel=1e-15)
    assert by_hash.max_sdsf == by_bitset.max_sdsf
    assert by_hash.topologies.keys == by_bitset.topologies.keys
    assert np.array_equal(by_hash.topologies.weights, by_bitset.topologies.weights)


def _traced_peak(path) -> int:
    sample = read_trees(path, burnin=0.0)
    tracemalloc.start()
    try:
        summarize_runs(sample.runs)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_summary_memory_is_linear_in_the_taxa(tmp_path):
    # three trees of 10,000 taxa: the bitset path peaks at ~235 MB traced (n^2 / 8 bytes per tree's
    # splits), the hashed one at ~15 MB, measured; a quarter of the taxa must take about a quarter
    peaks = {}
    for n in (2500, 10_000):
        taxa = TaxonNamespace(f"taxon_{i}" for i in range(n))
        path = tmp_path / f"trees_{n}.nwk"
        path.write_text("".join(format_newick(_random_tree(n, seed, taxa)) + "\n" for seed in range(3)))
        _traced_peak(path)  # compiles the kernels outside the measurement
        peaks[n] = _traced_peak(path)
    assert peaks[10_000] < 3_000 * 10_000                     # bytes per taxon, 3 trees
    assert peaks[10_000] < 6 * peaks[2500]                    # linear: 4; quadratic: 16
