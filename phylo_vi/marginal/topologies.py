"""Reading the topologies whose marginal likelihoods are wanted.

Any tree file :func:`phylo_vi.io.read_trees` reads, every tree kept (no burn-in), the format
told from the content (:mod:`phylo_vi.io.detect`): the credible-set files of Fourment et al.
2020 (``JC_no_gamma_credible_set_dsX``: ``<SRF><TAB><newick;>`` rows, the SRF becoming the
tree's ``weight``), MrBayes ``.t`` and ``.trprobs`` (``[&W]`` weights), ``.trprobs.tsv`` tables,
NEXUS and Newick files.
"""
from __future__ import annotations

from pathlib import Path

from phylo_vi.errors import TreeFormatError
from phylo_vi.io.tree_tables import read_credible_set
from phylo_vi.io.trees import read_trees
from phylo_vi.trees import TaxonNamespace, Tree

__all__ = ["read_credible_set", "read_topologies", "reference_posterior", "top_topologies"]


def read_topologies(path: str | Path, taxa: TaxonNamespace | None = None) -> list[Tree]:
    """All trees of a tree file (format from the content, no burn-in), unrooted, named ``tree<i>`` when unnamed."""
    trees = list(read_trees(path, taxa=taxa, burnin=0.0))
    for index, tree in enumerate(trees):
        if tree.name is None:
            tree.name = f"tree{index}"
    return [tree if not tree.rooted else tree.unroot() for tree in trees]


def top_topologies(trees: list[Tree], k: int | None) -> list[Tree]:
    """The ``k`` trees of highest ``weight`` (file order among equal weights); all when k is None."""
    if k is None or k >= len(trees):
        return list(trees)
    order = sorted(range(len(trees)), key=lambda i: -trees[i].weight)
    return [trees[i] for i in sorted(order[:k])]


def reference_posterior(trees: list[Tree], reference_trees: list[Tree]) -> "np.ndarray":
    """Weight (SRF / posterior probability) of each of ``trees`` in ``reference_trees``, matched by
    unrooted topology; 0 for a topology the reference does not list."""
    import numpy as np

    weights: dict[bytes, float] = {}
    for tree in reference_trees:
        key = tree.unroot().topology_key() if tree.rooted else tree.topology_key()
        weights[key] = weights.get(key, 0.0) + float(tree.weight)
    values = np.array([weights.get(tree.topology_key(), 0.0) for tree in trees])
    if not values.sum() > 0:
        raise TreeFormatError("none of the evaluated topologies appears in the reference file")
    return values
