"""Single-branch likelihood updates: cached directional partials for Metropolis–Hastings.

A sampler that changes one branch length at a time (the scaler and slider moves of MrBayes
and physher) needs the likelihood as a function of that one branch. With D_c the post-order
partial of the subtree below branch c and qt_c the pre-order partial above it (Ji et al. 2020,
Mol. Biol. Evol. 37:3047, eqs. 6–8; notation of :mod:`phylo_vi.likelihood.kernels`), neither
of which depends on t_c,

    L_p(t_c) = inv_p + sum_k w_k qt_c[k, :, p]^T P(r_k t_c) D_c[k, :, p],            (1)

so a proposal on branch c costs one pass over the patterns and no pruning at all. After a
change of t_e is accepted, only the partials that depend on t_e go stale:

- D_u for every strict ancestor u of e;
- qt_v for every branch v that is neither e nor an ancestor of e.

They are marked stale (flags only) and recomputed lazily when a later proposal needs them, so
rejected proposals cost nothing beyond (1) and an accepted one costs the partials on the path
to the next branch proposed. Values agree with full pruning to rounding (tested).

**Scaling.** Every stored product partial (D_u and qt_v) whose largest entry at a pattern falls
below 2^-256 is multiplied by 2^256 there and the pattern's exponent count is kept
(``lower_scale``, ``above_scale``; counts add along the tree). Checking costs one pass of
maxima; patterns are touched only when they underflow. Evaluation (1) then runs the
vectorised :func:`~phylo_vi.likelihood.fast_log.weighted_log_sum` when no count is set on
branch c, and an exact scalar path otherwise.

Fields of the cache, a :class:`BranchCache` named tuple (N nodes in post-order, root last; K
categories; P patterns)::

    child_offsets int32 (N + 1,)   child_nodes int32 (N - 1,)   parent int32 (N,) (-1: root)
    first int32 (N,)   first post-order node of each subtree: v is below-or-at u iff first[u] <= v <= u
    weights (P,)   invariant (P,)   freqs (4,)   rates (K,)   cat_weights (K,)
    values (4,)   vectors (4, 4)   inverse (4, 4)           (the plan's model arrays)
    branch_lengths (N - 1,)   current branch lengths
    pmats (N, K, 4, 4)   P(r_k t_v)
    proposal (1, K, 4, 4) and proposal_length (1,): scratch for (1)
    lower (N, K, 4, P)   D_v (leaves: tip partials)
    above (N, K, 4, P)   qt_v = (P_u^T qt_u) * prod over siblings s of P_s D_s (u = parent of v;
                         at the root the frequencies take the place of P_u^T qt_u)
    lower_scale, above_scale  int32 (N, P)  exponent counts (units of 256 bits)
    valid uint8 (4, N)   rows LOWER, ABOVE, LOWER_SCALED, ABOVE_SCALED
    work (3, P)   factors int32 (N,)   path int32 (N,)

A stale partial is rebuilt from its neighbours in one fused pass (two matrix-vector products
and their elementwise product). Memory is 2 N K P doubles (DS1, JC69: 3 MB); one cache
belongs to one chain (not thread-safe).
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numba import njit

from phylo_vi.likelihood.fast_log import SMALLEST_NORMAL, weighted_log_sum
from phylo_vi.likelihood.messages import matrix_message
from phylo_vi.likelihood.plan import Plan
from phylo_vi.likelihood.transition import matrix_entries, transition_matrices

LOWER, ABOVE, LOWER_SCALED, ABOVE_SCALED = range(4)
UNDERFLOW = 2.0 ** -256
SCALE_UP = 2.0 ** 256
LOG_SCALE_UP = 256.0 * math.log(2.0)

_HOT = dict(cache=True, nogil=True, fastmath={"contract"})


class BranchCache(NamedTuple):
    """The partials and scratch of single-branch updates (fields in the module docstring)."""

    child_offsets: np.ndarray
    child_nodes: np.ndarray
    parent: np.ndarray
    first: np.ndarray
    weights: np.ndarray
    invariant: np.ndarray
    freqs: np.ndarray
    rates: np.ndarray
    cat_weights: np.ndarray
    values: np.ndarray
    vectors: np.ndarray
    inverse: np.ndarray
    branch_lengths: np.ndarray
    pmats: np.ndarray
    proposal: np.ndarray
    proposal_length: np.ndarray
    lower: np.ndarray
    above: np.ndarray
    lower_scale: np.ndarray
    above_scale: np.ndarray
    valid: np.ndarray
    work: np.ndarray
    factors: np.ndarray
    path: np.ndarray


def build_branch_cache(plan: Plan, branch_lengths: np.ndarray) -> BranchCache:
    """A single-branch update cache for the topology and model of a likelihood ``plan``
    (:func:`phylo_vi.likelihood.plan.build_plan`), at ``branch_lengths`` (N - 1,)."""
    child_offsets, child_nodes, tip_row, tips = plan.child_offsets, plan.child_nodes, plan.tip_row, plan.tips
    n_nodes = tip_row.shape[0]
    n_categories, n_patterns = plan.rates.shape[0], plan.weights.shape[0]
    parent = np.full(n_nodes, -1, dtype=np.int32)
    first = np.arange(n_nodes, dtype=np.int32)
    for u in range(n_nodes):
        children = child_nodes[child_offsets[u]:child_offsets[u + 1]]
        parent[children] = u
        if len(children):
            first[u] = first[children].min()
    shape = (n_nodes, n_categories, 4, n_patterns)
    lower = np.zeros(shape)
    for v in np.flatnonzero(tip_row >= 0):
        lower[v] = tips[tip_row[v]][None, :, :]
    valid = np.zeros((4, n_nodes), dtype=np.uint8)
    valid[LOWER, tip_row >= 0] = 1
    cache = BranchCache(child_offsets=child_offsets, child_nodes=child_nodes, parent=parent, first=first,
                        weights=plan.weights, invariant=plan.invariant, freqs=plan.freqs, rates=plan.rates,
                        cat_weights=plan.cat_weights, values=plan.values, vectors=plan.vectors, inverse=plan.inverse,
                        branch_lengths=np.zeros(n_nodes - 1), pmats=np.zeros((n_nodes, n_categories, 4, 4)),
                        proposal=np.zeros((1, n_categories, 4, 4)), proposal_length=np.zeros(1), lower=lower,
                        above=np.zeros(shape), lower_scale=np.zeros((n_nodes, n_patterns), dtype=np.int32),
                        above_scale=np.zeros((n_nodes, n_patterns), dtype=np.int32), valid=valid,
                        work=np.zeros((3, n_patterns)), factors=np.zeros(n_nodes, dtype=np.int32),
                        path=np.zeros(n_nodes, dtype=np.int32))
    reset_branch_lengths(cache, np.ascontiguousarray(branch_lengths, dtype=np.float64))
    return cache


@njit(cache=True, nogil=True)
def reset_branch_lengths(cache, branch_lengths):
    """Move the cache to new branch lengths (N - 1,): every partial that depends on them is stale."""
    child_offsets, t, pmats, valid = cache.child_offsets, cache.branch_lengths, cache.pmats, cache.valid
    t[:] = branch_lengths
    transition_matrices(t, cache.values, cache.vectors, cache.inverse, cache.rates, pmats)
    for v in range(valid.shape[1]):
        if child_offsets[v + 1] > child_offsets[v]:
            valid[LOWER, v] = 0
        valid[ABOVE, v] = 0


@njit(**_HOT)
def _two_messages(pmats, k, a, transposed, src_a, b, src_b, dst, v, maxima):
    """``dst[v, k, :, p] = (M_a src_a[a, k, :, p]) * (P_b src_b[b, k, :, p])`` in one pass, with
    ``M_a = P_a^T`` when ``transposed`` (a pre-order factor) else ``P_a``; ``maxima[p]`` takes the
    largest entry of the result if that is larger (the caller zeroes it before the first category)."""
    (a00, a01, a02, a03, a10, a11, a12, a13,
     a20, a21, a22, a23, a30, a31, a32, a33) = matrix_entries(pmats, a, k, transposed)
    b00, b01, b02, b03 = pmats[b, k, 0, 0], pmats[b, k, 0, 1], pmats[b, k, 0, 2], pmats[b, k, 0, 3]
    b10, b11, b12, b13 = pmats[b, k, 1, 0], pmats[b, k, 1, 1], pmats[b, k, 1, 2], pmats[b, k, 1, 3]
    b20, b21, b22, b23 = pmats[b, k, 2, 0], pmats[b, k, 2, 1], pmats[b, k, 2, 2], pmats[b, k, 2, 3]
    b30, b31, b32, b33 = pmats[b, k, 3, 0], pmats[b, k, 3, 1], pmats[b, k, 3, 2], pmats[b, k, 3, 3]
    for p in range(dst.shape[3]):
        x0, x1, x2, x3 = src_a[a, k, 0, p], src_a[a, k, 1, p], src_a[a, k, 2, p], src_a[a, k, 3, p]
        y0, y1, y2, y3 = src_b[b, k, 0, p], src_b[b, k, 1, p], src_b[b, k, 2, p], src_b[b, k, 3, p]
        d0 = (a00 * x0 + a01 * x1 + a02 * x2 + a03 * x3) * (b00 * y0 + b01 * y1 + b02 * y2 + b03 * y3)
        d1 = (a10 * x0 + a11 * x1 + a12 * x2 + a13 * x3) * (b10 * y0 + b11 * y1 + b12 * y2 + b13 * y3)
        d2 = (a20 * x0 + a21 * x1 + a22 * x2 + a23 * x3) * (b20 * y0 + b21 * y1 + b22 * y2 + b23 * y3)
        d3 = (a30 * x0 + a31 * x1 + a32 * x2 + a33 * x3) * (b30 * y0 + b31 * y1 + b32 * y2 + b33 * y3)
        dst[v, k, 0, p] = d0
        dst[v, k, 1, p] = d1
        dst[v, k, 2, p] = d2
        dst[v, k, 3, p] = d3
        maxima[p] = max(maxima[p], max(max(d0, d1), max(d2, d3)))


@njit(**_HOT)
def _partial_maxima(partials, v, maxima):
    """``maxima[p]`` = largest entry of ``partials[v, :, :, p]``."""
    for p in range(partials.shape[3]):
        maxima[p] = 0.0
    for k in range(partials.shape[1]):
        for i in range(4):
            for p in range(partials.shape[3]):
                maxima[p] = max(maxima[p], partials[v, k, i, p])


@njit(**_HOT)
def _rescale_underflow(partials, v, counts, maxima):
    """Scale patterns of ``partials[v]`` whose largest entry (``maxima``) is below 2^-256 up by
    2^256 (as often as needed), adding the number of scalings to ``counts[v]``; True if any was."""
    smallest = np.inf
    for p in range(partials.shape[3]):
        smallest = min(smallest, maxima[p])
    if smallest >= UNDERFLOW:
        return False
    for p in range(partials.shape[3]):
        largest = maxima[p]
        while 0.0 < largest < UNDERFLOW:
            largest *= SCALE_UP
            counts[v, p] += 1
            for k in range(partials.shape[1]):
                for i in range(4):
                    partials[v, k, i, p] *= SCALE_UP
    return True


@njit(**_HOT)
def _product_of_messages(pmats, lower, factors, n_factors, pre_factor, above, dst, v, maxima):
    """``dst[v]`` = [P_u^T above[u] if ``pre_factor`` = u >= 0] * prod over the first ``n_factors``
    ``factors`` s of P_s lower[s], with ``maxima`` of the result; at least two factors in all (a
    binary node is one fused pass)."""
    n_categories, n_patterns = pmats.shape[1], lower.shape[3]
    # node indices as intp: int32 indices make LLVM give up vectorising the pattern loops
    first, second = np.intp(factors[0]), np.intp(factors[1])
    maxima[:] = 0.0
    for k in range(n_categories):
        if pre_factor >= 0:
            _two_messages(pmats, k, np.intp(pre_factor), True, above, first, lower, dst, v, maxima)
        else:
            _two_messages(pmats, k, first, False, lower, second, lower, dst, v, maxima)
    used = 1 if pre_factor >= 0 else 2
    if used < n_factors:
        for j in range(used, n_factors):
            s = np.intp(factors[j])
            for k in range(n_categories):
                matrix_message(pmats, s, k, lower, s, n_patterns, dst, v, True)
        _partial_maxima(dst, v, maxima)


@njit(cache=True, nogil=True)
def _ensure_lower(cache, u):
    """Recompute the stale post-order partials D_v of the subtree of u (children first)."""
    child_offsets, child_nodes, first, pmats, lower, above = (
        cache.child_offsets, cache.child_nodes, cache.first, cache.pmats, cache.lower, cache.above)
    lower_scale, valid, work, factors = cache.lower_scale, cache.valid, cache.work, cache.factors
    for v in range(first[u], u + 1):
        if valid[LOWER, v]:
            continue
        n_factors = 0
        children_scaled = False
        for j in range(child_offsets[v], child_offsets[v + 1]):
            c = child_nodes[j]
            factors[n_factors] = c
            n_factors += 1
            children_scaled = children_scaled or valid[LOWER_SCALED, c] == 1
        _product_of_messages(pmats, lower, factors, n_factors, -1, above, lower, v, work[0])
        if children_scaled or valid[LOWER_SCALED, v]:
            lower_scale[v, :] = 0
            for j in range(child_offsets[v], child_offsets[v + 1]):
                lower_scale[v, :] += lower_scale[child_nodes[j], :]
        own = _rescale_underflow(lower, v, lower_scale, work[0])
        valid[LOWER_SCALED, v] = 1 if (children_scaled or own) else 0
        valid[LOWER, v] = 1


@njit(cache=True, nogil=True)
def _ensure_above(cache, c):
    """Recompute the stale pre-order partials qt_v on the path from the root down to branch c."""
    child_offsets, child_nodes, parent, freqs, pmats, lower, above = (
        cache.child_offsets, cache.child_nodes, cache.parent, cache.freqs, cache.pmats, cache.lower, cache.above)
    lower_scale, above_scale, valid, work, factors, path = (
        cache.lower_scale, cache.above_scale, cache.valid, cache.work, cache.factors, cache.path)
    root = parent.shape[0] - 1
    n = 0
    v = c
    while v != root:
        path[n] = v
        n += 1
        v = parent[v]
    for step in range(n - 1, -1, -1):
        v = path[step]
        if valid[ABOVE, v]:
            continue
        u = parent[v]
        for j in range(child_offsets[u], child_offsets[u + 1]):
            if child_nodes[j] != v:
                _ensure_lower(cache, child_nodes[j])
        n_factors = 0
        scaled = u != root and valid[ABOVE_SCALED, u] == 1
        for j in range(child_offsets[u], child_offsets[u + 1]):
            s = child_nodes[j]
            if s != v:
                factors[n_factors] = s
                n_factors += 1
                scaled = scaled or valid[LOWER_SCALED, s] == 1
        if u != root:
            _product_of_messages(pmats, lower, factors, n_factors, u, above, above, v, work[0])
        else:
            _product_of_messages(pmats, lower, factors, n_factors, -1, above, above, v, work[0])
            for k in range(pmats.shape[1]):
                for i in range(4):
                    above[v, k, i, :] *= freqs[i]
            _partial_maxima(above, v, work[0])
        if scaled or valid[ABOVE_SCALED, v]:
            above_scale[v, :] = 0
            if u != root:
                above_scale[v, :] += above_scale[u, :]
            for j in range(n_factors):
                above_scale[v, :] += lower_scale[factors[j], :]
        own = _rescale_underflow(above, v, above_scale, work[0])
        valid[ABOVE_SCALED, v] = 1 if (scaled or own) else 0
        valid[ABOVE, v] = 1


@njit(**_HOT)
def _branch_site_likelihoods(proposal, lower, above, c, cat_weights, site):
    """``site[p] = sum_k w_k qt_c[k, :, p]^T P_k D_c[k, :, p]`` (eq. 1 without +I)."""
    n_patterns = site.shape[0]
    for p in range(n_patterns):
        site[p] = 0.0
    for k in range(proposal.shape[1]):
        w = cat_weights[k]
        p00, p01, p02, p03 = proposal[0, k, 0, 0], proposal[0, k, 0, 1], proposal[0, k, 0, 2], proposal[0, k, 0, 3]
        p10, p11, p12, p13 = proposal[0, k, 1, 0], proposal[0, k, 1, 1], proposal[0, k, 1, 2], proposal[0, k, 1, 3]
        p20, p21, p22, p23 = proposal[0, k, 2, 0], proposal[0, k, 2, 1], proposal[0, k, 2, 2], proposal[0, k, 2, 3]
        p30, p31, p32, p33 = proposal[0, k, 3, 0], proposal[0, k, 3, 1], proposal[0, k, 3, 2], proposal[0, k, 3, 3]
        for p in range(n_patterns):
            x0, x1, x2, x3 = lower[c, k, 0, p], lower[c, k, 1, p], lower[c, k, 2, p], lower[c, k, 3, p]
            site[p] += w * (above[c, k, 0, p] * (p00 * x0 + p01 * x1 + p02 * x2 + p03 * x3)
                            + above[c, k, 1, p] * (p10 * x0 + p11 * x1 + p12 * x2 + p13 * x3)
                            + above[c, k, 2, p] * (p20 * x0 + p21 * x1 + p22 * x2 + p23 * x3)
                            + above[c, k, 3, p] * (p30 * x0 + p31 * x1 + p32 * x2 + p33 * x3))


@njit(cache=True, nogil=True, fastmath={"contract", "reassoc"})
def _add_invariant(site, invariant):
    """``site += invariant``; returns (smallest, largest) of the result."""
    smallest, largest = np.inf, 0.0
    for p in range(site.shape[0]):
        x = site[p] + invariant[p]
        site[p] = x
        smallest = min(smallest, x)
        largest = max(largest, x)
    return smallest, largest


@njit(cache=True, nogil=True)
def branch_log_likelihood(cache, c, length):
    """log L of the tree with branch c at ``length`` and every other branch at its cached length (eq. 1)."""
    weights, invariant, rates, cat_weights, values, vectors, inverse = (
        cache.weights, cache.invariant, cache.rates, cache.cat_weights, cache.values, cache.vectors, cache.inverse)
    proposal, proposal_length, lower, above = cache.proposal, cache.proposal_length, cache.lower, cache.above
    lower_scale, above_scale, valid, work = cache.lower_scale, cache.above_scale, cache.valid, cache.work
    _ensure_lower(cache, c)
    _ensure_above(cache, c)
    proposal_length[0] = length
    transition_matrices(proposal_length, values, vectors, inverse, rates, proposal)
    site = work[0]
    _branch_site_likelihoods(proposal, lower, above, c, cat_weights, site)
    total = 0.0
    if not (valid[LOWER_SCALED, c] or valid[ABOVE_SCALED, c]):
        smallest, largest = _add_invariant(site, invariant)
        if smallest >= SMALLEST_NORMAL and largest < np.inf:
            return weighted_log_sum(site, weights, work[1], work[2])
        for p in range(site.shape[0]):
            total += weights[p] * math.log(site[p])
        return total
    for p in range(site.shape[0]):
        scalings = lower_scale[c, p] + above_scale[c, p]
        if scalings == 0:
            log_site = math.log(site[p] + invariant[p])
        elif invariant[p] == 0.0:
            log_site = math.log(site[p]) - scalings * LOG_SCALE_UP
        else:
            log_site = math.log(invariant[p] + site[p] * 2.0 ** (-256.0 * scalings))
        total += weights[p] * log_site
    return total


@njit(cache=True, nogil=True)
def accept_branch(cache, c, length):
    """Set branch c to ``length`` and mark the partials that depend on it stale."""
    parent, first, t, pmats, valid = cache.parent, cache.first, cache.branch_lengths, cache.pmats, cache.valid
    t[c] = length
    transition_matrices(t[c:c + 1], cache.values, cache.vectors, cache.inverse, cache.rates, pmats[c:c + 1])
    u = parent[c]
    while u != -1:
        valid[LOWER, u] = 0
        u = parent[u]
    for v in range(t.shape[0]):
        if not (first[v] <= c <= v):
            valid[ABOVE, v] = 0


@njit(cache=True, nogil=True)
def cached_log_likelihood(cache):
    """log L at the cached branch lengths."""
    return branch_log_likelihood(cache, 0, cache.branch_lengths[0])
