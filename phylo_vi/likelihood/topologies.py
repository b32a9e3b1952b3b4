"""Many topologies, one alignment: log-likelihoods of a tree sample in one kernel call per tree size."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from phylo_vi.alignment import SitePatterns
from phylo_vi.errors import EmptyInputError, PhyloVIError
from phylo_vi.likelihood import kernels
from phylo_vi.likelihood.models import SubstitutionModel
from phylo_vi.likelihood.plan import DEFAULT_BLOCK, build_plan, partial_slots
from phylo_vi.likelihood.tree_likelihood import resolve_model
from phylo_vi.trees.taxa import common_namespace
from phylo_vi.trees.tree import Tree


def log_likelihood_trees(patterns: SitePatterns, trees: Sequence[Tree], model: SubstitutionModel | str, *,
                         block: int = DEFAULT_BLOCK) -> np.ndarray:
    """log L of every tree (its own topology and branch lengths), shape (n_trees,).

    The trees must share one taxon namespace (as trees read from one file do). Trees with the
    same number of nodes go through one :func:`kernels.evaluate` call (mode ``TOPOLOGIES``),
    with no Python work per tree beyond stacking its arrays.
    """
    trees = list(trees)
    if not trees:
        raise EmptyInputError("no trees to evaluate")
    taxa = common_namespace(trees)
    patterns = patterns.match_taxa(taxa)
    model = resolve_model(model, patterns)
    out = np.empty(len(trees))
    sizes = np.array([tree.n_nodes for tree in trees])
    for n_nodes in np.unique(sizes).tolist():
        members = np.flatnonzero(sizes == n_nodes)
        group = [trees[i] for i in members]
        lengths = np.ascontiguousarray(np.stack([tree.branch_length[:-1] for tree in group]))
        plan = build_plan(group[0], patterns.codes, patterns.weights, model, block=block)
        slots = np.stack([partial_slots(tree) for tree in group])
        plan = plan._replace(post=np.zeros((1, int(slots.max()) + 1) + plan.post.shape[2:]))
        values = np.empty(len(group))
        topologies = np.zeros((3, len(group), n_nodes + 1), dtype=np.int32)
        for row, tree in enumerate(group):
            topologies[0, row] = tree.child_offsets
            topologies[1, row, :n_nodes - 1] = tree.child_nodes
            topologies[2, row, :n_nodes] = tree.taxon
        unused = np.empty((1, n_nodes - 1))
        if not kernels.evaluate(kernels.TOPOLOGIES, lengths, values, unused, unused[0],
                                np.empty((n_nodes - 1, model.n_categories)), False, topologies, slots, *plan):
            raise PhyloVIError("every tree needs finite, non-negative branch lengths")
        out[members] = values
    return out
