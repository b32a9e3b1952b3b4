"""Independent, slow reference for SBN probabilities: Python sets over explicit rootings.

A rooted tree is decomposed into its root split and its PCSPs with Python frozensets (no bitset
indexing, no message passing); an unrooted tree is rooted on every edge with the foundation's
``Tree.reroot``. Used to check the Numba two-pass kernel, SA and one EM step.
"""
from __future__ import annotations

import math
from collections import defaultdict

import numpy as np

from phylo_vi.trees.bitset import bitset_indices
from phylo_vi.trees.tree import Tree


def _sets(tree: Tree) -> list[frozenset]:
    return [frozenset(bitset_indices(row)) for row in tree.clades]


def rooted_factors(tree: Tree):
    """(root split, [(parent (sister, focal), child subsplit)]) of a binary rooted tree."""
    clades = _sets(tree)
    left, right = tree.children(tree.root)
    root = frozenset({clades[left], clades[right]})
    factors = []
    for node in range(tree.n_nodes - 1):
        kids = tree.children(node)
        if len(kids) == 0:
            continue
        sister = [c for c in tree.children(int(tree.parent[node])) if c != node][0]
        factors.append(((clades[sister], clades[node]), frozenset({clades[kids[0]], clades[kids[1]]})))
    return root, factors


def rootings(tree: Tree) -> list[Tree]:
    """The rooted trees of every edge of an unrooted tree, edge ``v`` above stored node ``v``."""
    return [tree.reroot(node) for node in range(tree.n_nodes - 1)]


def model_tables(model):
    """The fitted SBN's parameters as dicts keyed by frozensets."""
    support = model.support_
    sets = [frozenset(bitset_indices(row)) for row in support.clades]
    everything = frozenset(range(len(model.taxa_)))
    root = {frozenset({sets[a], everything - sets[a]}): lp for a, lp in zip(support.root_splits, model.log_root_)}
    cpd = {}
    for i, lp in enumerate(model.log_cpd_):
        p = support.pcsp_parent[i]
        sister, focal, child = sets[support.parent_sister[p]], sets[support.parent_focal[p]], sets[support.pcsp_child[i]]
        cpd[((sister, focal), frozenset({child, focal - child}))] = lp
    return root, cpd


def rooted_log_prob(rooted: Tree, root_table, cpd_table) -> float:
    root, factors = rooted_factors(rooted)
    total = root_table.get(root, -math.inf)
    for factor in factors:
        total += cpd_table.get(factor, -math.inf)
    return total


def expected_counts(trees, weights, root_table=None, cpd_table=None):
    """Root-split and PCSP counts over all rootings: uniform 1/E (SA) or posterior (EM E-step)."""
    root_counts, cpd_counts = defaultdict(float), defaultdict(float)
    for tree, w in zip(trees, weights):
        rooted = rootings(tree)
        if root_table is None:
            posterior = np.full(len(rooted), 1.0 / len(rooted))
        else:
            lp = np.array([rooted_log_prob(r, root_table, cpd_table) for r in rooted])
            posterior = np.exp(lp - lp.max())
            posterior /= posterior.sum()
        for r, pi in zip(rooted, posterior):
            root, factors = rooted_factors(r)
            root_counts[root] += w * pi
            for factor in factors:
                cpd_counts[factor] += w * pi
    return root_counts, cpd_counts


def normalise(root_counts, cpd_counts):
    """Maximum-likelihood tables from counts: log P(root), log P(child | parent)."""
    total = sum(root_counts.values())
    root = {k: math.log(v / total) for k, v in root_counts.items()}
    parent_total = defaultdict(float)
    for (parent, _), v in cpd_counts.items():
        parent_total[parent] += v
    cpd = {(parent, child): math.log(v / parent_total[parent]) for (parent, child), v in cpd_counts.items()}
    return root, cpd
