"""Tree files → :class:`~phylo_vi.trees.TreeArrays`, through the project's fast batch reader.

Burn-in, thinning, format detection and the taxon checks are those of
:func:`phylo_vi.io.trees.read_trees`; the trees themselves are parsed by the Numba batch parser
(:meth:`phylo_vi.io.TreeRun.batches`) and never become Python objects, so a sample
of 10⁵ trees loads as two integer arrays. Rooted trees read for an unrooted model are unrooted.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from phylo_vi.errors import PhyloVIError
from phylo_vi.io.trees import read_trees
from phylo_vi.trees.arrays import TreeArrays
from phylo_vi.trees.taxa import TaxonNamespace
from phylo_vi.util.deprecation import renamed


def _batch_arrays(batch, n_nodes: int, unroot: bool):
    sizes = np.diff(batch.node_offsets)
    if np.all(sizes == n_nodes):
        return (np.array(batch.parent).reshape(-1, n_nodes), np.array(batch.taxon).reshape(-1, n_nodes),
                np.array(batch.weight, dtype=np.float64))
    if not unroot:
        raise PhyloVIError(f"{batch.path}: trees must be binary and rooted ({n_nodes} nodes) for a rooted model")
    trees = [batch.tree(i) for i in range(len(batch))]
    trees = [tree.unroot() if tree.n_nodes == n_nodes + 1 else tree for tree in trees]
    if any(tree.n_nodes != n_nodes for tree in trees):
        raise PhyloVIError(f"{batch.path}: SBNs need binary trees on all taxa")
    return (np.stack([tree.parent for tree in trees]), np.stack([tree.taxon for tree in trees]),
            np.array([tree.weight for tree in trees], dtype=np.float64))


def read_tree_arrays(paths: str | Path | Sequence[str | Path], *, rooted: bool = False, burnin: float = 0.25,
                     n_burnin: int | None = None, thin: int = 1, taxa: TaxonNamespace | None = None,
                     format: str = "auto", per_file: bool = False,
                     burnin_trees: int | None = None) -> TreeArrays | list[TreeArrays]:
    """Trees of one or more files as arrays (all files pooled, or one :class:`TreeArrays` per file).

    ``rooted`` selects binary rooted trees (2n − 1 nodes) instead of unrooted ones (2n − 2, a
    bifurcating root is removed). Weights are the trees' ``[&W]`` values (1 when absent).
    """
    n_burnin = renamed("read_tree_arrays", "burnin_trees", "n_burnin", burnin_trees, n_burnin)
    sample = read_trees(paths, format=format, burnin=burnin, n_burnin=n_burnin, thin=thin, taxa=taxa,
                        rooted=True if rooted else None)
    taxa = sample.taxa
    n_nodes = 2 * len(taxa) - (1 if rooted else 2)
    files = []
    for run in sample.runs:
        parts = [_batch_arrays(batch, n_nodes, not rooted) for batch in run.batches()]
        files.append(TreeArrays(np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]),
                                np.concatenate([p[2] for p in parts]), taxa, rooted=rooted))
    if per_file:
        return files
    return TreeArrays(np.concatenate([f.parent for f in files]), np.concatenate([f.taxon for f in files]),
                      np.concatenate([f.weights for f in files]), taxa, rooted=rooted)
