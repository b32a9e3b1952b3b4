"""The test problems themselves: engine likelihood = brute force, and the quadrature error."""
from __future__ import annotations

import numpy as np
import pytest

import marginal_reference as reference


def _branch_order(problem) -> list[int]:
    """Engine branch index of A, B, C[, D] (terminal) and then the internal branch."""
    tree = problem.tree
    names = [tree.taxa[t] if t >= 0 else None for t in tree.taxon[:-1]]
    order = [names.index(name) for name in ("A", "B", "C", "D") if name in names]
    order += [i for i, name in enumerate(names) if name is None]
    return order


def test_engine_likelihood_equals_brute_force(exact_case):
    # reference: explicit JC69 sums over internal states (tests/marginal/reference.py)
    problem = exact_case.problem()
    order = _branch_order(problem)
    rng = np.random.default_rng(3)
    for _ in range(5):
        b = rng.uniform(0.01, 0.5, size=problem.n_branches)
        assert problem.log_likelihood(b) == pytest.approx(reference.log_likelihood(exact_case.patterns, b[order]),
                                                          abs=1e-9)


def test_pattern_log_likelihoods_sum_to_the_likelihood(exact_case):
    # reference: the brute-force likelihood of each single-pattern alignment
    problem = exact_case.problem()
    order = _branch_order(problem)
    b = np.linspace(0.05, 0.3, problem.n_branches)
    per_pattern = problem.pattern_log_likelihoods(b[None, :])[0]
    assert per_pattern @ problem.weights == pytest.approx(problem.log_likelihood(b), abs=1e-9)
    single = reference.make_patterns(np.log2(exact_case.patterns.codes[:, :1]).astype(int))
    assert per_pattern[0] == pytest.approx(reference.log_likelihood(single, b[order]), abs=1e-12)


def test_quadrature_error_is_small(exact_case):
    # two quadrature settings (conftest.QUADRATURE) agree to well below the Monte Carlo errors
    # tested elsewhere; measured: triplet 3.6e-12, quartet 2.8e-6 (log Z -135.9943, -167.8250)
    assert exact_case.quadrature_error < 1e-4
    assert exact_case.log_marginal == pytest.approx(
        {"triplet": -135.99431776441, "quartet": -167.82502741}[exact_case.name], abs=1e-4)
