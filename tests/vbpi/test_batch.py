"""Topology batches: split keys identify topologies; the canonical node order depends on the topology only."""
from __future__ import annotations

import numpy as np

from phylo_vi.vbpi.batch import canonical_tree


def test_topology_keys_agree_with_tree_topology_keys(sampled):
    # reference: Tree.topology_key (split sets computed by phylo_vi.trees, independently of the batch)
    trees = [sampled.arrays.tree(i) for i in range(len(sampled))]
    for i in range(len(trees)):
        for j in range(len(trees)):
            same_topology = trees[i].topology_key() == trees[j].topology_key()
            assert (sampled.topology_keys[i] == sampled.topology_keys[j]) == same_topology


def test_canonical_tree_is_the_same_for_every_node_order_of_a_topology(sampled):
    groups: dict[bytes, list[int]] = {}
    for row, key in enumerate(sampled.topology_keys):
        groups.setdefault(key, []).append(row)
    assert any(len(rows) > 1 and len({sampled.arrays.parent[r].tobytes() for r in rows}) > 1
               for rows in groups.values())  # some topology comes in several node orders
    for rows in groups.values():
        canonical = [canonical_tree(sampled.arrays.tree(r)) for r in rows]
        for tree in canonical:
            np.testing.assert_array_equal(tree.parent, canonical[0].parent)
            np.testing.assert_array_equal(tree.taxon, canonical[0].taxon)
            assert tree.topology_key() == sampled.arrays.tree(rows[0]).topology_key()
