"""Index lookups of the subsplit support (hash index and binary search) and the one-kernel support build,
against plain-Python references (a dict of positions; sorting every key with NumPy)."""
from __future__ import annotations

import numpy as np
import pytest

from phylo_vi.sbn.edges import unrooted_edge_tables
from phylo_vi.sbn.support import _clade_ids, _factors, _ids_kernel, build_support
from phylo_vi.trees.random_trees import random_joining_parent


@pytest.mark.parametrize("n_keys", [5, 5000])  # fewer keys than entries: binary search; more: hash index
def test_ids_kernel_equals_a_dict_of_positions(n_keys):
    rng = np.random.default_rng(3)
    table = np.unique(rng.integers(0, 10**12, size=2000))
    keys = np.concatenate([rng.choice(table, size=n_keys), rng.integers(0, 10**12, size=n_keys), [-1, -2]])
    position = {int(key): i for i, key in enumerate(table)}
    expected = [int(key) if key < 0 else position.get(int(key), -1) for key in keys]
    assert _ids_kernel(table, keys).tolist() == expected


def test_build_support_equals_sorting_every_factor_key():
    from phylo_vi.trees.arrays import TreeArrays
    from phylo_vi.trees.taxa import TaxonNamespace

    rng = np.random.default_rng(7)
    n_taxa, n_trees = 9, 300
    parent = np.stack([random_joining_parent(n_taxa, rng) for _ in range(n_trees)])
    taxon = np.full(parent.shape, -1, dtype=np.int32)
    taxon[:, :n_taxa] = np.arange(n_taxa)
    tables = unrooted_edge_tables(TreeArrays(parent, taxon, np.ones(n_trees),
                                             TaxonNamespace([f"t{i}" for i in range(n_taxa)])))
    support, indexed = build_support(tables)
    clade_keys, clade_ids = _clade_ids(tables)
    n_clades = len(clade_keys)
    root_key, root_parent, child_half, sib_parent, sib_child = _factors(tables, clade_ids, n_clades)
    parents = np.unique(np.concatenate([root_parent[child_half >= 0], sib_parent[sib_child >= 0]]))
    root_pcsp = np.where(child_half >= 0, np.searchsorted(parents, root_parent) * n_clades + child_half, child_half)
    sib_pcsp = np.where(sib_child >= 0, np.searchsorted(parents, sib_parent) * n_clades + sib_child, sib_child)
    pcsps = np.unique(np.concatenate([root_pcsp[root_pcsp >= 0], sib_pcsp[sib_pcsp >= 0]]))
    roots = np.unique(root_key)
    assert np.array_equal(support.parent_keys, parents) and np.array_equal(support.pcsp_keys, pcsps)
    assert np.array_equal(support.root_splits, roots)
    assert np.array_equal(indexed.root_split, np.searchsorted(roots, root_key))
    assert np.array_equal(indexed.pcsp_root, np.where(root_pcsp >= 0, np.searchsorted(pcsps, root_pcsp), root_pcsp))
    assert np.array_equal(indexed.pcsp_sib, np.where(sib_pcsp >= 0, np.searchsorted(pcsps, sib_pcsp), sib_pcsp))
