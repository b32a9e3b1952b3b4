"""Independent references for the marginal-likelihood tests: a brute-force JC69 likelihood of
3- and 4-taxon trees (closed-form transition probabilities, explicit sums over internal states,
written without phylo_vi's likelihood engine) and log Z by tensor-product Gauss–Legendre
quadrature over log branch lengths.

JC69 (Jukes & Cantor 1969): P_t(x, x) = 1/4 + 3/4 e^{−4t/3}, P_t(x, y≠x) = 1/4 − 1/4 e^{−4t/3}.
Quadrature: the integrand p(D | b) p(b) is analytic on [0, ∞) (also at b = 0) and decays like
e^{−λ b}; each axis is truncated to [0, b̂_i + width·s_i] (b̂ the mode, s_i from the curvature
there) and integrated with ``n_nodes`` Gauss–Legendre nodes. The quadrature error is estimated by
comparing two (nodes, width) settings.
"""
from __future__ import annotations

import math

import numpy as np
from scipy.optimize import minimize
from scipy.special import logsumexp

from phylo_vi.alignment import SitePatterns
from phylo_vi.alignment.patterns import compress_columns
from phylo_vi.io.newick import parse_newick
from phylo_vi.trees import TaxonNamespace

PRIOR_RATE = 10.0
TRIPLET_NEWICK = "(A,B,C);"
QUARTET_NEWICK = "((A,B),C,D);"


def jc_matrix(t: np.ndarray) -> np.ndarray:
    """P_t for every t: shape (*t.shape, 4, 4)."""
    e = np.exp(-4.0 * np.asarray(t, dtype=np.float64) / 3.0)[..., None, None]
    eye = np.eye(4)
    return eye * (0.25 + 0.75 * e) + (1.0 - eye) * (0.25 - 0.25 * e)


def simulate_states(n_taxa: int, n_sites: int, branch_lengths, seed: int) -> np.ndarray:
    """Simulated JC69 states (n_taxa, n_sites) on the star (3 taxa) or ((A,B),(C,D)) tree."""
    rng = np.random.default_rng(seed)

    def evolve(states, t):
        p = jc_matrix(t)
        cumulative = np.cumsum(p[states], axis=1)
        return (rng.random(len(states))[:, None] > cumulative).sum(axis=1)

    root = rng.integers(4, size=n_sites)
    if n_taxa == 3:
        return np.array([evolve(root, t) for t in branch_lengths])
    a, b, c, d, e = branch_lengths
    other = evolve(root, e)
    return np.array([evolve(root, a), evolve(root, b), evolve(other, c), evolve(other, d)])


def make_patterns(states: np.ndarray, names=("A", "B", "C", "D")) -> SitePatterns:
    taxa = TaxonNamespace(names[: len(states)])
    codes = (1 << states).astype(np.uint8)
    pattern_codes, weights, site_pattern = compress_columns(codes)
    return SitePatterns(taxa, pattern_codes, weights, site_pattern)


def make_tree(patterns: SitePatterns):
    newick = TRIPLET_NEWICK if patterns.n_taxa == 3 else QUARTET_NEWICK
    return parse_newick(newick, patterns.taxa, add_taxa=False)


def _states(patterns: SitePatterns) -> np.ndarray:
    return np.log2(patterns.codes).astype(int)


def log_likelihood_grid(patterns: SitePatterns, axes: list[np.ndarray]) -> np.ndarray:
    """log p(D | b) on the tensor grid of branch-length ``axes`` (terminal A, B, C[, D], internal)."""
    s = _states(patterns)
    w = patterns.weights
    if len(axes) == 3:
        pa, pb, pc = (jc_matrix(axis)[:, :, s[i]] for i, axis in enumerate(axes))  # (G, 4, P)
        site = 0.25 * np.einsum("axp,bxp,cxp->abcp", pa, pb, pc)
        return np.log(site) @ w
    pa, pb, pc, pd = (jc_matrix(axes[i])[:, :, s[i]] for i in range(4))
    pe = jc_matrix(axes[4])  # (G, 4, 4)
    left = 0.25 * np.einsum("axp,bxp->abpx", pa, pb)
    right = np.einsum("cyp,dyp->cdpy", pc, pd)
    out = np.empty(tuple(len(a) for a in axes))
    for k in range(len(axes[4])):
        moved = np.einsum("abpx,xy->abpy", left, pe[k])
        site = np.einsum("abpy,cdpy->abcdp", moved, right)
        out[..., k] = np.log(site) @ w
    return out


def log_likelihood(patterns: SitePatterns, b: np.ndarray) -> float:
    """Brute-force log p(D | b) at one point (order A, B, C[, D], internal)."""
    return float(log_likelihood_grid(patterns, [np.array([x]) for x in b]).ravel()[0])


def _log_integrand(patterns, b):
    if np.any(b <= 0):
        return -np.inf
    return log_likelihood(patterns, b) + len(b) * math.log(PRIOR_RATE) - PRIOR_RATE * b.sum()


def log_marginal_quadrature(patterns: SitePatterns, n_nodes: int = 24, width: float = 10.0) -> float:
    """log Z by Gauss–Legendre quadrature over b in [0, b̂_i + width·s_i] on every axis."""
    n_branches = 3 if patterns.n_taxa == 3 else 5
    mode = minimize(lambda b: -_log_integrand(patterns, b), np.full(n_branches, 0.1),
                    method="Nelder-Mead", options={"xatol": 1e-9, "fatol": 1e-11, "maxiter": 20000}).x
    h = 1e-4
    upper = []
    for i in range(n_branches):
        step = np.zeros(n_branches)
        step[i] = h
        second = (_log_integrand(patterns, mode + step) - 2 * _log_integrand(patterns, mode)
                  + _log_integrand(patterns, mode - step)) / h**2
        upper.append(mode[i] + width / math.sqrt(-second))
    nodes, weights = np.polynomial.legendre.leggauss(n_nodes)
    axes = [0.5 * upper[i] * (nodes + 1.0) for i in range(n_branches)]
    total = log_likelihood_grid(patterns, axes)
    for i in range(n_branches):
        shape = [1] * n_branches
        shape[i] = n_nodes
        log_prior_and_weight = math.log(PRIOR_RATE) - PRIOR_RATE * axes[i] + np.log(0.5 * upper[i] * weights)
        total = total + log_prior_and_weight.reshape(shape)
    return float(logsumexp(total))
