"""An independent, deliberately plain NumPy pruning used as a reference by the likelihood tests.

It shares no code with ``phylo_vi.likelihood``: the rate matrix is built from the README
conventions (``shared/data/reference/README.md``), transition matrices come from a Taylor
series with scaling and squaring (not an eigendecomposition), gamma rates from ``scipy.stats.gamma``
quantile integrals, and partials are kept either plain (``scaled=False``: underflows like a
textbook implementation) or divided by their maximum at every node (``scaled=True``).
"""
from __future__ import annotations

import numpy as np
from scipy import integrate, stats

PAIRS = ((0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3))


def rate_matrix(exchangeabilities, frequencies) -> np.ndarray:
    pi = np.asarray(frequencies, dtype=float)
    q = np.zeros((4, 4))
    for (i, j), r in zip(PAIRS, exchangeabilities):
        q[i, j], q[j, i] = r * pi[j], r * pi[i]
    np.fill_diagonal(q, -q.sum(axis=1))
    return q / -(pi @ np.diag(q))


def expm(matrices: np.ndarray) -> np.ndarray:
    """Matrix exponential of a stack (..., n, n): Taylor series (30 terms) of A / 2^s, squared s times."""
    norm = float(np.abs(matrices).sum(axis=-1).max()) if matrices.size else 0.0
    squarings = max(0, int(np.ceil(np.log2(norm))) + 1) if norm > 0 else 0
    a = matrices / 2.0**squarings
    term = np.broadcast_to(np.eye(matrices.shape[-1]), matrices.shape).copy()
    total = term.copy()
    for order in range(1, 30):
        term = term @ a / order
        total = total + term
    for _ in range(squarings):
        total = total @ total
    return total


def gamma_mean_rates(alpha: float, n: int) -> np.ndarray:
    """Mean of each of n equal-probability slices of Gamma(alpha, 1/alpha), by quadrature."""
    dist = stats.gamma(alpha, scale=1.0 / alpha)
    cuts = dist.ppf(np.linspace(0, 1, n + 1))
    return np.array([n * integrate.quad(lambda x: x * dist.pdf(x), a, b, limit=200, epsabs=1e-14)[0]
                     for a, b in zip(cuts[:-1], cuts[1:])])


def tip_partials(codes: np.ndarray) -> np.ndarray:
    return ((codes[..., None] >> np.arange(4)) & 1).astype(float)


def log_likelihood(codes, weights, tree, q, frequencies, rates=(1.0,), category_weights=None, p_inv=0.0,
                   branch_lengths=None, scaled=True, per_pattern=False):
    """log L by post-order pruning; codes rows indexed by the tree's taxon indices."""
    rates = np.asarray(rates, dtype=float)
    cw = np.full(len(rates), 1.0 / len(rates)) if category_weights is None else np.asarray(category_weights)
    t = tree.branch_length[:-1] if branch_lengths is None else branch_lengths
    tips = tip_partials(np.asarray(codes))
    pmats = expm(q[None, None] * (np.asarray(t)[:, None] * rates[None, :])[..., None, None])  # (B, K, 4, 4)
    n_patterns = tips.shape[1]
    partial = {}
    log_scale = {}
    for node in range(tree.n_nodes):
        children = tree.children(node)
        if len(children) == 0:
            partial[node] = np.repeat(tips[tree.taxon[node]][None], len(rates), axis=0)
            log_scale[node] = np.zeros(n_patterns)
            continue
        value = np.ones((len(rates), n_patterns, 4))
        scale = np.zeros(n_patterns)
        for c in children:
            value = value * np.einsum("kij,kpj->kpi", pmats[c], partial.pop(c))
            scale += log_scale.pop(c)
        if scaled:
            largest = value.max(axis=(0, 2))
            value = value / largest[None, :, None]
            scale += np.log(largest)
        partial[node], log_scale[node] = value, scale
    root = tree.n_nodes - 1
    with np.errstate(divide="ignore"):
        site = np.log(np.einsum("k,kpi,i->p", cw, partial[root], frequencies)) + log_scale[root]
        if p_inv > 0:
            constant = tip_partials(np.bitwise_and.reduce(np.asarray(codes), axis=0)) @ frequencies
            site = np.logaddexp(np.log1p(-p_inv) + site, np.log(p_inv * constant))
    return site if per_pattern else float(site @ weights)
