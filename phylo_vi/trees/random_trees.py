"""Random unrooted topologies by random joining, for simulations, tests and benchmarks."""
from __future__ import annotations

import numpy as np

from phylo_vi.errors import PhyloVIError


def random_joining_parent(n_taxa: int, rng: np.random.Generator) -> np.ndarray:
    """Parent array of a random unrooted binary tree on leaves ``0 .. n_taxa - 1``.

    Two clades drawn uniformly are joined until three are left, which the last node joins (the
    coalescent's topology distribution, Kingman 1982). Internal nodes are numbered in order of
    creation, so every node comes after its children (a post-order); shape ``(2 n_taxa - 2,)``.
    """
    if n_taxa < 3:
        raise PhyloVIError(f"an unrooted tree needs at least 3 taxa, got {n_taxa}")
    n_nodes = 2 * n_taxa - 2
    parent = np.full(n_nodes, -1, dtype=np.int32)
    pool = np.arange(n_taxa)
    for size, node in zip(range(n_taxa, 3, -1), range(n_taxa, n_nodes - 1)):
        i, j = sorted(rng.choice(size, 2, replace=False))
        parent[pool[[i, j]]] = node
        pool[j] = pool[size - 1]
        pool[i] = node
    parent[pool[:3]] = n_nodes - 1
    return parent
