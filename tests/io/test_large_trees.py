"""Single trees of 5,000 and 10,000 taxa: read, keyed and summarised in memory linear in the taxa.

The references are plain-Python bipartitions: the clade of every node of the generated tree as a
Python integer (bit ``i`` = taxon ``i`` of the namespace), built from the generator's own parent
array, independently of phylo_vi's readers, bitsets and kernels.
"""
from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from phylo_vi.diagnostics import summarize_runs
from phylo_vi.io import read_trees
from phylo_vi.io.newick import format_newick
from phylo_vi.io.tree_batches import CHUNK_BYTES, iter_tree_batches
from phylo_vi.trees import TaxonNamespace, Tree
from phylo_vi.trees.bitset import bitset_to_int
from phylo_vi.trees.random_trees import random_joining_parent
from phylo_vi.trees.split_hashes import taxon_label


def caterpillar_parent(n_taxa: int) -> np.ndarray:
    """((((0,1),2),3),...): nesting as deep as the tree is large (recursive code would overflow)."""
    parent = np.full(2 * n_taxa - 1, -1, dtype=np.int32)
    parent[0] = parent[1] = n_taxa
    for k in range(2, n_taxa):
        parent[k] = parent[n_taxa + k - 2] = n_taxa + k - 1
    return parent


def write_tree(path, parent: np.ndarray, rng: np.random.Generator, rooted: bool = False) -> list[str]:
    """Newick file of the tree (taxa ``t0 .. t{n-1}``, exponential lengths); returns the names."""
    n_taxa = int(np.sum(np.bincount(parent[parent >= 0], minlength=len(parent)) == 0))
    names = [f"t{k}" for k in range(n_taxa)]
    taxon = np.full(len(parent), -1, dtype=np.int32)
    taxon[:n_taxa] = np.arange(n_taxa)
    taxa = TaxonNamespace(names)
    tree = Tree(parent, rng.exponential(0.1, len(parent)), taxon, taxa, rooted=rooted)
    path.write_text(format_newick(tree) + "\n")
    return names


def reference_hashes(sides: set[int], n_taxa: int) -> set[tuple[int, int]]:
    """The 128-bit hash of every side: XOR of the labels of its taxa (:mod:`phylo_vi.trees.split_hashes`)."""
    labels = np.array([[taxon_label(i, 0), taxon_label(i, 1)] for i in range(n_taxa)], dtype=np.uint64)
    hashes = set()
    for side in sides:
        bits = np.unpackbits(np.frombuffer(side.to_bytes(-(-n_taxa // 8), "little"), dtype=np.uint8),
                             bitorder="little")[:n_taxa]
        hashes.add(tuple(np.bitwise_xor.reduce(labels[bits.astype(bool)], axis=0).tolist()))
    return hashes


def reference_splits(parent: np.ndarray, names: list[str], taxa: TaxonNamespace) -> set[int]:
    """Non-trivial splits (side without the lowest taxon index) as Python integers, from the parent array."""
    n_taxa = len(names)
    clade = [0] * len(parent)
    for leaf, name in enumerate(names):
        clade[leaf] = 1 << taxa.index(name)
    for node in range(len(parent) - 1):  # children have lower indices than their parents
        clade[parent[node]] |= clade[node]
    full = clade[-1]
    lowest = full & -full
    splits = set()
    for node in range(len(parent) - 1):
        side = clade[node] ^ full if clade[node] & lowest else clade[node]
        if 2 <= side.bit_count() <= n_taxa - 2:
            splits.add(side)
    return splits


@pytest.mark.parametrize("n_taxa,shape", [(5_000, "random"), (10_000, "random"), (10_000, "caterpillar")])
def test_large_tree_is_read_and_summarised_with_the_right_splits(tmp_path, n_taxa, shape):
    rng = np.random.default_rng(n_taxa)
    parent = random_joining_parent(n_taxa, rng) if shape == "random" else caterpillar_parent(n_taxa)
    path = tmp_path / "big.nwk"
    names = write_tree(path, parent, rng)
    sample = read_trees(path, burnin=0.0)
    expected = reference_splits(parent, names, sample.taxa)
    assert len(expected) == n_taxa - 3
    # as bitsets, and by default (above 1,024 taxa) as 128-bit hashes: those of the reference sides
    by_bitset = summarize_runs(sample.runs, hashed_splits=False)
    assert {bitset_to_int(row) for row in by_bitset.split_table.splits} == expected
    summary = summarize_runs(sample.runs)
    assert summary.split_table.hashed
    assert {tuple(row) for row in summary.split_table.splits.tolist()} == reference_hashes(expected, n_taxa)
    assert summary.n_trees == 1 and summary.topologies.n_topologies == 1
    assert np.all(summary.split_table.pooled == 1.0)


def test_reading_a_10000_taxon_tree_stays_linear_in_memory(tmp_path):
    # before batches were sized to the work, 4,096 trees x (2n - 1) nodes x ceil(n / 64) words of
    # clades were allocated up front: 39 GiB here. Now: node arrays of one tree and a linear key.
    n_taxa = 10_000
    rng = np.random.default_rng(7)
    parent = random_joining_parent(n_taxa, rng)
    path = tmp_path / "big.nwk"
    names = write_tree(path, parent, rng)
    taxa = TaxonNamespace(names)
    list(iter_tree_batches(path, taxa=TaxonNamespace(names[:10])))  # compile outside the measurement
    tracemalloc.start()
    batches = list(iter_tree_batches(path, taxa=taxa))
    keys = batches[0].topology_keys()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"peak {peak / 2**20:.1f} MiB")
    # bound: the read chunk (twice, with the carried line) and arrays of a few hundred bytes per taxon
    # (output arrays of one tree, scratch, the text of the names and labels); the clades of one tree
    # alone would take 2n x n/64 words = 25 MB
    assert peak < 2 * CHUNK_BYTES + 500 * n_taxa
    assert len(batches) == 1 and len(keys) == 1 and batches[0].clades is None


def test_canonical_key_equals_exactly_for_equal_split_sets(tmp_path):
    """Keys of wide-namespace trees (canonical codes) are equal exactly when the reference split sets are."""
    n_taxa = 3_000
    rng = np.random.default_rng(3)
    parent = random_joining_parent(n_taxa, rng)
    names = [f"t{k}" for k in range(n_taxa)]
    taxa = TaxonNamespace(names)
    taxon = np.full(len(parent), -1, dtype=np.int32)
    taxon[:n_taxa] = np.arange(n_taxa)
    tree = Tree(parent, np.full(len(parent), 0.1), taxon, taxa)
    swapped_taxon = taxon.copy()
    a, b = rng.choice(n_taxa, size=2, replace=False)
    swapped_taxon[[a, b]] = swapped_taxon[[b, a]]
    swapped = Tree(parent, np.full(len(parent), 0.1), swapped_taxon, taxa)
    # the same unrooted tree drawn from another node and with its children in another order
    redrawn = tree.reroot_at_node(int(rng.integers(n_taxa, len(parent) - 1)))
    variants = {"same": redrawn, "swapped": swapped}
    reference = reference_splits(parent, names, taxa)
    for label, other in variants.items():
        other_splits = {bitset_to_int(row) for row in other.splits()}
        assert (other.topology_key() == tree.topology_key()) == (other_splits == reference), label
    assert redrawn.topology_key() == tree.topology_key()
    assert swapped.topology_key() != tree.topology_key()
    path = tmp_path / "two.nwk"
    path.write_text(format_newick(tree) + "\n" + format_newick(redrawn) + "\n" + format_newick(swapped) + "\n")
    batch_keys = [key for batch in iter_tree_batches(path, taxa=TaxonNamespace(names)) for key in
                  batch.topology_keys()]
    assert batch_keys == [tree.topology_key(), redrawn.topology_key(), swapped.topology_key()]
