"""The two-pass kernel, SA and EM against explicit rootings (tests/sbn/reference.py).

Reference: every rooting of every tree built with the foundation's ``Tree.reroot`` and scored
with frozenset dictionaries (no bitset indexing, no message passing); bito's test that every
rooting of an unrooted tree gives the same subsplit set (phylovi/bito, `unrooted_sbn_instance`).
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from phylo_vi.sbn import SubsplitBayesianNetwork
from phylo_vi.sbn.edges import unrooted_edge_tables
from phylo_vi.sbn.support import build_support

from . import reference
from .enumeration import all_unrooted_trees


@pytest.fixture(scope="module")
def sample():
    taxa, trees = all_unrooted_trees(7)
    rng = np.random.default_rng(11)
    picks = rng.choice(len(trees), size=25, replace=False)
    return [trees[i] for i in picks], rng.dirichlet(np.ones(25)), trees


def _support_sets(tree):
    support, _ = build_support(unrooted_edge_tables([tree]))
    return set(support.root_splits.tolist()), set(support.pcsp_keys.tolist()), support.clades.tobytes()


def test_every_drawing_of_an_unrooted_tree_gives_the_same_subsplit_support(sample):
    trees, _, _ = sample
    tree = trees[0]
    reference_sets = _support_sets(tree)
    internal = [v for v in range(tree.n_nodes) if tree.taxon[v] < 0]
    for node in internal:
        assert _support_sets(tree.reroot_at_node(node)) == reference_sets
    # and every rooting's PCSPs (explicit reroot) are PCSPs of the support of the unrooted tree
    model = SubsplitBayesianNetwork(method="sa").fit([tree])
    _, cpd = reference.model_tables(model)
    for rooted in reference.rootings(tree):
        _, factors = reference.rooted_factors(rooted)
        assert all(factor in cpd for factor in factors)


def test_sa_equals_counting_over_all_rootings(sample):
    trees, weights, _ = sample
    model = SubsplitBayesianNetwork(method="sa").fit(trees, weights)
    root, cpd = reference.model_tables(model)
    expected_root, expected_cpd = reference.normalise(*reference.expected_counts(trees, weights))
    assert root.keys() == expected_root.keys() and cpd.keys() == expected_cpd.keys()
    for key, value in expected_root.items():
        assert root[key] == pytest.approx(value, abs=1e-12)
    for key, value in expected_cpd.items():
        assert cpd[key] == pytest.approx(value, abs=1e-12)


def test_rooting_probabilities_match_explicit_rootings(sample):
    trees, weights, space = sample
    model = SubsplitBayesianNetwork(method="em", max_iter=5).fit(trees, weights)
    root, cpd = reference.model_tables(model)
    queries = space[::37]
    kernel = model.rooting_log_probs(queries)
    for tree, row in zip(queries, kernel):
        expected = [reference.rooted_log_prob(r, root, cpd) for r in reference.rootings(tree)]
        finite = np.isfinite(expected)
        assert np.array_equal(np.isfinite(row), finite)
        assert np.allclose(row[finite], np.array(expected)[finite], atol=1e-12)
        total = math.log(sum(math.exp(v) for v in expected)) if finite.any() else -math.inf
        assert model.log_prob([tree])[0] == pytest.approx(total, abs=1e-12)


def test_one_em_step_equals_explicit_expectation_maximisation(sample):
    trees, weights, _ = sample
    start = SubsplitBayesianNetwork(method="sa").fit(trees, weights)
    one_step = SubsplitBayesianNetwork(method="em", max_iter=1, min_iter=0).fit(trees, weights)
    expected_root, expected_cpd = reference.normalise(*reference.expected_counts(trees, weights,
                                                                                 *reference.model_tables(start)))
    root, cpd = reference.model_tables(one_step)
    for key, value in expected_root.items():
        assert root[key] == pytest.approx(value, abs=1e-12)
    for key, value in expected_cpd.items():
        assert cpd[key] == pytest.approx(value, abs=1e-12)
    assert one_step.n_iter_ == 1


def _random_nested(n_taxa: int, rng) -> tuple:
    """Random unrooted binary topology: random cherry joins down to three subtrees."""
    pool: list = list(range(n_taxa))
    while len(pool) > 3:
        i, j = sorted(rng.choice(len(pool), size=2, replace=False))
        pool.append((pool.pop(j), pool.pop(i)))
    return tuple(pool)


def test_more_than_64_taxa_use_multiword_bitsets():
    from phylo_vi.trees.taxa import TaxonNamespace

    from .enumeration import tree_from_nested

    rng = np.random.default_rng(70)
    taxa = TaxonNamespace(f"t{i}" for i in range(70))
    base = _random_nested(70, rng)
    trees = [tree_from_nested(base, taxa, rooted=False)]
    trees += [tree_from_nested(_random_nested(70, rng), taxa, rooted=False) for _ in range(3)]
    model = SubsplitBayesianNetwork(method="em", max_iter=5).fit(trees, [4, 1, 1, 1])
    assert model.support_.n_words == 2
    root, cpd = reference.model_tables(model)
    expected = [reference.rooted_log_prob(r, root, cpd) for r in reference.rootings(trees[0])]
    assert np.allclose(model.rooting_log_probs(trees[:1])[0], expected, atol=1e-12)
    draws = model.sample(20, random_state=0)
    assert np.all(np.isfinite(model.log_prob(draws)))
