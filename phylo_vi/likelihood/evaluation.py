"""The plan API: log-likelihoods and gradients of a :class:`~phylo_vi.likelihood.plan.Plan`, single
thread, threaded over pattern blocks or samples, and the one entry point from Python (:func:`evaluate`).

Each evaluation computes the transition matrices (:mod:`~phylo_vi.likelihood.transition`), the
messages of the site classes (:mod:`~phylo_vi.likelihood.messages`), then runs the post-order
(:mod:`~phylo_vi.likelihood.postorder`) and, for derivatives, the pre-order
(:mod:`~phylo_vi.likelihood.preorder`) pass block by block.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numba import njit, prange

from phylo_vi.likelihood.messages import class_messages
from phylo_vi.likelihood.plan import Plan
from phylo_vi.likelihood.postorder import block_log_likelihood
from phylo_vi.likelihood.preorder import class_gradients, preorder_block
from phylo_vi.likelihood.transition import transition_matrices

# ----------------------------------------------------------------------------- plan API
# plan: a phylo_vi.likelihood.plan.Plan (build_plan); work arrays carry a leading "buffer" axis: one per
# thread. ``matrices`` selects the buffer holding the transition matrices, ``work`` the partials.


@njit(cache=True, nogil=True)
def _prepare(plan, branch_lengths, matrices, with_classes):
    """Transition matrices of ``branch_lengths`` into buffer ``matrices`` (derivatives of P are
    formed from the rate matrix in the pre-order pass, so none are stored here) and, with
    ``with_classes``, the messages of the site classes (:func:`class_messages`)."""
    transition_matrices(branch_lengths, plan.values, plan.vectors, plan.inverse, plan.rates, plan.pmats[matrices])
    if with_classes and plan.node_classes.shape[0] > 0:
        class_messages(plan.tip_row, plan.node_classes, plan.class_offsets, plan.class_children, plan.class_codes,
                       plan.pmats[matrices], plan.messages[matrices])


@njit(cache=True, nogil=True)
def _blocks(plan, matrices, work, lo_block, hi_block, pattern_out):
    """Sum of the block log-likelihoods of blocks ``lo_block:hi_block``."""
    n_patterns = plan.weights.shape[0]
    block = plan.post.shape[4]
    total = 0.0
    for b in range(lo_block, hi_block):
        lo = b * block
        hi = min(n_patterns, lo + block)
        total += block_log_likelihood(lo, hi, False, plan.node_classes.shape[0] > 0, plan.child_offsets,
                                       plan.child_nodes, plan.tip_row, plan.tips, plan.weights, plan.invariant,
                                       plan.freqs, plan.cat_weights, plan.pmats[matrices], plan.post[work],
                                       plan.up[work], plan.site[work], plan.slot, pattern_out, plan.node_classes,
                                       plan.boundary_row, plan.pattern_class, plan.messages[matrices])[0]
    return total


@njit(cache=True, nogil=True)
def _evaluate(plan, matrices, work, lo_block, hi_block):
    """Sum of the block log-likelihoods of blocks ``lo_block:hi_block`` (after :func:`_prepare`)."""
    return _blocks(plan, matrices, work, lo_block, hi_block, plan.weights[:0])


@njit(cache=True, nogil=True)
def _differentiate(plan, matrices, work, lo_block, hi_block, with_hessian, use_classes, gradient, hessian,
                   category_gradient):
    """Post- and pre-order passes over blocks ``lo_block:hi_block``, accumulating derivatives.

    With ``use_classes`` (after :func:`_prepare` with classes) the weighted pre-order partials
    above compact subtrees are summed by class into ``class_above[work]``, for
    :func:`_finish_class_gradients` after the last block; returns NaN when a block needs
    rescaling (the caller starts over without classes)."""
    weights = plan.weights
    n_patterns = weights.shape[0]
    block = plan.post.shape[4]
    pmats, up, site, class_above = plan.pmats[matrices], plan.up[work], plan.site[work], plan.class_above[work]
    total = 0.0
    if use_classes:
        class_above[:, :, :] = 0.0
    for b in range(lo_block, hi_block):
        lo = b * block
        hi = min(n_patterns, lo + block)
        value, scaled = block_log_likelihood(lo, hi, True, use_classes, plan.child_offsets, plan.child_nodes,
                                              plan.tip_row, plan.tips, weights, plan.invariant, plan.freqs,
                                              plan.cat_weights, pmats, plan.post[work], up, site, plan.slot,
                                              weights[:0], plan.node_classes, plan.boundary_row, plan.pattern_class,
                                              plan.messages[matrices])
        if use_classes and scaled:
            return np.nan
        total += value
        preorder_block(lo, hi, scaled, with_hessian, use_classes, plan.child_offsets, plan.child_nodes, plan.tip_row,
                        weights, plan.freqs, plan.rates, plan.cat_weights, plan.rate_matrix, plan.rate_matrix2, pmats,
                        up, plan.pre[work], site, plan.qt[work], plan.numer[work], gradient, hessian,
                        category_gradient, plan.node_classes, plan.boundary_row, plan.pattern_class, class_above)
    return total


@njit(cache=True, nogil=True)
def _finish_class_gradients(plan, matrices, work, gradient, category_gradient):
    """The gradients of the compact subtrees from ``class_above[work]`` (:func:`class_gradients`)."""
    class_gradients(plan.tip_row, plan.node_classes, plan.class_offsets, plan.class_children, plan.rates,
                     plan.cat_weights, plan.rate_matrix, plan.pmats[matrices], plan.messages[matrices],
                     plan.class_above[work], gradient, category_gradient)


@njit(cache=True, nogil=True)
def n_blocks(plan):
    """Number of pattern blocks of a plan."""
    block = plan.post.shape[4]
    return (plan.weights.shape[0] + block - 1) // block


class GradientWorkspace(NamedTuple):
    """Output buffers of :func:`plan_gradient` for B branches and K rate categories."""

    gradient: np.ndarray           # (B,) d log L / dt
    hessian: np.ndarray            # (B,) d^2 log L / dt^2 (filled only with the Hessian)
    category_gradient: np.ndarray  # (B, K) d log L / d(r_k t)


@njit(cache=True, nogil=True)
def gradient_workspace(plan):
    """Uninitialised :class:`GradientWorkspace` sized for the plan's tree and rate categories."""
    n_branches = plan.tip_row.shape[0] - 1
    return GradientWorkspace(np.empty(n_branches), np.empty(n_branches), np.empty((n_branches, plan.rates.shape[0])))


@njit(cache=True, nogil=True)
def plan_log_likelihood(plan, branch_lengths):
    """log L at ``branch_lengths`` (n_nodes - 1,): single thread, buffer 0."""
    _prepare(plan, branch_lengths, 0, True)
    return _evaluate(plan, 0, 0, 0, n_blocks(plan))


@njit(cache=True, nogil=True)
def _no_derivatives(gradient, hessian, category_gradient):
    """NaN derivatives, for a point where log L = -inf (see :func:`plan_gradient`)."""
    gradient[:] = np.nan
    hessian[:] = np.nan
    category_gradient[:, :] = np.nan


@njit(cache=True, nogil=True)
def plan_gradient(plan, branch_lengths, gradient, hessian, category_gradient, with_hessian):
    """log L at ``branch_lengths``, single thread; fills ``gradient`` (n_nodes - 1,) with d log L / dt,
    ``hessian`` (n_nodes - 1,) with the diagonal d^2 log L / dt^2 (only when ``with_hessian``) and
    ``category_gradient`` (n_nodes - 1, K) with d log L / d(r_k t), so that
    ``gradient = category_gradient @ rates`` and d log L / d r_k = ``t @ category_gradient[:, k]``.
    Without the Hessian, a plan with site classes differentiates compact subtrees per class
    (:func:`class_gradients`) unless a site needs rescaling.

    Where log L = -inf (a site has likelihood 0, e.g. a zero-length branch between different
    states) log L has no derivative: along a branch whose lengthening makes the site possible the
    one-sided derivative is +inf, along the others it is 0/0. The derivatives are then NaN
    (:func:`_no_derivatives`), never a finite number.
    """
    use_classes = not with_hessian and plan.node_classes.shape[0] > 0
    _prepare(plan, branch_lengths, 0, use_classes)
    gradient[:] = 0.0
    hessian[:] = 0.0
    category_gradient[:, :] = 0.0
    value = _differentiate(plan, 0, 0, 0, n_blocks(plan), with_hessian, use_classes, gradient, hessian,
                           category_gradient)
    if use_classes and math.isnan(value):
        gradient[:] = 0.0
        category_gradient[:, :] = 0.0
        value = _differentiate(plan, 0, 0, 0, n_blocks(plan), with_hessian, False, gradient, hessian,
                               category_gradient)
    elif use_classes:
        _finish_class_gradients(plan, 0, 0, gradient, category_gradient)
    if value == -np.inf:
        _no_derivatives(gradient, hessian, category_gradient)
    return value


@njit(cache=True, nogil=True)
def plan_pattern_log_likelihoods(plan, branch_lengths, out):
    """``out[p]`` = log L of pattern p alone (unweighted; +I included); returns the weighted sum."""
    _prepare(plan, branch_lengths, 0, True)
    return _blocks(plan, 0, 0, 0, n_blocks(plan), out)


@njit(cache=True, nogil=True)
def plan_log_likelihood_batch(plan, branch_lengths, out):
    """``out[s]`` = log L at ``branch_lengths[s]`` for every sample s (single thread)."""
    for s in range(branch_lengths.shape[0]):
        out[s] = plan_log_likelihood(plan, branch_lengths[s])


@njit(cache=True, nogil=True)
def plan_gradient_batch(plan, branch_lengths, out, gradients):
    """``out[s]``, ``gradients[s]`` = log L and d log L / dt at ``branch_lengths[s]`` (single thread)."""
    work = gradient_workspace(plan)
    for s in range(branch_lengths.shape[0]):
        out[s] = plan_gradient(plan, branch_lengths[s], gradients[s], work.hessian, work.category_gradient, False)


# ------------------------------------------------------------------------- threaded variants
# One work buffer per thread (the plan's leading buffer axis); compiled on first use only.


@njit(cache=True, nogil=True, parallel=True)
def plan_log_likelihood_threads(plan, branch_lengths):
    """:func:`plan_log_likelihood` with pattern blocks spread over the plan's buffers (threads)."""
    _prepare(plan, branch_lengths, 0, True)
    n_work = plan.post.shape[0]
    total = n_blocks(plan)
    parts = np.zeros(n_work)
    for w in prange(n_work):
        parts[w] = _evaluate(plan, 0, w, w * total // n_work, (w + 1) * total // n_work)
    return parts.sum()


@njit(cache=True, nogil=True, parallel=True)
def _differentiate_threads(plan, with_hessian, use_classes, grads, hessians, categories, parts):
    """:func:`_differentiate` with the pattern blocks spread over the plan's buffers (one per thread)."""
    n_work = plan.post.shape[0]
    total = n_blocks(plan)
    for w in prange(n_work):
        grads[w, :] = 0.0
        hessians[w, :] = 0.0
        categories[w, :, :] = 0.0
        parts[w] = _differentiate(plan, 0, w, w * total // n_work, (w + 1) * total // n_work, with_hessian,
                                  use_classes, grads[w], hessians[w], categories[w])


@njit(cache=True, nogil=True)
def plan_gradient_threads(plan, branch_lengths, gradient, hessian, category_gradient, with_hessian):
    """:func:`plan_gradient` with pattern blocks spread over the plan's buffers (threads); with
    site classes, the class sums of the threads are added before the compact subtrees are finished."""
    use_classes = not with_hessian and plan.node_classes.shape[0] > 0
    _prepare(plan, branch_lengths, 0, use_classes)
    n_work = plan.post.shape[0]
    n_branches = branch_lengths.shape[0]
    grads = np.zeros((n_work, n_branches))
    hessians = np.zeros((n_work, n_branches))
    categories = np.zeros((n_work, n_branches, plan.rates.shape[0]))
    parts = np.zeros(n_work)
    _differentiate_threads(plan, with_hessian, use_classes, grads, hessians, categories, parts)
    if use_classes and np.isnan(parts.sum()):
        use_classes = False
        _differentiate_threads(plan, with_hessian, False, grads, hessians, categories, parts)
    gradient[:] = grads.sum(axis=0)
    hessian[:] = hessians.sum(axis=0)
    category_gradient[:, :] = categories.sum(axis=0)
    if use_classes:
        class_above = plan.class_above
        for w in range(1, n_work):
            class_above[0] += class_above[w]
        _finish_class_gradients(plan, 0, 0, gradient, category_gradient)
    value = parts.sum()
    if value == -np.inf:
        _no_derivatives(gradient, hessian, category_gradient)
    return value


@njit(cache=True, nogil=True, parallel=True)
def plan_log_likelihood_batch_threads(plan, branch_lengths, out):
    """:func:`plan_log_likelihood_batch` with samples spread over the plan's buffers (threads)."""
    n_work = plan.post.shape[0]
    n_samples = branch_lengths.shape[0]
    blocks = n_blocks(plan)
    for w in prange(n_work):
        for s in range(w * n_samples // n_work, (w + 1) * n_samples // n_work):
            _prepare(plan, branch_lengths[s], w, True)
            out[s] = _evaluate(plan, w, w, 0, blocks)


# ------------------------------------------------------------------ entry points from Python
# The arrays of the plan as separate arguments: Numba's dispatcher types top-level arrays in C,
# but a tuple element by element in Python, which would cost more than a small evaluation.
# Branch lengths are checked here (NaN is returned for a negative or non-finite length).


@njit(cache=True, nogil=True)
def valid_lengths(t):
    """True when every entry of ``t`` (any shape, flattened) is finite and non-negative."""
    for x in t.ravel():
        if not (0.0 <= x < np.inf):
            return False
    return True


#: modes of :func:`evaluate`
LOG_LIKELIHOOD, GRADIENT, BATCH, BATCH_GRADIENT, TOPOLOGIES, PATTERNS, TOPOLOGY_GRADIENTS = 0, 1, 2, 3, 4, 5, 6


@njit(cache=True, nogil=True)
def evaluate(mode, t, out, gradients, hessian, category_gradient, with_hessian, topologies, slots,
             a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15, a16, a17, a18, a19, a20, a21,
             a22, a23, a24, a25, a26, a27, a28, a29, a30):
    """Every Python-side evaluation in one compiled function (one compilation, one dispatch).

    ``t`` (S, B); ``out`` (S,); ``gradients`` (S, B); ``hessian`` (B,) and ``category_gradient``
    (B, K) of the last row (``hessian`` only when ``with_hessian``); ``topologies`` (3, S, N + 1) int32 rows: child offsets, child nodes,
    leaf rows (padded) and ``slots`` (S, N) for modes TOPOLOGIES and TOPOLOGY_GRADIENTS (the latter
    also writes d log L / dt of row s into ``gradients[s]``). Mode PATTERNS writes the log L of
    every pattern into ``gradients[s]`` (then shaped (S, P)). Returns False (and computes nothing)
    when a branch length is negative or not finite.
    """
    if not valid_lengths(t):
        return False
    plan = Plan(a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15, a16, a17, a18, a19, a20, a21,
                a22, a23, a24, a25, a26, a27, a28, a29, a30)
    n_nodes = plan.tip_row.shape[0]
    for s in range(t.shape[0]):
        if mode == LOG_LIKELIHOOD or mode == BATCH:
            out[s] = plan_log_likelihood(plan, t[s])
        elif mode == TOPOLOGIES or mode == TOPOLOGY_GRADIENTS:
            # the plan's site classes belong to its own topology: none for the others
            tree_plan = Plan(topologies[0, s], topologies[1, s, :n_nodes - 1], topologies[2, s, :n_nodes], a3, a4, a5,
                             a6, a7, a8, a9, a10, a11, a12, a13, a14, a15, a16, a17, a18, a19, a20, a21, slots[s],
                             a23[:0], a24, a25, a26, a27, a28, a29, a30)
            if mode == TOPOLOGIES:
                out[s] = plan_log_likelihood(tree_plan, t[s])
            else:
                out[s] = plan_gradient(tree_plan, t[s], gradients[s], hessian, category_gradient, with_hessian)
        elif mode == PATTERNS:
            out[s] = plan_pattern_log_likelihoods(plan, t[s], gradients[s])
        else:
            out[s] = plan_gradient(plan, t[s], gradients[s], hessian, category_gradient, with_hessian)
    return True
