"""Simulated data for tests and benchmarks of the engine: random trees and alignments under a model.

:func:`random_join_tree` joins clades two at a time in random order (the coalescent's topology
distribution) with uniform branch lengths; :func:`simulate_patterns` draws sequences down a tree
under any :class:`~phylo_vi.likelihood.models.SubstitutionModel` (+G categories and +I drawn per
site, exact transition probabilities from :func:`~phylo_vi.likelihood.models.exact_transition_matrices`). Both take a
``random_state`` and use no global state. Work and memory are linear in the number of nodes.
"""
from __future__ import annotations

import numpy as np

from phylo_vi.alignment import SitePatterns
from phylo_vi.io.newick import format_newick, parse_newick
from phylo_vi.likelihood.models import SubstitutionModel, exact_transition_matrices
from phylo_vi.trees.random_trees import random_joining_parent
from phylo_vi.trees.taxa import TaxonNamespace
from phylo_vi.trees.tree import Tree


def random_join_tree(n_taxa: int, random_state: int | np.random.Generator | None = None, *,
                     min_length: float = 0.001, max_length: float = 0.05) -> Tree:
    """An unrooted tree (trifurcating root) on taxa ``t0 .. t{n-1}``: two clades drawn uniformly are
    joined until three are left; branch lengths ~ U(min_length, max_length). The nodes come in the
    depth-first post-order of a tree read from a Newick file."""
    rng = np.random.default_rng(random_state)
    parent = random_joining_parent(n_taxa, rng)
    n_nodes = len(parent)
    taxon = np.full(n_nodes, -1, dtype=np.int32)
    taxon[:n_taxa] = np.arange(n_taxa)
    lengths = rng.uniform(min_length, max_length, n_nodes)
    joined = Tree(parent, lengths, taxon, TaxonNamespace(f"t{i}" for i in range(n_taxa)))
    return parse_newick(format_newick(joined), TaxonNamespace())


def simulate_patterns(tree: Tree, model: SubstitutionModel, n_sites: int,
                      random_state: int | np.random.Generator | None = None) -> SitePatterns:
    """Site patterns of ``n_sites`` columns drawn down ``tree`` (its branch lengths) under ``model``
    (resolved frequencies): root states from the frequencies, a +I / +G class per site, then each
    node's state from the row of its parent's state in ``P(r t)``."""
    rng = np.random.default_rng(random_state)
    eig = model.eigen()
    rates = np.append(model.category_rates(), 0.0)
    probabilities = np.append(model.category_weights(), model.invariant_proportion)
    category = rng.choice(len(rates), size=n_sites, p=probabilities / probabilities.sum())
    states = np.empty((tree.n_nodes, n_sites), dtype=np.uint8)
    states[tree.root] = rng.choice(4, size=n_sites, p=model.frequencies)
    for node in range(tree.n_nodes - 2, -1, -1):
        pmats = exact_transition_matrices(tree.branch_length[node] * rates, eig.values, eig.vectors, eig.inverse)
        cumulative = np.cumsum(pmats, axis=-1)                                          # (K + 1, 4, 4)
        rows = cumulative[category, states[tree.parent[node]]]
        states[node] = np.minimum((rng.random(n_sites)[:, None] > rows).sum(axis=1), 3)
    leaves = np.flatnonzero(tree.taxon >= 0)
    codes = np.zeros((tree.n_taxa, n_sites), dtype=np.uint8)
    codes[tree.taxon[leaves]] = np.left_shift(1, states[leaves]).astype(np.uint8)
    columns, weights = np.unique(codes, axis=1, return_counts=True)
    return SitePatterns(tree.taxa, columns, weights.astype(np.float64))
