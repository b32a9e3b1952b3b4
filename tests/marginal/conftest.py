"""Fixtures of the marginal-likelihood tests: small simulated problems with exact log Z."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import marginal_reference as reference  # noqa: E402  (helper module beside the tests)

# Simulated JC69 data, 40 sites, fixed seed: 3 taxa on a star tree with branches (0.1, 0.2, 0.15),
# 4 taxa on ((A,B),(C,D)) with terminal branches (0.1, 0.15, 0.2, 0.12) and internal 0.08.
SETTINGS = {
    "triplet": (3, [0.1, 0.2, 0.15]),
    "quartet": (4, [0.1, 0.15, 0.2, 0.12, 0.08]),
}
# Quadrature settings (nodes per axis, width in curvature units) compared to bound the error.
QUADRATURE = {"triplet": ((24, 12.0), (48, 12.0)), "quartet": ((16, 10.0), (16, 12.0))}


class ExactCase:
    """A small problem, its exact log Z and the stated quadrature error."""

    def __init__(self, name: str):
        n_taxa, branch_lengths = SETTINGS[name]
        self.name = name
        self.patterns = reference.make_patterns(reference.simulate_states(n_taxa, 40, branch_lengths, seed=11))
        self.tree = reference.make_tree(self.patterns)
        coarse, fine = (reference.log_marginal_quadrature(self.patterns, *s) for s in QUADRATURE[name])
        self.log_marginal = fine
        self.quadrature_error = abs(fine - coarse)

    def problem(self):
        from phylo_vi.marginal import FixedTopologyProblem

        return FixedTopologyProblem(self.patterns, self.tree)


@pytest.fixture(scope="session")
def triplet() -> ExactCase:
    return ExactCase("triplet")


@pytest.fixture(scope="session")
def quartet() -> ExactCase:
    return ExactCase("quartet")


@pytest.fixture(scope="session", params=["triplet", "quartet"])
def exact_case(request) -> ExactCase:
    return request.getfixturevalue(request.param)
