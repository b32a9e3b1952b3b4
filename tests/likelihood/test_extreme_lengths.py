"""P(t), log L and d log L / dt at extreme branch lengths, against an independent 340-digit computation.

Reference: mpmath at 100 significant digits, sharing no code with ``phylo_vi.likelihood`` (which
supplies only the model parameters and the +G category rates; those are tested against scipy
quadrature in test_reference_values.py). The rate matrix is built from the exchangeabilities and
frequencies by the README conventions without normalising it, so that its rows sum to exactly zero
in 340-digit arithmetic, and the branch length is divided by the normalising constant instead;
``P(tau) = U diag(exp(lambda tau)) U^-1`` from mpmath's Jacobi eigensolver (``mpmath.eigsy``) of the
symmetrised matrix at 340 digits. Its stationary eigenvalue is then ~1e-340, so ``exp(lambda_0 tau)``
is 1 to 40 digits even at ``tau = 1e300``, and the off-diagonals of ``P(1e-300) ~ 1e-300`` keep 40
digits through the cancellation in the sum over eigenvectors: the reference is exact to far more
digits than float64 holds for every length tested. log L is plain pruning in 100-digit arithmetic; derivatives are
central differences of it with a step of 1e-60 (1e-60 times the length above 1), exact to ~1e-30.
"""
from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
import torch

from phylo_vi.alignment import SitePatterns
from phylo_vi.io.newick import parse_newick
from phylo_vi.likelihood import TreeLikelihood, parse_model
from phylo_vi.likelihood.kernels import transition_matrices
from phylo_vi.likelihood.torch_backend import TorchTreeLikelihood
from phylo_vi.trees import TaxonNamespace

EIGEN_DIGITS = 340
DIGITS = 100
LENGTHS = (0.0, 1e-300, 1e-8, 1.0, 10.0, 1e3, 1e15, 1e17, 1e100, 1e300)
FREQS = "+F{0.1,0.2,0.3,0.4}"
MODELS = ["JC", "K80{2.5}", "F81" + FREQS, "HKY{3.1}" + FREQS, "TN{2.5,4.1}" + FREQS,
          "GTR{0.7,1.9,0.4,1.1,3.3}" + FREQS, "GTR{0.7,1.9,0.4,1.1,3.3}" + FREQS + "+G4{0.2}",
          "HKY{3.1}" + FREQS + "+I{0.3}", "GTR{0.7,1.9,0.4,1.1,3.3}" + FREQS + "+I{0.2}+G4{0.5}"]
PAIRS = ((0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3))
# four taxa, nine site patterns: constant, variable, ambiguous (R = A|G, code 5) and missing (15) columns
TREE = "((a:0.1,b:0.2):0.05,c:0.3,d:0.15);"
CODES = np.array([[1, 1, 2, 4, 1, 5, 15, 8, 2],
                  [1, 4, 8, 4, 2, 1, 1, 8, 2],
                  [1, 1, 2, 8, 4, 4, 2, 8, 2],
                  [1, 4, 2, 8, 8, 1, 1, 8, 15]], dtype=np.uint8)
WEIGHTS = np.array([3.0, 1.0, 2.0, 1.0, 1.0, 1.0, 1.0, 2.0, 1.0])


class ExactModel:
    """A model's transition matrices in 340-digit arithmetic (see the module docstring)."""

    def __init__(self, model):
        with mpmath.workdps(EIGEN_DIGITS):
            pi = [mpmath.mpf(float(x)) for x in model.frequencies]
            q = mpmath.matrix(4, 4)
            for (i, j), r in zip(PAIRS, model.exchangeabilities):
                q[i, j] = mpmath.mpf(float(r)) * pi[j]
                q[j, i] = mpmath.mpf(float(r)) * pi[i]
            for i in range(4):
                q[i, i] = -sum(q[i, j] for j in range(4) if j != i)
            self.scale = -sum(pi[i] * q[i, i] for i in range(4))
            root = [mpmath.sqrt(x) for x in pi]
            symmetric = mpmath.matrix(4, 4)
            for i in range(4):
                for j in range(4):
                    symmetric[i, j] = (root[i] * q[i, j] / root[j] + root[j] * q[j, i] / root[i]) / 2
            self.values, v = mpmath.eigsy(symmetric)
            self.vectors = [[v[i, m] / root[i] for m in range(4)] for i in range(4)]
            self.inverse = [[v[j, m] * root[j] for j in range(4)] for m in range(4)]
        self.pi = pi
        self.rates = [mpmath.mpf(float(r)) for r in model.category_rates()]
        self.weights = [mpmath.mpf(float(w)) for w in model.category_weights()]
        self.p_inv = mpmath.mpf(float(model.invariant_proportion))

    def transition(self, tau) -> list[list]:
        """P(tau) for a normalised branch length tau (an mpf); P(0) = I by definition (the eigenvectors
        would leave off-diagonals of ~1e-340)."""
        if tau == 0:
            return [[mpmath.mpf(int(i == j)) for j in range(4)] for i in range(4)]
        with mpmath.workdps(EIGEN_DIGITS):
            decay = [mpmath.exp(self.values[m] * tau / self.scale) for m in range(4)]
            return [[sum(self.vectors[i][m] * decay[m] * self.inverse[m][j] for m in range(4)) for j in range(4)]
                    for i in range(4)]

    def log_likelihood(self, tree, lengths) -> mpmath.mpf:
        """log L of CODES/WEIGHTS on ``tree`` at ``lengths`` (mpf per branch) by plain pruning."""
        with mpmath.workdps(DIGITS):
            pmats = [[self.transition(rate * t) for rate in self.rates] for t in lengths]
            total = mpmath.mpf(0)
            for p in range(CODES.shape[1]):
                site = mpmath.mpf(0)
                for k, w in enumerate(self.weights):
                    partial = {}
                    for u in range(tree.n_nodes):
                        children = tree.children(u)
                        if len(children) == 0:
                            code = int(CODES[tree.taxon[u], p])
                            partial[u] = [mpmath.mpf((code >> i) & 1) for i in range(4)]
                            continue
                        value = [mpmath.mpf(1)] * 4
                        for c in children:
                            m = pmats[c][k]
                            value = [value[i] * sum(m[i][j] * partial[c][j] for j in range(4)) for i in range(4)]
                        partial[u] = value
                    site += w * sum(self.pi[i] * partial[tree.n_nodes - 1][i] for i in range(4))
                common = int(np.bitwise_and.reduce(CODES[:, p]))
                site += self.p_inv * sum(self.pi[i] for i in range(4) if (common >> i) & 1)
                total += mpmath.mpf(float(WEIGHTS[p])) * (mpmath.log(site) if site > 0 else mpmath.mpf("-inf"))
            return total


@pytest.fixture(scope="module")
def tree():
    return parse_newick(TREE, TaxonNamespace())


@pytest.fixture(scope="module")
def patterns(tree):
    return SitePatterns(tree.taxa, CODES, WEIGHTS)


def _exact_transitions(exact, t):
    return np.array([[[float(x) for x in row] for row in exact.transition(rate * mpmath.mpf(t))]
                     for rate in exact.rates])


def _assert_entries_close(actual, expected, rtol):
    """Every entry to ``rtol`` of its own size (the tiny off-diagonals of short branches included)."""
    assert np.all(np.abs(actual - expected) <= rtol * np.abs(expected)), np.max(np.abs(actual / expected - 1))


@pytest.mark.parametrize("model_string", MODELS)
def test_transition_matrices_are_exact_for_every_length(model_string, tree, patterns):
    model = parse_model(model_string)
    exact = ExactModel(model)
    eig = model.eigen()
    rates = model.category_rates()
    lengths = np.array(LENGTHS)
    expected = np.array([_exact_transitions(exact, t) for t in LENGTHS])            # (T, K, 4, 4)
    kernel = np.empty((len(LENGTHS), len(rates), 4, 4))
    transition_matrices(lengths, eig.values, eig.vectors, eig.inverse, rates, kernel)
    _assert_entries_close(kernel, expected, 1e-12)
    _assert_entries_close(model.transition_matrices(lengths), expected, 1e-12)
    twin = TorchTreeLikelihood(patterns, tree, model)
    t = torch.tensor(lengths[:, None], dtype=torch.float64)
    _assert_entries_close(twin.transition_matrices(t)[:, 0].numpy(), expected, 1e-12)
    rates_tensor = torch.tensor(model.exchangeabilities, dtype=torch.float64)
    _assert_entries_close(twin.transition_matrices(t, exchangeabilities=rates_tensor)[:, 0].numpy(), expected,
                          1e-11)


def _close(actual: float, expected: mpmath.mpf, rel: float) -> bool:
    if expected == mpmath.mpf("-inf"):
        return actual == -math.inf
    return abs(actual - float(expected)) <= rel * abs(float(expected))


@pytest.mark.parametrize("model_string", MODELS)
def test_log_likelihood_is_exact_for_every_length(model_string, tree, patterns):
    # one branch at t (a leaf's, then the internal one) with the others at the tree's lengths, and every
    # branch at t. With every branch at 1e-300 the column A, C, G, T has likelihood ~1e-900 and the
    # product of the three messages at the root is ~1e-600 relative to its largest entry, below the
    # range of a double unless the running product is rescaled before the third message.
    _check_log_likelihoods(model_string, tree, patterns)


def _check_log_likelihoods(model_string, tree, patterns):
    model = parse_model(model_string)
    exact = ExactModel(model)
    lik = TreeLikelihood(patterns, tree, model)
    twin = TorchTreeLikelihood(patterns, tree, model)
    base = tree.branch_length[:-1].copy()
    for t in LENGTHS:
        configurations = [np.concatenate([[t], base[1:]]), np.concatenate([base[:2], [t], base[3:]]),
                          np.full(lik.n_branches, t)]
        for lengths in configurations:
            expected = exact.log_likelihood(tree, [mpmath.mpf(x) for x in lengths])
            assert _close(lik.log_likelihood(lengths), expected, 1e-12), (t, lengths)
            assert _close(float(twin.log_likelihood(torch.as_tensor(lengths))), expected, 1e-12), (t, lengths)


def test_all_branches_at_zero_between_different_sequences_is_impossible(tree, patterns):
    # exact: the 3rd column (C, T, C, C) changes state, impossible on a tree of length zero
    lik = TreeLikelihood(patterns, tree, "JC")
    assert lik.log_likelihood(np.zeros(lik.n_branches)) == -math.inf
    value, gradient = lik.gradient(np.zeros(lik.n_branches))
    assert value == -math.inf and np.all(np.isnan(gradient))
    threaded = TreeLikelihood(patterns, tree, "JC", n_threads=2)
    value, gradient = threaded.gradient(np.zeros(lik.n_branches))
    assert value == -math.inf and np.all(np.isnan(gradient))
    value, transition, root, _ = lik.transition_gradient(np.zeros(lik.n_branches))
    assert value == -math.inf and np.all(np.isnan(transition)) and np.all(np.isnan(root))


@pytest.mark.parametrize("model_string", [MODELS[0], MODELS[-1]])
def test_gradient_is_exact_for_every_length(model_string, tree, patterns):
    # the branch of taxon a at t with the others at the tree's lengths, and every branch at t (not at 0,
    # where log L = -inf: see above), in the engine and by autograd through the torch twin. Reference:
    # central differences in mpmath with a step of 1e-60 (1e-60 times the length above 1) for the one
    # branch, and of 1e-20 times the length for every branch at t, where log L near t = 1e-300 changes
    # on the scale of t itself (about log t per change of state): the error is then ~1e-40 relative,
    # and the 40 digits that P(1e-300)'s off-diagonals keep (module docstring) leave 20 in the difference.
    model = parse_model(model_string)
    exact = ExactModel(model)
    lik = TreeLikelihood(patterns, tree, model)
    twin = TorchTreeLikelihood(patterns, tree, model)
    base = tree.branch_length[:-1].copy()
    for t in LENGTHS:
        configurations = [(np.concatenate([[t], base[1:]]), lambda x: max(x, 1) * mpmath.mpf("1e-60"))]
        if t > 0:
            configurations.append((np.full(lik.n_branches, t), lambda x: x * mpmath.mpf("1e-20")))
        for lengths, step_at in configurations:
            _, gradient = lik.gradient(lengths)
            tensor = torch.tensor(lengths, requires_grad=True)
            twin.log_likelihood(tensor).backward()
            with mpmath.workdps(DIGITS):
                point = [mpmath.mpf(x) for x in lengths]
                for b in range(lik.n_branches):
                    step = step_at(point[b])
                    up, down = list(point), list(point)
                    up[b] += step
                    down[b] -= step
                    expected = float((exact.log_likelihood(tree, up) - exact.log_likelihood(tree, down)) / (2 * step))
                    assert abs(gradient[b] - expected) <= 1e-9 * abs(expected) + 1e-12, (t, b, lengths)
                    assert abs(float(tensor.grad[b]) - expected) <= 1e-9 * abs(expected) + 1e-12, (t, b, lengths)
