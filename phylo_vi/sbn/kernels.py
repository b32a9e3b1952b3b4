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
def _padded(index, n_values):
    """One index of :func:`padded_indices`."""
    if index >= 0:
        return index
    return n_values if index == -1 else n_values + 1


@njit(cache=True, nogil=True)
def _pack_kernel(root_split, pcsp_root, pcsp_sib, children, n_root, n_pcsp):
    n_trees, n_edges = root_split.shape
    edges = np.empty((n_trees, n_edges, 3), dtype=np.int32)
    directed = np.empty((n_trees, 2 * n_edges, 4), dtype=np.int32)
    for t in range(n_trees):
        for e in range(n_edges):
            edges[t, e, 0] = _padded(root_split[t, e], n_root)
            edges[t, e, 1] = _padded(pcsp_root[t, e], n_pcsp)
            edges[t, e, 2] = _padded(pcsp_root[t, n_edges + e], n_pcsp)
        for d in range(2 * n_edges):
            for j in range(2):
                directed[t, d, j] = children[t, d, j]
                directed[t, d, 2 + j] = _padded(pcsp_sib[t, d, j], n_pcsp)
    return edges, directed


def packed_tables(root_split: np.ndarray, pcsp_root: np.ndarray, pcsp_sib: np.ndarray, children: np.ndarray,
                  n_root: int, n_pcsp: int) -> tuple[np.ndarray, np.ndarray]:
    """Support indices of :class:`~phylo_vi.sbn.support.IndexedTrees` packed for the E-step kernel.

    ``edges (T, E, 3)`` int32: root split, PCSP of edge ``e``'s down side and of its up side when
    the root is on ``e``; ``directed (T, 2E, 4)`` int32: the two children of directed edge ``d``
    and their PCSPs. Padded indices (:func:`padded_indices`); one tree's rows are contiguous, so
    the kernel reads each tree as one sequential block.
    """
    return _pack_kernel(root_split, pcsp_root, pcsp_sib, children, n_root, n_pcsp)


@njit(cache=True, nogil=True)
def tree_once_counts_kernel(root_split, pcsp_root, pcsp_sib, share, n_root, n_pcsp):
    """Root-split and PCSP counts when tree t adds ``share[t]`` once to each of its root splits and PCSPs
    (negative indices skipped); trees in order, a tree's root-side PCSPs before its sister-side ones."""
    n_trees, n_edges = root_split.shape
    root = np.zeros(n_root)
    pcsp = np.zeros(n_pcsp)
    for t in range(n_trees):
        for e in range(n_edges):
            root[root_split[t, e]] += share[t]
    for t in range(n_trees):
        for d in range(2 * n_edges):
            if pcsp_root[t, d] >= 0:
                pcsp[pcsp_root[t, d]] += share[t]
        for d in range(2 * n_edges):
            for j in range(2):
                if pcsp_sib[t, d, j] >= 0:
                    pcsp[pcsp_sib[t, d, j]] += share[t]
    return root, pcsp


@njit(cache=True, nogil=True)
def expected_counts_kernel(edges, directed, log_root, log_cpd, weights, root_counts, pcsp_counts):
    """E-step: add expected root-split and PCSP counts to the (padded) count arrays.

    Tables from :func:`packed_tables`. The posterior of the rooting on edge e of tree T is
    π_T(e) = P(T, root on e) / q(T); root splits and the PCSPs of the root's two children get
    w_T π_T(e), the PCSPs below directed edge d get w_T W[rev d]. The down-edge masses W are
    accumulated while the posteriors are normalised (down edge e is edge e, in post-order); the
    pre-order pass over the up edges scatters the counts of both directions of an edge as soon
    as both masses are known (every PCSP occurs at most once per tree, so the order of additions
    within a tree does not change the sums). Returns the score Σ_T w_T log q(T).
    """
    n_trees, n_edges = edges.shape[0], edges.shape[1]
    n_directed = 2 * n_edges
    below = np.empty(n_directed)
    mass = np.empty(n_directed)
    posterior = np.empty(n_edges)
    score = 0.0
    for t in range(n_trees):
        rows, roots = directed[t], edges[t]
        for step in range(n_directed):
            d = _pass_order(step, n_edges)
            c0 = rows[d, 0]
            below[d] = 0.0 if c0 < 0 else (log_cpd[rows[d, 2]] + log_cpd[rows[d, 3]] + below[c0] + below[rows[d, 1]])
        peak = -np.inf
        for e in range(n_edges):
            posterior[e] = (log_root[roots[e, 0]] + log_cpd[roots[e, 1]] + below[e]
                            + log_cpd[roots[e, 2]] + below[n_edges + e])
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
            root_counts[roots[e, 0]] += share
            pcsp_counts[roots[e, 1]] += share
            pcsp_counts[roots[e, 2]] += share
            c0 = rows[e, 0]
            mass[e] = posterior[e] if c0 < 0 else posterior[e] + mass[c0] + mass[rows[e, 1]]
        for step in range(n_edges, n_directed):
            up = _pass_order(step, n_edges)
            down = up - n_edges
            c0 = rows[up, 0]
            mass[up] = posterior[down] if c0 < 0 else posterior[down] + mass[c0] + mass[rows[up, 1]]
            if c0 >= 0:
                share = w * mass[down]
                pcsp_counts[rows[up, 2]] += share
                pcsp_counts[rows[up, 3]] += share
            if rows[down, 0] >= 0:
                share = w * mass[up]
                pcsp_counts[rows[down, 2]] += share
                pcsp_counts[rows[down, 3]] += share
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
        log_denominator = np.log(denominator) if denominator > 0.0 else 0.0
        for s in range(start, stop):
            numerator = pcsp_counts[s] + pseudo
            if denominator > 0.0 and numerator > 0.0:
                log_cpd[s] = np.log(numerator) - log_denominator
            else:
                log_cpd[s] = -np.inf
        start = stop
