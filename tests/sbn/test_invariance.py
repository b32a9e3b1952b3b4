"""Invariances: integer weights = repeated trees; JSON round trip; tree order; taxon checks."""
from __future__ import annotations

import numpy as np
import pytest

from phylo_vi.errors import PhyloVIError, TaxonMismatchError
from phylo_vi.io.newick import format_newick, parse_newick
from phylo_vi.sbn import load_model, make_estimator
from phylo_vi.trees.taxa import TaxonNamespace

from .enumeration import all_rooted_trees, all_unrooted_trees

UNROOTED = ["srf", "ccd", "sa", "em", "em-alpha"]


@pytest.mark.parametrize("method", UNROOTED + ["rooted"])
def test_integer_weights_equal_repeated_trees(method):
    taxa, space = all_rooted_trees(6) if method == "rooted" else all_unrooted_trees(7)
    rng = np.random.default_rng(1)
    picks = rng.choice(len(space), size=30, replace=False)
    counts = rng.integers(1, 6, size=30)
    weighted = make_estimator(method, alpha=0.01).fit([space[i] for i in picks], counts)
    repeated_list = [space[i] for i, c in zip(picks, counts) for _ in range(c)]
    order = rng.permutation(len(repeated_list))
    repeated = make_estimator(method, alpha=0.01).fit([repeated_list[i] for i in order], np.ones(len(order)))
    assert np.allclose(weighted.log_prob(space), repeated.log_prob(space), atol=1e-12, rtol=0)
    if method in ("em", "em-alpha"):
        assert weighted.n_iter_ == repeated.n_iter_


@pytest.mark.parametrize("method", UNROOTED + ["rooted"])
def test_json_round_trip(tmp_path, method):
    taxa, space = all_rooted_trees(6) if method == "rooted" else all_unrooted_trees(7)
    model = make_estimator(method).fit(space[:40], np.arange(1, 41))
    path = tmp_path / "model.json"
    model.save(path)
    loaded = load_model(path, taxa)
    assert np.array_equal(loaded.log_prob(space), model.log_prob(space))
    a = [format_newick(t, lengths=False) for t in model.sample(20, random_state=4)]
    b = [format_newick(t, lengths=False) for t in loaded.sample(20, random_state=4)]
    assert a == b
    fresh = load_model(path)  # own namespace, names in the model's order
    other = [parse_newick(format_newick(t, lengths=False), fresh.taxa_, add_taxa=False, rooted=t.rooted) for t in space[:50]]
    assert np.array_equal(fresh.log_prob(other), model.log_prob(space[:50]))


def test_errors_are_phylo_vi_errors():
    taxa, space = all_unrooted_trees(5)
    with pytest.raises(PhyloVIError):
        make_estimator("nope")
    with pytest.raises(PhyloVIError):
        make_estimator("em").fit(space, -np.ones(len(space)))
    with pytest.raises(PhyloVIError, match="not fitted"):
        make_estimator("em").log_prob(space)
    model = make_estimator("sa").fit(space)
    other_taxa = TaxonNamespace(["a", "b", "c", "d", "e"])
    with pytest.raises(TaxonMismatchError):
        model.log_prob([parse_newick("((a,b),c,(d,e));", other_taxa)])
    polytomy = parse_newick("(t0,t1,t2,(t3,t4));", taxa)
    with pytest.raises(PhyloVIError, match="binary"):
        model.log_prob([polytomy])


def test_threads_give_the_same_fit():
    # the E-step summed over 3 chunks of trees instead of 1: equal up to rounding
    taxa, space = all_unrooted_trees(7)
    weights = np.random.default_rng(2).dirichlet(np.ones(60))
    one = make_estimator("em-alpha", alpha=0.01, n_threads=1).fit(space[:60], weights)
    three = make_estimator("em-alpha", alpha=0.01, n_threads=3).fit(space[:60], weights)
    assert one.n_iter_ == three.n_iter_
    assert np.allclose(one.log_prob(space), three.log_prob(space), atol=1e-10, rtol=0)
