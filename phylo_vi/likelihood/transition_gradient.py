"""d log L / d P_bk: the derivative of log L in every entry of every transition matrix, from one
post-order and one pre-order pass (Numba).

log L is linear in each transition matrix: with ``qt_bk,p`` the pre-order partial above branch b
(category k, pattern p; Ji et al. 2020, Mol. Biol. Evol. 37:3047, eq. 7) and ``x_bk,p`` the
post-order partial below it (the tip's indicator vector at a leaf), the tree part of the site
likelihood is ``sum_k w_k qt_bk,p^T P_bk x_bk,p`` for every b, so::

    d log L / d P_bk[i, j] = w_k sum_p (w_p / L_p) qt_bk,p[i] x_bk,p[j]            (B, K, 4, 4)

Any parameter theta of the rate matrix then has ``d log L / d theta = sum_bk <d log L / d P_bk,
d P_bk / d theta>`` (:mod:`phylo_vi.likelihood.rate_matrix_gradient`). The same pass gives the
derivative in the root frequencies (the root vector, ``sum_p (w_p / L_p) sum_k w_k p_root,k,p``,
(4,)) and the share of +I in every pattern's likelihood, ``p_inv I_p / L_p`` (P,; ``I_p`` of
:mod:`phylo_vi.likelihood.model_gradient`), for the frequency and p_inv derivatives of the invariant
part.

**Site classes** (:mod:`phylo_vi.likelihood.site_repeats`), as in the branch gradient
(:func:`phylo_vi.likelihood.preorder.class_gradients`): the pass runs by pattern blocks over the
dense nodes only; above a compact branch c it sums the weighted pre-order partials by class,
``A_c[r] = sum_(p in r) (w_p / L_p) qt_c,p``, and after the last block the compact subtrees are
finished per class, parents before children: ``d log L / d P_ck = w_k sum_r A_c[r, k] x_c[r, k]^T``
with ``x_c[r]`` the product of the children's class messages (the code's indicator at a leaf),
and ``A`` carried down to the children by the recursion of Ji et al. (eqs. 7-8).

Rescaled blocks (:mod:`phylo_vi.likelihood.postorder`): ``w_p / L_p`` is formed per branch as the
tree fraction of the site over ``sum_k w_k qt^T m_c`` in the scale of the rescaled partials, as in
:func:`phylo_vi.likelihood.preorder.preorder_block`; the partial below an internal branch is the
product of its children's messages rescaled by its maximum, exactly the partial the post-order
pass sent up. A block that needs rescaling makes the pass start over without site classes.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from phylo_vi.likelihood.evaluation import _prepare, n_blocks
from phylo_vi.likelihood.messages import multiply_messages
from phylo_vi.likelihood.plan import Plan
from phylo_vi.likelihood.postorder import block_log_likelihood, rescale
from phylo_vi.likelihood.preorder import (_class_above_children, _product_above, _site_ratios, _sum_by_class,
                                          _transposed_message)
from phylo_vi.likelihood.transition import HOT


@njit(cache=True, nogil=True, fastmath=True)
def _add_outer_partial(qt, k, below, d, weighted, nb, wk, out, c):
    """``out[c, k, i, j] += wk sum_p weighted[p] qt[0, k, i, p] below[d, k, j, p]`` (reassociated,
    vectorised: sixteen running sums)."""
    s00 = s01 = s02 = s03 = s10 = s11 = s12 = s13 = 0.0
    s20 = s21 = s22 = s23 = s30 = s31 = s32 = s33 = 0.0
    for p in range(nb):
        w = weighted[p]
        q0, q1, q2, q3 = w * qt[0, k, 0, p], w * qt[0, k, 1, p], w * qt[0, k, 2, p], w * qt[0, k, 3, p]
        x0, x1, x2, x3 = below[d, k, 0, p], below[d, k, 1, p], below[d, k, 2, p], below[d, k, 3, p]
        s00 += q0 * x0
        s01 += q0 * x1
        s02 += q0 * x2
        s03 += q0 * x3
        s10 += q1 * x0
        s11 += q1 * x1
        s12 += q1 * x2
        s13 += q1 * x3
        s20 += q2 * x0
        s21 += q2 * x1
        s22 += q2 * x2
        s23 += q2 * x3
        s30 += q3 * x0
        s31 += q3 * x1
        s32 += q3 * x2
        s33 += q3 * x3
    _add_square(out, c, k, wk, s00, s01, s02, s03, s10, s11, s12, s13, s20, s21, s22, s23, s30, s31, s32, s33)


@njit(cache=True, nogil=True, fastmath=True)
def _add_outer_tip(qt, k, tips, row, lo, weighted, nb, wk, out, c):
    """As :func:`_add_outer_partial` with the tip indicators ``tips[row, j, lo + p]`` below."""
    s00 = s01 = s02 = s03 = s10 = s11 = s12 = s13 = 0.0
    s20 = s21 = s22 = s23 = s30 = s31 = s32 = s33 = 0.0
    start = np.uintp(lo)
    for p in range(nb):
        q = start + np.uintp(p)
        w = weighted[p]
        q0, q1, q2, q3 = w * qt[0, k, 0, p], w * qt[0, k, 1, p], w * qt[0, k, 2, p], w * qt[0, k, 3, p]
        x0, x1, x2, x3 = (np.float64(tips[row, 0, q]), np.float64(tips[row, 1, q]), np.float64(tips[row, 2, q]),
                          np.float64(tips[row, 3, q]))
        s00 += q0 * x0
        s01 += q0 * x1
        s02 += q0 * x2
        s03 += q0 * x3
        s10 += q1 * x0
        s11 += q1 * x1
        s12 += q1 * x2
        s13 += q1 * x3
        s20 += q2 * x0
        s21 += q2 * x1
        s22 += q2 * x2
        s23 += q2 * x3
        s30 += q3 * x0
        s31 += q3 * x1
        s32 += q3 * x2
        s33 += q3 * x3
    _add_square(out, c, k, wk, s00, s01, s02, s03, s10, s11, s12, s13, s20, s21, s22, s23, s30, s31, s32, s33)


@njit(**HOT)
def _add_square(out, c, k, wk, s00, s01, s02, s03, s10, s11, s12, s13, s20, s21, s22, s23, s30, s31, s32, s33):
    """``out[c, k] += wk * [[s00 .. s03], .., [s30 .. s33]]``."""
    out[c, k, 0, 0] += wk * s00
    out[c, k, 0, 1] += wk * s01
    out[c, k, 0, 2] += wk * s02
    out[c, k, 0, 3] += wk * s03
    out[c, k, 1, 0] += wk * s10
    out[c, k, 1, 1] += wk * s11
    out[c, k, 1, 2] += wk * s12
    out[c, k, 1, 3] += wk * s13
    out[c, k, 2, 0] += wk * s20
    out[c, k, 2, 1] += wk * s21
    out[c, k, 2, 2] += wk * s22
    out[c, k, 2, 3] += wk * s23
    out[c, k, 3, 0] += wk * s30
    out[c, k, 3, 1] += wk * s31
    out[c, k, 3, 2] += wk * s32
    out[c, k, 3, 3] += wk * s33


@njit(**HOT)
def _tree_denominator(qt, up, c, cat_weights, nb, den):
    """``den[p] = sum_k w_k qt[0, k, :, p] . up[c, k, :, p]``: the tree likelihood in the scale of a
    rescaled block."""
    for p in range(nb):
        den[p] = 0.0
    for k in range(cat_weights.shape[0]):
        wk = cat_weights[k]
        for p in range(nb):
            den[p] += wk * (qt[0, k, 0, p] * up[c, k, 0, p] + qt[0, k, 1, p] * up[c, k, 1, p]
                            + qt[0, k, 2, p] * up[c, k, 2, p] + qt[0, k, 3, p] * up[c, k, 3, p])


@njit(cache=True, nogil=True)
def _root_block(lo, nb, scaled, weights, freqs, cat_weights, root_partial, site, root_gradient, invariant_share):
    """``root_gradient[i] += sum_p (w_p / L_p) sum_k w_k root_partial[k, i, p]`` and
    ``invariant_share[lo + p] = 1 - tree fraction`` (``p_inv I_p / L_p``); leaves ``site[5]``, ``site[6]``
    at the unscaled ratios when the block is not rescaled."""
    fraction, tree, ratio, weighted, den = site[1], site[2], site[5], site[6], site[8]
    if scaled:
        for p in range(nb):
            den[p] = 0.0
        for k in range(cat_weights.shape[0]):
            for i in range(4):
                wf = cat_weights[k] * freqs[i]
                for p in range(nb):
                    den[p] += wf * root_partial[k, i, p]
        _site_ratios(lo, nb, weights, fraction, den, ratio, weighted)
    else:
        _site_ratios(lo, nb, weights, fraction, tree, ratio, weighted)
    for p in range(nb):
        invariant_share[lo + p] = 1.0 - fraction[p]
    for k in range(cat_weights.shape[0]):
        for i in range(4):
            total = 0.0
            for p in range(nb):
                total += weighted[p] * root_partial[k, i, p]
            root_gradient[i] += cat_weights[k] * total


@njit(cache=True, nogil=True)
def _preorder_block(lo, nb, scaled, use_classes, plan, work, gradient):
    """Pre-order pass over one block after its post-order (``store_up``): accumulate
    ``d log L / d P_bk`` of every dense branch into ``gradient``; with ``use_classes`` the weighted
    pre-order partials above compact branches go to ``class_above[work]`` by class."""
    child_offsets, child_nodes, tip_row = plan.child_offsets, plan.child_nodes, plan.tip_row
    cat_weights, pmats = plan.cat_weights, plan.pmats[0]
    up, pre, site, qt, post = plan.up[work], plan.pre[work], plan.site[work], plan.qt[work], plan.post[work]
    n_nodes = tip_row.shape[0]
    root = n_nodes - 1
    below = np.intp(plan.slot[root])          # the root's partial is consumed: its slot is scratch now
    fraction, ratio, weighted, den = site[1], site[5], site[6], site[8]
    for k in range(cat_weights.shape[0]):
        for i in range(4):
            for p in range(nb):
                pre[root, k, i, p] = plan.freqs[i]
    for u in range(root, -1, -1):
        if use_classes and plan.node_classes[u] > 0:
            continue
        first = child_offsets[u]
        last = child_offsets[u + 1]
        for ci in range(first, last):
            c = child_nodes[ci]
            row = tip_row[c]
            for k in range(cat_weights.shape[0]):
                _product_above(pre, u, up, child_nodes, first, last, ci, k, nb, qt)
            if use_classes and plan.boundary_row[c] >= 0:
                for k in range(cat_weights.shape[0]):
                    _sum_by_class(qt, k, weighted, plan.pattern_class, plan.boundary_row[c], lo, nb,
                                  plan.class_above[work])
                continue
            if scaled:
                _tree_denominator(qt, up, c, cat_weights, nb, den)
                _site_ratios(lo, nb, plan.weights, fraction, den, ratio, weighted)
            if row < 0:
                multiply_messages(up, child_nodes, child_offsets[c], child_offsets[c + 1], nb, post, below)
                if scaled:
                    rescale(post[below], nb, site[0][:0])
            for k in range(cat_weights.shape[0]):
                if row >= 0:
                    _add_outer_tip(qt, k, plan.tips, row, lo, weighted, nb, cat_weights[k], gradient, c)
                else:
                    _add_outer_partial(qt, k, post, below, weighted, nb, cat_weights[k], gradient, c)
                    _transposed_message(pmats, c, k, qt, nb, pre)
            if scaled and row < 0:
                rescale(pre[c], nb, site[0][:0])


@njit(cache=True, nogil=True)
def _class_transition_gradients(plan, work, gradient):
    """``d log L / d P_ck`` of every compact branch c from the class sums ``A = class_above[work]``
    (module docstring), parents before children."""
    node_classes, class_children, class_codes = plan.node_classes, plan.class_children, plan.class_codes
    messages, class_above, cat_weights = plan.messages[0], plan.class_above[work], plan.cat_weights
    below = np.empty(4)
    total = np.empty((4, 4))
    for u in range(node_classes.shape[0] - 1, -1, -1):
        n = node_classes[u]
        if n == 0:
            continue
        start = plan.class_offsets[u]
        leaf = plan.tip_row[u] >= 0
        for k in range(cat_weights.shape[0]):
            total[:, :] = 0.0
            for r in range(start, start + n):
                if leaf:
                    for j in range(4):
                        below[j] = np.float64((class_codes[r] >> j) & 1)
                else:
                    a, b = class_children[r, 0], class_children[r, 1]
                    for j in range(4):
                        below[j] = messages[a, k, j] * messages[b, k, j]
                for i in range(4):
                    for j in range(4):
                        total[i, j] += class_above[r, k, i] * below[j]
            for i in range(4):
                for j in range(4):
                    gradient[u, k, i, j] += cat_weights[k] * total[i, j]
            if not leaf:
                _class_above_children(plan.pmats[0], u, k, class_children, start, n, messages, class_above)


@njit(cache=True, nogil=True)
def _transition_gradient_blocks(plan, work, lo_block, hi_block, use_classes, gradient, root_gradient,
                                invariant_share):
    """Both passes over blocks ``lo_block:hi_block`` with work buffer ``work`` (after the transition
    matrices, and with ``use_classes`` the class messages, are in buffer 0); returns their
    log-likelihood, or NaN when a block needs rescaling with ``use_classes``."""
    n_patterns = plan.weights.shape[0]
    block = plan.post.shape[4]
    pmats, site = plan.pmats[0], plan.site[work]
    gradient[:] = 0.0
    root_gradient[:] = 0.0
    if use_classes:
        plan.class_above[work][:] = 0.0
    total = 0.0
    for b in range(lo_block, hi_block):
        lo = b * block
        hi = min(n_patterns, lo + block)
        value, scaled = block_log_likelihood(lo, hi, True, use_classes, plan.child_offsets, plan.child_nodes,
                                             plan.tip_row, plan.tips, plan.weights, plan.invariant, plan.freqs,
                                             plan.cat_weights, pmats, plan.post[work], plan.up[work], site, plan.slot,
                                             plan.weights[:0], plan.node_classes, plan.boundary_row,
                                             plan.pattern_class, plan.messages[0])
        if use_classes and scaled:
            return np.nan
        total += value
        root_partial = plan.post[work][plan.slot[plan.tip_row.shape[0] - 1]]
        _root_block(lo, hi - lo, scaled, plan.weights, plan.freqs, plan.cat_weights, root_partial, site,
                    root_gradient, invariant_share)
        _preorder_block(lo, hi - lo, scaled, use_classes, plan, work, gradient)
    return total


@njit(cache=True, nogil=True, parallel=True)
def _transition_gradient_threads(plan, use_classes, gradients, roots, invariant_share, parts):
    """:func:`_transition_gradient_blocks` with the blocks spread over the plan's work buffers."""
    n_work = plan.post.shape[0]
    total = n_blocks(plan)
    for w in prange(n_work):
        parts[w] = _transition_gradient_blocks(plan, w, w * total // n_work, (w + 1) * total // n_work, use_classes,
                                               gradients[w], roots[w], invariant_share)


@njit(cache=True, nogil=True)
def _passes(plan, use_classes, gradient, root_gradient, invariant_share):
    """Both passes over every block (work buffer 0) and, with ``use_classes``, the compact subtrees
    after them; NaN when a block needs rescaling with ``use_classes``."""
    value = _transition_gradient_blocks(plan, 0, 0, n_blocks(plan), use_classes, gradient, root_gradient,
                                        invariant_share)
    if use_classes and not np.isnan(value):
        _class_transition_gradients(plan, 0, gradient)
    return value


@njit(cache=True, nogil=True)
def _passes_threads(plan, use_classes, gradient, root_gradient, invariant_share):
    """:func:`_passes` with the blocks spread over the plan's work buffers (the class sums of the
    threads added before the compact subtrees are finished)."""
    n_work = plan.post.shape[0]
    gradients = np.empty((n_work,) + gradient.shape)
    roots = np.empty((n_work, 4))
    parts = np.empty(n_work)
    _transition_gradient_threads(plan, use_classes, gradients, roots, invariant_share, parts)
    gradient[:] = gradients.sum(axis=0)
    root_gradient[:] = roots.sum(axis=0)
    value = parts.sum()
    if use_classes and not np.isnan(value):
        for w in range(1, n_work):
            plan.class_above[0] += plan.class_above[w]
        _class_transition_gradients(plan, 0, gradient)
    return value


# The entry points from Python take the plan's arrays one by one (as
# :func:`phylo_vi.likelihood.evaluation.evaluate`); the single-thread one does not reference the
# parallel kernel, so that loading it from the cache does not start Numba's threading layer.

@njit(cache=True, nogil=True)
def transition_gradient(t, gradient, root_gradient, invariant_share,
                        a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15, a16, a17, a18, a19, a20,
                        a21, a22, a23, a24, a25, a26, a27, a28, a29, a30):
    """log L at branch lengths ``t`` (B,); fills ``gradient`` (B, K, 4, 4) with d log L / d P_bk,
    ``root_gradient`` (4,) with the derivative in the root frequencies and ``invariant_share`` (P,)
    with ``p_inv I_p / L_p`` (module docstring). A non-finite or negative length gives NaN."""
    for x in t:
        if not (0.0 <= x < np.inf):
            return np.nan
    plan = Plan(a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15, a16, a17, a18, a19, a20, a21,
                a22, a23, a24, a25, a26, a27, a28, a29, a30)
    use_classes = plan.node_classes.shape[0] > 0
    _prepare(plan, t, 0, use_classes)
    value = _passes(plan, use_classes, gradient, root_gradient, invariant_share)
    if use_classes and np.isnan(value):
        value = _passes(plan, False, gradient, root_gradient, invariant_share)
    return value


@njit(cache=True, nogil=True)
def transition_gradient_threads(t, gradient, root_gradient, invariant_share,
                                a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15, a16, a17, a18,
                                a19, a20, a21, a22, a23, a24, a25, a26, a27, a28, a29, a30):
    """:func:`transition_gradient` with the pattern blocks spread over the plan's work buffers."""
    for x in t:
        if not (0.0 <= x < np.inf):
            return np.nan
    plan = Plan(a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15, a16, a17, a18, a19, a20, a21,
                a22, a23, a24, a25, a26, a27, a28, a29, a30)
    use_classes = plan.node_classes.shape[0] > 0
    _prepare(plan, t, 0, use_classes)
    value = _passes_threads(plan, use_classes, gradient, root_gradient, invariant_share)
    if use_classes and np.isnan(value):
        value = _passes_threads(plan, False, gradient, root_gradient, invariant_share)
    return value
