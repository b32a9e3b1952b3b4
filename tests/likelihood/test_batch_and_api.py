"""Batched evaluation, the Numba-callable plan API, validation errors and threads."""
from __future__ import annotations

import numpy as np
import pytest
from numba import njit

from phylo_vi.errors import InvalidParameterError, PhyloVIError, TaxonMismatchError
from phylo_vi.io.newick import read_newick
from phylo_vi.likelihood import TreeLikelihood, parse_model, with_model
from phylo_vi.likelihood.kernels import plan_log_likelihood

GTR_G4 = "GTR{0.7322,1.113,0.6498,1.878,3.333}+F{0.2340,0.2568,0.2799,0.2293}+G4{0.1124}"


@pytest.fixture(scope="module")
def engine(reference_dir, ds1_patterns):
    return TreeLikelihood(ds1_patterns, next(read_newick(reference_dir / "DS1_treeA_mapJC.nwk")), GTR_G4)


def test_batch_equals_single_evaluations(engine):
    # reference: one call per vector (the batch kernel must be the same computation)
    samples = np.random.default_rng(5).uniform(0.0, 0.5, (7, engine.n_branches))
    expected = [engine.log_likelihood(row) for row in samples]
    np.testing.assert_allclose(engine.log_likelihood_batch(samples), expected, rtol=1e-14)


@njit(cache=True)
def _random_walk(plan, start, steps):
    """A toy Numba loop that never returns to Python (as an MCMC sampler would)."""
    t = start.copy()
    total = 0.0
    value = 0.0
    for s in range(steps.shape[0]):
        t = np.abs(t + steps[s])
        value = plan_log_likelihood(plan, t)
        total += value
    return total, t, value


def test_plan_kernels_callable_from_numba(engine):
    # reference: the TreeLikelihood method at every point of the same walk (plan_gradient is
    # called from Numba by kernels.evaluate, which every gradient test goes through)
    steps = np.random.default_rng(9).normal(0.0, 0.01, (5, engine.n_branches))
    total, final, value = _random_walk(engine.plan, engine.tree.branch_length[:-1].copy(), steps)
    points = [engine.tree.branch_length[:-1]]
    for step in steps:
        points.append(np.abs(points[-1] + step))
    points = np.array(points[1:])
    assert total == pytest.approx(engine.log_likelihood_batch(points).sum(), rel=1e-14)
    assert value == pytest.approx(engine.log_likelihood(final), rel=1e-15)


def test_with_model_swaps_parameters(engine, reference_dir, ds1_patterns):
    # reference: IQ-TREE 2.0.7 value of case A-GTR+G4a0.5 (reference_loglik.tsv)
    model = parse_model("GTR{0.7322,1.113,0.6498,1.878,3.333}+F{0.2340,0.2568,0.2799,0.2293}+G4{0.5}")
    plan = with_model(engine.plan, model)
    no_steps = np.zeros((1, engine.n_branches))
    value = _random_walk(plan, engine.tree.branch_length[:-1].copy(), no_steps)[2]
    assert value == pytest.approx(-6557.09302577, rel=1e-10)
    with pytest.raises(PhyloVIError):
        with_model(engine.plan, parse_model("JC"))


def test_invalid_inputs_raise(engine, ds1_patterns, reference_dir):
    with pytest.raises(PhyloVIError):
        engine.log_likelihood(np.ones(3))
    with pytest.raises(PhyloVIError):
        engine.log_likelihood(-np.ones(engine.n_branches))
    with pytest.raises(PhyloVIError):
        engine.log_likelihood_batch(np.ones(engine.n_branches))
    # the first bad branch named by the taxa below it (branch 0 is above a leaf)
    lengths = engine.tree.branch_length[:-1].copy()
    lengths[0] = -0.5
    leaf = engine.tree.taxa[engine.tree.taxon[0]]
    with pytest.raises(InvalidParameterError, match=rf"branch above {leaf} is negative \(-0.5\)"):
        engine.log_likelihood(lengths)
    with pytest.raises(InvalidParameterError, match=rf"branch above {leaf} is negative"):
        engine.log_likelihood_batch(np.stack([engine.tree.branch_length[:-1], lengths]))
    with pytest.raises(PhyloVIError):
        TreeLikelihood(ds1_patterns, engine.tree, "JC").gamma_shape_derivative()
    tree = next(read_newick(reference_dir / "sim100x10000.true.nwk"))
    with pytest.raises(TaxonMismatchError):
        TreeLikelihood(ds1_patterns, tree, "JC")


@pytest.mark.slow
def test_threads_give_the_same_values(engine, ds1_patterns):
    # reference: the single-thread kernels (threads only split pattern blocks / samples)
    threaded = TreeLikelihood(ds1_patterns, engine.tree, GTR_G4, n_threads=2, block=64)
    samples = np.random.default_rng(1).uniform(0.0, 0.3, (5, engine.n_branches))
    assert threaded.log_likelihood() == pytest.approx(engine.log_likelihood(), rel=1e-13)
    np.testing.assert_allclose(threaded.gradient()[1], engine.gradient()[1], rtol=1e-11, atol=1e-9)
    np.testing.assert_allclose(threaded.log_likelihood_batch(samples), engine.log_likelihood_batch(samples),
                               rtol=1e-13)


def test_pattern_log_likelihoods_match_numpy_reference(engine, numpy_reference):
    # reference: per-pattern values of the independent NumPy pruning (likelihood_reference.py)
    from phylo_vi.likelihood import gamma_category_rates

    model = engine.model
    expected = numpy_reference.log_likelihood(
        engine.patterns.codes, engine.patterns.weights, engine.tree,
        numpy_reference.rate_matrix(model.exchangeabilities, model.frequencies), model.frequencies,
        rates=gamma_category_rates(model.gamma_shape, 4), per_pattern=True)
    values = engine.pattern_log_likelihoods()
    np.testing.assert_allclose(values, expected, rtol=1e-11, atol=1e-12)  # all-gap columns: log 1 = 0
    assert engine.patterns.weights @ values == pytest.approx(engine.log_likelihood(), rel=1e-13)
