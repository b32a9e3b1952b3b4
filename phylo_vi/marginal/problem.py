"""The inference problem: one alignment, one fixed unrooted topology, branch lengths integrated out.

    Z(τ) = p(D | τ) = ∫ p(D | τ, b) p(b) db,   p(b) = Π_i λ e^{−λ b_i}  (i.i.d. Exponential(λ)),

over the B = 2n − 3 branch lengths of the unrooted tree (Fourment et al. 2020, spec section 1:
JC69 by default, λ = 10). Branch ``i`` is the branch above post-order node ``i`` of the tree
(the likelihood engine's convention). The topology prior is uniform, so it cancels between
topologies and is left out of log Z.

Every likelihood evaluation goes through this object (Python methods here, or the Numba
kernels of the samplers through :attr:`FixedTopologyProblem.kernel_plan`) and is counted in
:attr:`FixedTopologyProblem.n_likelihood_evaluations`: a gradient or diagonal-Hessian evaluation
counts as one evaluation, a batch of S branch-length vectors as S.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

from phylo_vi.errors import PhyloVIError
from phylo_vi.likelihood.kernels import plan_pattern_log_likelihoods
from phylo_vi.likelihood.tree_likelihood import TreeLikelihood
from phylo_vi.likelihood.models import JC69, SubstitutionModel
from phylo_vi.likelihood.plan import Plan
from phylo_vi.trees import Tree


class FixedTopologyProblem:
    """Alignment site patterns + unrooted topology + substitution model + Exponential(λ) prior.

    Parameters
    ----------
    patterns : :class:`phylo_vi.alignment.SitePatterns` (rows are matched to the tree's taxa).
    tree : the topology (branch lengths ignored); a rooted tree is unrooted first.
    model : a :class:`phylo_vi.likelihood.models.SubstitutionModel` or an IQ-TREE model string
        (any model of the likelihood engine), default JC69; empirical frequencies are resolved
        from the patterns.
    prior_rate : rate λ of the i.i.d. exponential branch-length prior (mean 1/λ).
    """

    def __init__(self, patterns, tree: Tree, model: SubstitutionModel | str | None = None, *,
                 prior_rate: float = 10.0):
        if not prior_rate > 0:
            raise PhyloVIError(f"the exponential prior needs a positive rate, got {prior_rate}")
        tree = tree.unroot() if tree.rooted else tree
        if tree.n_leaves < 3:
            raise PhyloVIError("an unrooted topology needs at least 3 taxa")
        self.likelihood = TreeLikelihood(patterns, tree, JC69() if model is None else model)
        self.tree = tree
        self.patterns = self.likelihood.patterns
        self.model = self.likelihood.model
        self.prior_rate = float(prior_rate)
        self.weights = np.ascontiguousarray(self.patterns.weights, dtype=np.float64)
        self.n_likelihood_evaluations = 0

    def replica(self) -> "FixedTopologyProblem":
        """The same problem with its own likelihood work buffers (for another thread); its
        evaluations are counted on the replica."""
        return FixedTopologyProblem(self.patterns, self.tree, self.model, prior_rate=self.prior_rate)

    @property
    def kernel_plan(self) -> Plan:
        """The engine's plan (a named tuple of arrays), for the samplers' Numba kernels (single-thread buffer 0)."""
        return self.likelihood.plan

    # ---------------------------------------------------------------------------- structure
    @property
    def n_branches(self) -> int:
        """B = number of branches (2n − 3 for a binary unrooted tree)."""
        return self.tree.n_nodes - 1

    def count_evaluations(self, n: int) -> None:
        """Record ``n`` likelihood evaluations made elsewhere (e.g. inside a Numba kernel)."""
        self.n_likelihood_evaluations += int(n)

    def initial_branch_lengths(self) -> np.ndarray:
        """Prior mean 1/λ on every branch."""
        return np.full(self.n_branches, 1.0 / self.prior_rate)

    def _check(self, branch_lengths: np.ndarray) -> np.ndarray:
        branch_lengths = np.ascontiguousarray(branch_lengths, dtype=np.float64)
        if branch_lengths.shape[-1] != self.n_branches:
            raise PhyloVIError(f"expected {self.n_branches} branch lengths, got shape {branch_lengths.shape}")
        return branch_lengths

    # --------------------------------------------------------------------------- likelihood
    def log_likelihood(self, branch_lengths: np.ndarray) -> float:
        """ℓ(b) = log p(D | τ, b)."""
        return float(self.log_likelihood_batch(self._check(branch_lengths)[None, :])[0])

    def log_likelihood_batch(self, branch_lengths: np.ndarray) -> np.ndarray:
        """ℓ at every row of ``branch_lengths`` (S, B)."""
        branch_lengths = self._check(branch_lengths).reshape(-1, self.n_branches)
        out = self.likelihood.log_likelihood_batch(branch_lengths)
        self.count_evaluations(len(branch_lengths))
        return out

    def log_likelihood_gradient(self, branch_lengths: np.ndarray) -> tuple[float, np.ndarray]:
        """ℓ(b) and ∂ℓ/∂b (analytic, Ji et al. 2020)."""
        value, gradient = self.likelihood.gradient(self._check(branch_lengths))
        self.count_evaluations(1)
        return value, gradient

    def hessian_diagonal(self, branch_lengths: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        """ℓ(b), ∂ℓ/∂b and the diagonal ∂²ℓ/∂b_i² (analytic)."""
        value, gradient, hessian = self.likelihood.derivatives(self._check(branch_lengths))
        self.count_evaluations(1)
        return value, gradient, hessian

    def pattern_log_likelihoods(self, branch_lengths: np.ndarray) -> np.ndarray:
        """log p(y_s | b) for every row of ``branch_lengths`` (S, B) and pattern s: (S, P)."""
        branch_lengths = self._check(branch_lengths).reshape(-1, self.n_branches)
        out = np.empty((len(branch_lengths), len(self.weights)))
        _pattern_log_likelihoods(self.likelihood.plan, branch_lengths, out)
        self.count_evaluations(len(branch_lengths))
        return out

    # -------------------------------------------------------------------------------- prior
    def log_prior(self, branch_lengths: np.ndarray) -> np.ndarray | float:
        """log p(b) = B log λ − λ Σ b_i (over the last axis)."""
        branch_lengths = np.asarray(branch_lengths, dtype=np.float64)
        value = self.n_branches * math.log(self.prior_rate) - self.prior_rate * branch_lengths.sum(axis=-1)
        return float(value) if np.ndim(value) == 0 else value

    def sample_prior(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` draws (n, B) from the i.i.d. Exponential(λ) prior."""
        return rng.exponential(1.0 / self.prior_rate, size=(n, self.n_branches))

    def __repr__(self) -> str:
        return (f"FixedTopologyProblem({self.tree.n_leaves} taxa, {self.n_branches} branches, "
                f"{len(self.weights)} patterns, {self.model.name}, Exponential({self.prior_rate}))")


@njit(cache=True, nogil=True)
def _pattern_log_likelihoods(plan, branch_lengths, out):
    """``out[s, p]`` = log p(y_p | branch_lengths[s]) for every sample s, through the engine's kernel."""
    for s in range(branch_lengths.shape[0]):
        plan_pattern_log_likelihoods(plan, branch_lengths[s], out[s])
