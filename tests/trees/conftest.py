"""Fixtures of the tree tests: random trees and DendroPy split sets (the independent oracle)."""
from __future__ import annotations

import numpy as np
import pytest

from phylo_vi.io.newick import parse_newick
from phylo_vi.trees import TaxonNamespace


def random_newick(n_taxa: int, rng: np.random.Generator, *, prefix: str = "t", max_children: int = 2,
                  root_children: int = 3) -> str:
    """Random tree by random joining (children 2..max_children), lengths uniform(0.01, 1)."""
    nodes = [f"{prefix}{i}:{rng.uniform(0.01, 1.0)!r}" for i in rng.permutation(n_taxa)]
    while len(nodes) > root_children:
        k = int(rng.integers(2, min(max_children, len(nodes) - root_children + 1) + 1))
        picked = [nodes.pop(int(rng.integers(len(nodes)))) for _ in range(k)]
        nodes.append("(" + ",".join(picked) + f"):{rng.uniform(0.01, 1.0)!r}")
    return "(" + ",".join(nodes) + ");"


@pytest.fixture
def make_tree():
    def make(n_taxa: int, seed: int, taxa: TaxonNamespace | None = None, **options):
        rng = np.random.default_rng(seed)
        return parse_newick(random_newick(n_taxa, rng, **options), TaxonNamespace() if taxa is None else taxa)
    return make


@pytest.fixture(scope="session")
def dendropy_split_sets():
    """Per tree of a file, DendroPy's set of nontrivial splits as frozensets of taxon labels."""
    def read(path, schema: str = "nexus"):
        import dendropy

        trees = dendropy.TreeList.get(path=str(path), schema=schema, preserve_underscores=True,
                                      rooting="force-unrooted")
        result = []
        for tree in trees:
            everything = frozenset(leaf.taxon.label for leaf in tree.leaf_node_iter())
            splits = set()
            for node in tree.postorder_node_iter():
                clade = frozenset(leaf.taxon.label for leaf in node.leaf_iter())
                if 2 <= len(clade) <= len(everything) - 2:
                    splits.add(frozenset([clade, everything - clade]))
            result.append(frozenset(splits))
        return result
    return read
