"""Numba kernels: SBN probabilities of all rootings of unrooted trees and the EM expected counts.

Two-pass message passing (Zhang & Matsen, NeurIPS 2018, §3.2 and Appendix; ``zcrabbit/sbn``
``SBN._bn_estimate_fast``): for a directed edge ``d`` whose head is internal, ``below[d]`` is the
log probability of every subsplit inside ``clade[d]`` given the subsplit of ``clade[d]``,

    below[d] = Σ_j ( log P(child_j's subsplit | (child_{1-j}, child_j)) + below[child_j] ),

computed for the down edges in post-order, then for the up edges in pre-order. The rooting on
edge ``e`` (directed edges ``e`` and ``E + e``) then has, in O(1),

    log P(T, root on e) = log P(split e) + Σ_{d ∈ {e, E+e}} ( log P(subsplit of d | (rev d, d)) + below[d] ).

The E-step needs, for each PCSP occurrence of child ``children[d, j]``, the posterior mass of the
rootings that contain it: those on the tail side of ``d``, ``W[rev d]``, with
``W[d] = π(edge of d) + Σ_j W[children[d, j]]`` accumulated in the same order. Every tree costs
O(n). The kernels take *padded* tables (:func:`pad_log_table`): index ``len - 2`` holds −inf
(an unseen object, probability 0) and ``len - 1`` holds 0 (a factor that does not exist);
:func:`padded_indices` maps the support's -1 / -2 codes onto them.
"""
from __future__ import annotations

import numpy as np
from numba import njit


def pad_log_table(log_values: np.ndarray) -> np.ndarray:
    """``log_values`` followed by −inf (unseen) and 0 (no factor)."""
    return np.concatenate([log_values, [-np.inf, 0.0]])


def padded_indices(indices: np.ndarray, n_values: int) -> np.ndarray:
    """Support indices with -1 → ``n_values`` and -2 → ``n_values + 1`` (see :func:`pad_log_table`)."""
    return np.where(indices >= 0, indices, np.where(indices == -1, n_values, n_values + 1)).astype(np.int64)


@njit(cache=True, nogil=True)
def _pass_order(step, n_edges):
    """Down edges 0..E-1 (post-order), then up edges E+v for v = E-1..0 (pre-order)."""
    if step < n_edges:
        return step
    return n_edges + (2 * n_edges - 1 - step)


@njit(cache=True, nogil=True)
def _tree_rooting_log_probs(t, root_split, pcsp_root, pcsp_sib, children, log_root, log_cpd, below, out):
    n_edges = root_split.shape[1]
    for step in range(2 * n_edges):
        d = _pass_order(step, n_edges)
        c0 = children[t, d, 0]
        if c0 < 0:
            below[d] = 0.0
        else:
            below[d] = (log_cpd[pcsp_sib[t, d, 0]] + below[c0]
                        + log_cpd[pcsp_sib[t, d, 1]] + below[children[t, d, 1]])
    for e in range(n_edges):
        out[e] = (log_root[root_split[t, e]] + log_cpd[pcsp_root[t, e]] + below[e]
                  + log_cpd[pcsp_root[t, n_edges + e]] + below[n_edges + e])


@njit(cache=True, nogil=True)
def rooting_log_probs_kernel(root_split, pcsp_root, pcsp_sib, children, log_root, log_cpd):
    """``(T, E)`` log P(tree, root on edge e) for every tree and edge (padded tables)."""
    n_trees, n_edges = root_split.shape
    out = np.empty((n_trees, n_edges))
    below = np.empty(2 * n_edges)
    for t in range(n_trees):
        _tree_rooting_log_probs(t, root_split, pcsp_root, pcsp_sib, children, log_root, log_cpd, below, out[t])
    return out


@njit(cache=True, nogil=True)
def expected_counts_kernel(root_split, pcsp_root, pcsp_sib, children, log_root, log_cpd, weights,
                           root_counts, pcsp_counts):
    """E-step: add expected root-split and PCSP counts to the (padded) count arrays.

    The posterior of the rooting on edge e of tree T is π_T(e) = P(T, root on e) / q(T); root
    splits and the PCSPs of the root's two children get w_T π_T(e), the PCSPs below directed
    edge d get w_T W[rev d]. Returns the score Σ_T w_T log q(T).
    """
    n_trees, n_edges = root_split.shape
    n_directed = 2 * n_edges
    order = np.empty(n_directed, dtype=np.int64)
    for step in range(n_directed):
        order[step] = _pass_order(step, n_edges)
    below = np.empty(n_directed)
    mass = np.empty(n_directed)
    posterior = np.empty(n_edges)
    score = 0.0
    for t in range(n_trees):
        kids, sib, rooted, split = children[t], pcsp_sib[t], pcsp_root[t], root_split[t]
        for d in order:
            c0 = kids[d, 0]
            below[d] = 0.0 if c0 < 0 else (log_cpd[sib[d, 0]] + log_cpd[sib[d, 1]] + below[c0] + below[kids[d, 1]])
        peak = -np.inf
        for e in range(n_edges):
            posterior[e] = (log_root[split[e]] + log_cpd[rooted[e]] + below[e]
                            + log_cpd[rooted[n_edges + e]] + below[n_edges + e])
            peak = max(peak, posterior[e])
        total = 0.0
        for e in range(n_edges):
            posterior[e] = np.exp(posterior[e] - peak)
            total += posterior[e]
        w = weights[t]
        score += w * (peak + np.log(total))
        for e in range(n_edges):
            posterior[e] /= total
            share = w * posterior[e]
            root_counts[split[e]] += share
            pcsp_counts[rooted[e]] += share
            pcsp_counts[rooted[n_edges + e]] += share
        for d in order:
            c0 = kids[d, 0]
            own = posterior[d] if d < n_edges else posterior[d - n_edges]
            mass[d] = own if c0 < 0 else own + mass[c0] + mass[kids[d, 1]]
        for d in range(n_directed):
            if kids[d, 0] >= 0:
                share = w * (mass[d + n_edges] if d < n_edges else mass[d - n_edges])
                pcsp_counts[sib[d, 0]] += share
                pcsp_counts[sib[d, 1]] += share
    return score


@njit(cache=True, nogil=True)
def map_parameters_kernel(root_counts, pcsp_counts, pcsp_parent, parent_prior, n_children, root_prior, alpha,
                          log_root, log_cpd):
    """M-step into ``log_root`` / ``log_cpd``: P(r) = (m̄(r) + α m̃(r)) / (1 + α) and
    P(s | p) = (m̄(p→s) + α m̃(p)/|C(p)|) / (m̄(p) + α m̃(p)) (−inf where a denominator is 0).

    PCSPs of one parent are contiguous (``pcsp_parent`` is sorted).
    """
    for r in range(root_counts.size):
        value = (root_counts[r] + alpha * root_prior[r]) / (1.0 + alpha)
        log_root[r] = np.log(value) if value > 0.0 else -np.inf
    start = 0
    n_pcsp = pcsp_counts.size
    while start < n_pcsp:
        parent = pcsp_parent[start]
        stop = start
        total = 0.0
        while stop < n_pcsp and pcsp_parent[stop] == parent:
            total += pcsp_counts[stop]
            stop += 1
        prior = alpha * parent_prior[parent]
        pseudo = prior / max(n_children[parent], 1)
        denominator = total + prior
        for s in range(start, stop):
            numerator = pcsp_counts[s] + pseudo
            if denominator > 0.0 and numerator > 0.0:
                log_cpd[s] = np.log(numerator) - np.log(denominator)
            else:
                log_cpd[s] = -np.inf
        start = stop
