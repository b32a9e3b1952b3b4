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
def _padded(index, n_values):
    """One index of :func:`padded_indices`."""
    if index >= 0:
        return index
    return n_values if index == -1 else n_values + 1


@njit(cache=True, nogil=True)
def pack_factors_kernel(root_split, pcsp_root, pcsp_sib, children, n_root, n_pcsp):
    """``factors`` of :func:`packed_tables` from the support indices of
    :class:`~phylo_vi.sbn.support.IndexedTrees` (padded here)."""
    n_trees, n_edges = root_split.shape
    n_internal = (n_edges + 3) // 2 - 3
    factors = np.empty((n_trees, 4 * n_edges + 3 * n_internal), dtype=np.int32)
    for t in range(n_trees):
        row = factors[t]
        block = 4 * n_edges
        for v in range(n_edges):
            row[4 * v] = _padded(root_split[t, v], n_root)
            row[4 * v + 1] = _padded(pcsp_root[t, n_edges + v], n_pcsp)
            row[4 * v + 2] = _padded(pcsp_sib[t, n_edges + v, 0], n_pcsp)
            row[4 * v + 3] = _padded(pcsp_sib[t, n_edges + v, 1], n_pcsp)
            if children[t, v, 0] >= 0:
                row[block] = _padded(pcsp_root[t, v], n_pcsp)
                row[block + 1] = _padded(pcsp_sib[t, v, 0], n_pcsp)
                row[block + 2] = _padded(pcsp_sib[t, v, 1], n_pcsp)
                block += 3
    return factors


@njit(cache=True, nogil=True)
def _parents_kernel(children):
    """Post-order parent arrays ``(T, E + 1)`` of the trees whose directed-edge children are ``children``."""
    n_trees, n_directed = children.shape[0], children.shape[1]
    n_edges = n_directed // 2
    parent = np.full((n_trees, n_edges + 1), n_edges, dtype=np.int32)
    for t in range(n_trees):
        parent[t, n_edges] = -1
        for v in range(n_edges):
            for j in range(2):
                if children[t, v, j] >= 0:
                    parent[t, children[t, v, j]] = v
    return parent


def packed_tables(root_split: np.ndarray, pcsp_root: np.ndarray, pcsp_sib: np.ndarray, children: np.ndarray,
                  n_root: int, n_pcsp: int) -> tuple[np.ndarray, np.ndarray]:
    """Support indices of :class:`~phylo_vi.sbn.support.IndexedTrees` in the packed layout of the kernels.

    Returns ``parent (T, N)`` int32, the post-order parent arrays (the kernels derive each directed
    edge's children from them, as :func:`~phylo_vi.sbn.edges.unrooted_edge_tables` does), and
    ``factors (T, 4E + 3(n − 3))`` int32, padded indices (:func:`padded_indices`): for every edge
    ``v`` its root split, the PCSP of its up side when the root is on ``v`` and the PCSPs of the two
    children of the up edge ``E + v``; then for every internal non-root node ``v`` in post-order
    the PCSP of its down side when the root is on ``v`` and the PCSPs of its two children. Factors
    that do not exist (below a leaf) take no slot, so a tree of ``n`` taxa holds ``11n − 21``
    indices; one tree's indices are contiguous, and the kernels read them in order.
    """
    return _parents_kernel(children), pack_factors_kernel(root_split, pcsp_root, pcsp_sib, children, n_root, n_pcsp)


@njit(cache=True, nogil=True)
def _down_pass(tree, row, log_cpd, kids, n_kids, up_kids, block, below):
    """One tree's shape and down messages in one post-order pass over its parent array ``tree``.

    Shape (the directed-edge children of :func:`~phylo_vi.sbn.edges.unrooted_edge_tables`, in its
    order): ``kids[v]`` of the down edge ``v`` (``n_kids[v] = 0`` for a leaf), ``up_kids[v]`` of the up
    edge ``E + v`` (``v``'s sister and the up edge of ``v``'s parent, or the root's other two children),
    ``block[v]``, the offset of internal node ``v``'s slots in the packed ``row`` (−1 for a leaf).
    Messages: ``below[v]`` of the down edges (module docstring), a node's children being reached first."""
    n_edges = tree.size - 1
    n_kids[:] = 0
    offset = 4 * n_edges
    for v in range(n_edges):
        if n_kids[v] == 0:
            block[v] = -1
            below[v] = 0.0
        else:
            block[v] = offset
            a, b = kids[v, 0], kids[v, 1]
            below[v] = log_cpd[row[offset + 1]] + log_cpd[row[offset + 2]] + below[a] + below[b]
            offset += 3
            up_kids[a, 0], up_kids[a, 1] = b, n_edges + v
            up_kids[b, 0], up_kids[b, 1] = a, n_edges + v
        p = tree[v]
        kids[p, n_kids[p]] = v
        n_kids[p] += 1
    a, b, c = kids[n_edges, 0], kids[n_edges, 1], kids[n_edges, 2]
    up_kids[a, 0], up_kids[a, 1] = b, c
    up_kids[b, 0], up_kids[b, 1] = a, c
    up_kids[c, 0], up_kids[c, 1] = a, b


@njit(cache=True, nogil=True)
def _shape_buffers(n_nodes):
    """Buffers of :func:`_down_pass`."""
    return (np.empty((n_nodes, 3), dtype=np.int32), np.empty(n_nodes, dtype=np.int32),
            np.empty((n_nodes - 1, 2), dtype=np.int32), np.empty(n_nodes - 1, dtype=np.int32))


@njit(cache=True, nogil=True)
def packed_rooting_log_probs_kernel(parent, factors, log_root, log_cpd):
    """``(T, E)`` log P(tree, root on edge e) for every tree and edge (module docstring; tables of
    :func:`packed_tables`, padded log tables)."""
    n_trees, n_nodes = parent.shape
    n_edges = n_nodes - 1
    no_factor = log_cpd.size - 1
    out = np.empty((n_trees, n_edges))
    below = np.empty(2 * n_edges)
    kids, n_kids, up_kids, block = _shape_buffers(n_nodes)
    for t in range(n_trees):
        row = factors[t]
        _down_pass(parent[t], row, log_cpd, kids, n_kids, up_kids, block, below)
        for v in range(n_edges - 1, -1, -1):
            below[n_edges + v] = (log_cpd[row[4 * v + 2]] + below[up_kids[v, 0]]
                                  + log_cpd[row[4 * v + 3]] + below[up_kids[v, 1]])
        for e in range(n_edges):
            down = row[block[e]] if block[e] >= 0 else no_factor
            out[t, e] = (log_root[row[4 * e]] + log_cpd[down] + below[e]
                         + log_cpd[row[4 * e + 1]] + below[n_edges + e])
    return out


def rooting_log_probs_kernel(root_split: np.ndarray, pcsp_root: np.ndarray, pcsp_sib: np.ndarray,
                             children: np.ndarray, log_root: np.ndarray, log_cpd: np.ndarray) -> np.ndarray:
    """``(T, E)`` log P(tree, root on edge e) from padded indices and padded log tables."""
    parent, factors = packed_tables(root_split, pcsp_root, pcsp_sib, children, log_root.size - 2, log_cpd.size - 2)
    return packed_rooting_log_probs_kernel(parent, factors, log_root, log_cpd)


@njit(cache=True, nogil=True)
def tree_once_counts_kernel(factors, share, n_root, n_pcsp):
    """Root-split and PCSP counts when tree t adds ``share[t]`` once to each of its root splits and PCSPs
    (tables of :func:`packed_tables`; unseen objects and absent factors skipped). Trees in order: within a
    tree every root split and PCSP occurs at most once, so each count is summed in tree order."""
    n_trees, width = factors.shape
    n_edges = 2 * ((width + 21) // 11) - 3
    root = np.zeros(n_root)
    pcsp = np.zeros(n_pcsp)
    for t in range(n_trees):
        row = factors[t]
        for v in range(n_edges):
            if row[4 * v] < n_root:
                root[row[4 * v]] += share[t]
            for j in range(1, 4):
                if row[4 * v + j] < n_pcsp:
                    pcsp[row[4 * v + j]] += share[t]
        for i in range(4 * n_edges, width):
            if row[i] < n_pcsp:
                pcsp[row[i]] += share[t]
    return root, pcsp


@njit(cache=True, nogil=True)
def expected_counts_kernel(parent, factors, log_root, log_cpd, weights, root_counts, pcsp_counts):
    """E-step: add expected root-split and PCSP counts to the (padded) count arrays.

    Tables from :func:`packed_tables`. The posterior of the rooting on edge e of tree T is
    π_T(e) = P(T, root on e) / q(T); root splits and the PCSPs of the root's two children get
    w_T π_T(e), the PCSPs below directed edge d get w_T W[rev d]. The down-edge masses W are
    accumulated while the posteriors are normalised (down edge e is edge e, in post-order); the
    pre-order pass over the up edges scatters the counts of both directions of an edge as soon
    as both masses are known (every PCSP occurs at most once per tree, so the order of additions
    within a tree does not change the sums). Returns the score Σ_T w_T log q(T).
    """
    n_trees, n_nodes = parent.shape
    n_edges = n_nodes - 1
    no_factor = log_cpd.size - 1
    below = np.empty(2 * n_edges)
    mass = np.empty(2 * n_edges)
    posterior = np.empty(n_edges)
    kids, n_kids, up_kids, block = _shape_buffers(n_nodes)
    score = 0.0
    for t in range(n_trees):
        row = factors[t]
        _down_pass(parent[t], row, log_cpd, kids, n_kids, up_kids, block, below)
        for v in range(n_edges - 1, -1, -1):
            below[n_edges + v] = (log_cpd[row[4 * v + 2]] + log_cpd[row[4 * v + 3]]
                                  + below[up_kids[v, 0]] + below[up_kids[v, 1]])
        peak = -np.inf
        for e in range(n_edges):
            down = row[block[e]] if block[e] >= 0 else no_factor
            posterior[e] = (log_root[row[4 * e]] + log_cpd[down] + below[e]
                            + log_cpd[row[4 * e + 1]] + below[n_edges + e])
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
            root_counts[row[4 * e]] += share
            if block[e] >= 0:
                pcsp_counts[row[block[e]]] += share
            pcsp_counts[row[4 * e + 1]] += share
            mass[e] = posterior[e] if block[e] < 0 else posterior[e] + mass[kids[e, 0]] + mass[kids[e, 1]]
        for v in range(n_edges - 1, -1, -1):
            up = n_edges + v
            mass[up] = posterior[v] + mass[up_kids[v, 0]] + mass[up_kids[v, 1]]
            share = w * mass[v]
            pcsp_counts[row[4 * v + 2]] += share
            pcsp_counts[row[4 * v + 3]] += share
            if block[v] >= 0:
                share = w * mass[up]
                pcsp_counts[row[block[v] + 1]] += share
                pcsp_counts[row[block[v] + 2]] += share
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
