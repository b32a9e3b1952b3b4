"""The packed path of the unrooted SBN fit (chunked grouping, chunked support, packed kernels) against the
explicit rootings of tests/sbn/reference.py, the edge tables of ``unrooted_edge_tables`` and ``build_support``."""
from __future__ import annotations

import math

import numpy as np
import pytest

from phylo_vi.sbn import SubsplitBayesianNetwork, edges
from phylo_vi.sbn.edges import distinct_topologies, unrooted_edge_tables
from phylo_vi.sbn.kernels import pack_factors_kernel
from phylo_vi.sbn.support import build_support, pack_support
from phylo_vi.trees.arrays import TreeArrays
from phylo_vi.trees.random_trees import random_joining_parent
from phylo_vi.trees.taxa import TaxonNamespace

from . import reference
from .enumeration import all_unrooted_trees


@pytest.fixture(scope="module")
def repeated_sample():
    """600 draws (with repeats) of 120 random 9-taxon topologies, leaves numbered first (not DFS post-order), so
    that the chunked passes (256 trees) see several chunks and repeats in other chunks."""
    rng = np.random.default_rng(5)
    n_taxa = 9
    parent = np.stack([random_joining_parent(n_taxa, rng) for _ in range(120)])
    picks = rng.integers(0, 120, size=600)
    taxon = np.full((600, parent.shape[1]), -1, dtype=np.int32)
    taxon[:, :n_taxa] = np.arange(n_taxa)
    return TreeArrays(parent[picks], taxon, rng.uniform(0.5, 2.0, size=600),
                      TaxonNamespace([f"t{i}" for i in range(n_taxa)]))


def _assert_grouping_of_edge_tables(arrays, distinct, inverse):
    tables = unrooted_edge_tables(arrays)
    assert np.array_equal(inverse, tables.inverse)
    assert np.array_equal(distinct.parent, tables.arrays.parent) and np.array_equal(distinct.taxon, tables.arrays.taxon)
    assert np.array_equal(distinct.weights, tables.weights)


def test_distinct_topologies_group_as_the_edge_tables(repeated_sample):
    distinct, inverse = distinct_topologies(repeated_sample)
    assert len(distinct) < len(repeated_sample)
    _assert_grouping_of_edge_tables(repeated_sample, distinct, inverse)


def test_a_hash_collision_falls_back_to_the_exact_grouping(repeated_sample, monkeypatch):
    monkeypatch.setattr(edges, "_split_hashes", lambda keys: np.zeros(len(keys), dtype=np.uint64))
    distinct, inverse = distinct_topologies(repeated_sample)
    _assert_grouping_of_edge_tables(repeated_sample, distinct, inverse)


def test_pack_support_equals_build_support_packed(repeated_sample):
    distinct, _ = distinct_topologies(repeated_sample)
    support, packed = pack_support(distinct)
    expected, indexed = build_support(unrooted_edge_tables(distinct))
    for name in ("clade_keys", "root_splits", "parent_keys", "pcsp_keys"):
        assert np.array_equal(getattr(support, name), getattr(expected, name))
    factors = pack_factors_kernel(indexed.root_split, indexed.pcsp_root, indexed.pcsp_sib, indexed.children,
                                  len(expected.root_splits), len(expected.pcsp_keys))
    assert np.array_equal(packed.factors, factors) and packed.parent is distinct.parent
    n_taxa = len(distinct.taxa)
    assert packed.factors.shape[1] == 11 * n_taxa - 21


@pytest.mark.parametrize("method", ["sa", "em"])
def test_fit_log_prob_is_the_explicit_rooting_sum_and_log_prob_exactly(method):
    """log q of every training tree: the sum over explicit rootings (frozenset tables, to 1e-12) and, bit for
    bit, ``log_prob`` of the fitted model (which indexes the trees again)."""
    _, trees = all_unrooted_trees(7)
    rng = np.random.default_rng(2)
    picks = rng.choice(len(trees), size=40, replace=True)
    sample = [trees[i] for i in picks]
    weights = rng.dirichlet(np.ones(40))
    model = SubsplitBayesianNetwork(method=method, max_iter=7, min_iter=0)
    log_q = model.fit_log_prob(sample, weights)
    root, cpd = reference.model_tables(model)
    for tree, value in zip(sample, log_q):
        rooted = [reference.rooted_log_prob(r, root, cpd) for r in reference.rootings(tree)]
        assert value == pytest.approx(math.log(sum(math.exp(v) for v in rooted)), abs=1e-12)
    first = np.unique(picks, return_index=True)[1]
    assert np.array_equal(log_q[first], model.log_prob([sample[i] for i in first]))


def test_fit_log_prob_scores_trees_of_zero_weight_outside_the_fit(repeated_sample):
    weights = repeated_sample.weights.copy()
    distinct, inverse = distinct_topologies(repeated_sample)
    dropped = inverse == inverse[0]
    weights[dropped] = 0.0
    model = SubsplitBayesianNetwork(method="em", max_iter=3, min_iter=0)
    log_q = model.fit_log_prob(repeated_sample, weights)
    assert model.n_trees_ == len(distinct) - 1
    assert np.array_equal(log_q, model.log_prob(repeated_sample))


def test_trees_that_are_not_binary_on_all_taxa_are_named():
    from phylo_vi.errors import PhyloVIError, TaxonMismatchError

    taxa = TaxonNamespace(["a", "b", "c", "d"])
    binary = [4, 4, 5, 5, 5, -1]  # ((a,b),c,d)
    taxon = [0, 1, 2, 3, -1, -1]
    def arrays(parents, taxons):
        return TreeArrays(np.array(parents, dtype=np.int32), np.array(taxons, dtype=np.int32), np.ones(len(parents)),
                          taxa)
    assert len(distinct_topologies(arrays([binary], [taxon]))[0]) == 1
    with pytest.raises(TaxonMismatchError, match="tree 1 does not hold"):
        distinct_topologies(arrays([binary, binary], [taxon, [0, 1, 2, -1, -1, -1]]))
    with pytest.raises(PhyloVIError, match="tree 1 is not binary"):
        distinct_topologies(arrays([binary, [4, 4, 4, 5, 5, -1]], [taxon, taxon]))  # (a,b,c) below a bifurcation
