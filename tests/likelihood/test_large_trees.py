"""One tree of 10,000 taxa: log L with memory linear in the number of nodes, no recursion.

Reference: the independent NumPy pruning of ``likelihood_reference.py`` (scaled partials; it shares
no code with ``phylo_vi.likelihood``) on a JC69 alignment of 200 sites simulated with a fixed seed
down a random tree (``likelihood.simulate``: random joins of clades, nodes in the depth-first
post-order of a tree read from a file).
"""
from __future__ import annotations

import numpy as np
import pytest

from phylo_vi.likelihood import JC69, TreeLikelihood
from phylo_vi.likelihood.simulate import random_join_tree, simulate_patterns

N_TAXA, N_SITES, SEED = 10_000, 200, 7


def test_log_likelihood_of_ten_thousand_taxa(numpy_reference):
    rng = np.random.default_rng(SEED)
    tree = random_join_tree(N_TAXA, rng)
    patterns = simulate_patterns(tree, JC69(), N_SITES, rng)
    lik = TreeLikelihood(patterns, tree, "JC")
    expected = numpy_reference.log_likelihood(patterns.codes, patterns.weights, tree,
                                              numpy_reference.rate_matrix(np.ones(6), np.full(4, 0.25)),
                                              np.full(4, 0.25))
    assert lik.log_likelihood() == pytest.approx(expected, rel=1e-11, abs=0)
    # memory linear in the nodes: post-order partials live in slots that are reused once a parent is
    # done (about the tree's depth of them, not its size), and every other array holds at most one
    # block of patterns per node (two 4-state float64 vectors of <= 256 patterns: <= 16 KB a node)
    plan = lik.plan
    assert plan.post.shape[1] < 100
    assert sum(array.nbytes for array in plan) <= 20_000 * tree.n_nodes
