"""Pre-order pass over one block of patterns: d log L / dt (and d^2) of every branch (Ji et al. 2020).

Ji et al. (2020, Mol. Biol. Evol. 37:3047, eqs. 6-10): the pre-order partial above branch c is
``qt_c = q_u * prod_{s != c} m_s`` (``q_root = pi``), below it ``q_c = P_c^T qt_c``, and
``dL_k/d tau = qt_c^T Q m_c``, ``d^2 L_k/d tau^2 = qt_c^T Q^2 m_c`` with ``tau = r_k t``.
Compact subtrees of site classes are finished per class (:func:`class_gradients`).
"""
from __future__ import annotations

import numpy as np
from numba import njit

from phylo_vi.likelihood.messages import message_of_product, normalised_product
from phylo_vi.likelihood.postorder import rescale
from phylo_vi.likelihood.transition import HOT, matrix_entries, square_entries


@njit(**HOT)
def _quadratic_form(qt, k, matrix, up, c, nb, out, o):
    """``out[o, p] = qt[0, k, :, p] @ matrix @ up[c, k, :, p]`` (4 states, patterns vectorised)."""
    (a00, a01, a02, a03, a10, a11, a12, a13,
     a20, a21, a22, a23, a30, a31, a32, a33) = square_entries(matrix)
    for p in range(nb):
        m0, m1, m2, m3 = up[c, k, 0, p], up[c, k, 1, p], up[c, k, 2, p], up[c, k, 3, p]
        out[o, p] = (qt[0, k, 0, p] * (a00 * m0 + a01 * m1 + a02 * m2 + a03 * m3)
                     + qt[0, k, 1, p] * (a10 * m0 + a11 * m1 + a12 * m2 + a13 * m3)
                     + qt[0, k, 2, p] * (a20 * m0 + a21 * m1 + a22 * m2 + a23 * m3)
                     + qt[0, k, 3, p] * (a30 * m0 + a31 * m1 + a32 * m2 + a33 * m3))


@njit(cache=True, nogil=True, fastmath=True)
def _weighted_sum(a, b, row, nb):
    """``sum_p a[p] b[row, p]`` (reassociated, vectorised)."""
    total = 0.0
    for p in range(nb):
        total += a[p] * b[row, p]
    return total


@njit(**HOT)
def _site_ratios(lo, nb, weights, fraction, den, ratio, weighted):
    """``ratio = fraction / den`` (0 where den = 0) and ``weighted = weights * ratio``."""
    for p in range(nb):
        r = fraction[p] / den[p] if den[p] > 0.0 else 0.0
        ratio[p] = r
        weighted[p] = weights[lo + p] * r


@njit(**HOT)
def _product_above(pre, u, up, child_nodes, first, last, ci, k, nb, qt):
    """``qt[0, k] = pre[u, k] * prod_{s != c} up[s, k]``: the pre-order partial above the branch of
    child ``child_nodes[ci]`` of node u, stored (multifurcations, rescaled blocks, Hessians, compact
    children)."""
    for i in range(4):
        for p in range(nb):
            qt[0, k, i, p] = pre[u, k, i, p]
        for si in range(first, last):
            if si != ci:
                sibling = child_nodes[si]
                for p in range(nb):
                    qt[0, k, i, p] *= up[sibling, k, i, p]


@njit(**HOT)
def _normalised_product_above(pre, u, up, child_nodes, first, last, ci, nb, qt, factor):
    """``qt[0] = pre[u] * prod_{s != c} up[s]`` for every category up to a factor per pattern, a
    chain of normalised products (:func:`~phylo_vi.likelihood.messages.normalised_product`) so
    that no entry that counts underflows (rescaled blocks). The gradient is a ratio of two sums
    linear in ``qt``, which the factor leaves unchanged."""
    source, row = pre, np.intp(u)
    for si in range(first, last):
        if si != ci:
            normalised_product(source, row, up, np.intp(child_nodes[si]), nb, qt, 0, factor, factor[:0])
            source, row = qt, np.intp(0)


@njit(**HOT)
def _binary_numerator(pre, u, up, sibling, c, k, matrix, nb, numer, wk):
    """``numer[k] = w_k (pre[u, k] * up[sibling, k])^T matrix up[c, k]``: the gradient numerator of
    branch c below a binary node u, with the pre-order partial above c formed in registers (a
    loop with one output stream runs at about twice the speed of one that also stores it)."""
    (a00, a01, a02, a03, a10, a11, a12, a13,
     a20, a21, a22, a23, a30, a31, a32, a33) = square_entries(matrix)
    for p in range(nb):
        q0 = pre[u, k, 0, p] * up[sibling, k, 0, p]
        q1 = pre[u, k, 1, p] * up[sibling, k, 1, p]
        q2 = pre[u, k, 2, p] * up[sibling, k, 2, p]
        q3 = pre[u, k, 3, p] * up[sibling, k, 3, p]
        m0, m1, m2, m3 = up[c, k, 0, p], up[c, k, 1, p], up[c, k, 2, p], up[c, k, 3, p]
        numer[k, p] = wk * (q0 * (a00 * m0 + a01 * m1 + a02 * m2 + a03 * m3)
                            + q1 * (a10 * m0 + a11 * m1 + a12 * m2 + a13 * m3)
                            + q2 * (a20 * m0 + a21 * m1 + a22 * m2 + a23 * m3)
                            + q3 * (a30 * m0 + a31 * m1 + a32 * m2 + a33 * m3))


@njit(**HOT)
def _numerator(qt, k, matrix, up, c, nb, numer, wk):
    """``numer[k] = w_k qt^T matrix m_c`` from a stored pre-order partial ``qt`` (patterns vectorised)."""
    (a00, a01, a02, a03, a10, a11, a12, a13,
     a20, a21, a22, a23, a30, a31, a32, a33) = square_entries(matrix)
    for p in range(nb):
        m0, m1, m2, m3 = up[c, k, 0, p], up[c, k, 1, p], up[c, k, 2, p], up[c, k, 3, p]
        numer[k, p] = wk * (qt[0, k, 0, p] * (a00 * m0 + a01 * m1 + a02 * m2 + a03 * m3)
                            + qt[0, k, 1, p] * (a10 * m0 + a11 * m1 + a12 * m2 + a13 * m3)
                            + qt[0, k, 2, p] * (a20 * m0 + a21 * m1 + a22 * m2 + a23 * m3)
                            + qt[0, k, 3, p] * (a30 * m0 + a31 * m1 + a32 * m2 + a33 * m3))


@njit(**HOT)
def _transposed_message(pmats, c, k, qt, nb, pre):
    """``pre[c, k, :, p] = pmats[c, k]^T @ qt[0, k, :, p]``: the pre-order partial below a branch."""
    (p00, p01, p02, p03, p10, p11, p12, p13,
     p20, p21, p22, p23, p30, p31, p32, p33) = matrix_entries(pmats, c, k, False)
    for p in range(nb):
        q0, q1, q2, q3 = qt[0, k, 0, p], qt[0, k, 1, p], qt[0, k, 2, p], qt[0, k, 3, p]
        pre[c, k, 0, p] = p00 * q0 + p10 * q1 + p20 * q2 + p30 * q3
        pre[c, k, 1, p] = p01 * q0 + p11 * q1 + p21 * q2 + p31 * q3
        pre[c, k, 2, p] = p02 * q0 + p12 * q1 + p22 * q2 + p32 * q3
        pre[c, k, 3, p] = p03 * q0 + p13 * q1 + p23 * q2 + p33 * q3


@njit(**HOT)
def _add_to_class(class_above, r, k, s0, s1, s2, s3):
    """``class_above[r, k] += (s0, s1, s2, s3)``."""
    class_above[r, k, 0] += s0
    class_above[r, k, 1] += s1
    class_above[r, k, 2] += s2
    class_above[r, k, 3] += s3


@njit(**HOT)
def _sum_by_class(qt, k, weighted, pattern_class, row, lo, nb, class_above):
    """``class_above[r, k] += sum over the block's patterns p of class r of weighted[p] qt[0, k, :, p]``.

    Runs of patterns of one class (common: patterns are sorted) are summed in registers, so
    consecutive updates of one class do not wait on each other through memory."""
    start = np.uintp(lo)
    current = np.intp(pattern_class[row, start])
    s0 = s1 = s2 = s3 = 0.0
    for p in range(nb):
        r = np.intp(pattern_class[row, start + np.uintp(p)])
        if r != current:
            _add_to_class(class_above, current, k, s0, s1, s2, s3)
            current = r
            s0 = s1 = s2 = s3 = 0.0
        w = weighted[p]
        s0 += w * qt[0, k, 0, p]
        s1 += w * qt[0, k, 1, p]
        s2 += w * qt[0, k, 2, p]
        s3 += w * qt[0, k, 3, p]
    _add_to_class(class_above, current, k, s0, s1, s2, s3)


@njit(**HOT)
def _class_above_children(pmats, u, k, class_children, start, n, messages, class_above):
    """For the classes r of a compact node u: ``B = P_u^T class_above[r, k]``, then
    ``class_above[a_r, k] += messages[b_r, k] * B`` and ``class_above[b_r, k] += messages[a_r, k] * B``.

    Classes are numbered in the order of (a_r, b_r), so runs of one a_r are summed in registers
    (consecutive updates of one row would otherwise wait on each other through memory)."""
    t00, t01, t02, t03, t10, t11, t12, t13, t20, t21, t22, t23, t30, t31, t32, t33 = matrix_entries(pmats, u, k, True)
    current = np.intp(class_children[start, 0])
    s0 = s1 = s2 = s3 = 0.0
    for r in range(start, start + n):
        x0, x1, x2, x3 = class_above[r, k, 0], class_above[r, k, 1], class_above[r, k, 2], class_above[r, k, 3]
        b0 = t00 * x0 + t01 * x1 + t02 * x2 + t03 * x3
        b1 = t10 * x0 + t11 * x1 + t12 * x2 + t13 * x3
        b2 = t20 * x0 + t21 * x1 + t22 * x2 + t23 * x3
        b3 = t30 * x0 + t31 * x1 + t32 * x2 + t33 * x3
        a, b = np.intp(class_children[r, 0]), np.intp(class_children[r, 1])
        if a != current:
            _add_to_class(class_above, current, k, s0, s1, s2, s3)
            current = a
            s0 = s1 = s2 = s3 = 0.0
        s0 += messages[b, k, 0] * b0
        s1 += messages[b, k, 1] * b1
        s2 += messages[b, k, 2] * b2
        s3 += messages[b, k, 3] * b3
        class_above[b, k, 0] += messages[a, k, 0] * b0
        class_above[b, k, 1] += messages[a, k, 1] * b1
        class_above[b, k, 2] += messages[a, k, 2] * b2
        class_above[b, k, 3] += messages[a, k, 3] * b3
    _add_to_class(class_above, current, k, s0, s1, s2, s3)


@njit(cache=True, nogil=True)
def class_gradients(tip_row, node_classes, class_offsets, class_children, rates, cat_weights, rate_matrix, pmats,
                     messages, class_above, gradient, category_gradient):
    """Gradient of every branch with site classes, parents before children, from the weighted
    pre-order partials summed by class, ``A_c[r] = sum_{p in r} (w_p / L_p) qt_c,p``.

    Everything in the gradient is linear in ``qt`` once the weights w_p / L_p are fixed, so
    ``d log L / d(r_k t_c) = w_k sum_r A_c[r, k]^T Q M_c[r, k]`` (M_c = ``messages``, the class
    messages P_c p_c), and for the children a, b of a compact node u with class r made of
    classes a_r and b_r, ``A_a[a_r] += M_b[b_r] * P_u^T A_u[r]`` (and symmetrically): the
    recursion of Ji et al. (2020, eqs. 7-8) summed over the patterns of each class.
    """
    (q00, q01, q02, q03, q10, q11, q12, q13,
     q20, q21, q22, q23, q30, q31, q32, q33) = square_entries(rate_matrix)
    for u in range(node_classes.shape[0] - 1, -1, -1):
        n = node_classes[u]
        if n == 0:
            continue
        start = class_offsets[u]
        for k in range(rates.shape[0]):
            total = 0.0
            for r in range(start, start + n):
                m0, m1, m2, m3 = messages[r, k, 0], messages[r, k, 1], messages[r, k, 2], messages[r, k, 3]
                total += (class_above[r, k, 0] * (q00 * m0 + q01 * m1 + q02 * m2 + q03 * m3)
                          + class_above[r, k, 1] * (q10 * m0 + q11 * m1 + q12 * m2 + q13 * m3)
                          + class_above[r, k, 2] * (q20 * m0 + q21 * m1 + q22 * m2 + q23 * m3)
                          + class_above[r, k, 3] * (q30 * m0 + q31 * m1 + q32 * m2 + q33 * m3))
            category = cat_weights[k] * total
            category_gradient[u, k] += category
            gradient[u] += rates[k] * category
            if tip_row[u] < 0:
                _class_above_children(pmats, u, k, class_children, start, n, messages, class_above)


@njit(cache=True, nogil=True)
def preorder_block(lo, hi, scaled, with_hessian, use_classes, child_offsets, child_nodes, tip_row, weights, freqs,
                    rates, cat_weights, rate_matrix, rate_matrix2, pmats, up, pre, site, qt, numer, gradient, hessian,
                    category_gradient, node_classes, boundary_row, pattern_class, class_above):
    """Pre-order pass over patterns ``lo:hi``: accumulate d log L / dt (and d^2) for every branch.

    With ``use_classes`` only dense nodes are visited; the pre-order partial above a compact
    child c, weighted by w_p / L_p, is summed into ``class_above`` by the class of each pattern,
    and :func:`class_gradients` finishes the compact subtrees after the last block.

    Scratch: ``qt`` (1, K, 4, block) = pre-order partial above the branch (stored only below
    multifurcations, in rescaled blocks and for the Hessian; otherwise it is formed in registers);
    ``numer`` (K, block); in rescaled blocks ``qt`` is a normalised product
    (:func:`_normalised_product_above`), known up to a factor per pattern;
    ``site`` rows: 1 tree fractions and 2 tree likelihoods (from the root), 3 d1, 4 d2,
    5 ratio = fraction / den, 6 weights * ratio, 7 work, 8 den. Unscaled blocks use the root's
    tree likelihood as the denominator of every branch; scaled blocks recompute it per branch
    (``qt^T m``, in the scale of the rescaled partials). ``pre[root]`` holds ``pi``.
    """
    n_nodes = tip_row.shape[0]
    root = n_nodes - 1
    n_categories = rates.shape[0]
    nb = hi - lo
    fraction, tree, d1, d2, ratio, weighted, den = site[1], site[2], site[3], site[4], site[5], site[6], site[8]
    if not scaled:
        _site_ratios(lo, nb, weights, fraction, tree, ratio, weighted)
    for k in range(n_categories):
        for i in range(4):
            for p in range(nb):
                pre[root, k, i, p] = freqs[i]
    for u in range(root, -1, -1):
        first = child_offsets[u]
        last = child_offsets[u + 1]
        if first == last or use_classes and node_classes[u] > 0:
            continue
        stored = scaled or with_hessian or last - first != 2
        for ci in range(first, last):
            c = child_nodes[ci]
            internal = tip_row[c] < 0
            sibling = child_nodes[first] if ci == first + 1 else child_nodes[first + 1]
            if use_classes and boundary_row[c] >= 0:
                for k in range(n_categories):
                    _product_above(pre, u, up, child_nodes, first, last, ci, k, nb, qt)
                    _sum_by_class(qt, k, weighted, pattern_class, boundary_row[c], lo, nb, class_above)
                continue
            if scaled:
                _normalised_product_above(pre, u, up, child_nodes, first, last, ci, nb, qt, site[7])
            for k in range(n_categories):
                if stored:
                    if not scaled:
                        _product_above(pre, u, up, child_nodes, first, last, ci, k, nb, qt)
                    _numerator(qt, k, rate_matrix, up, c, nb, numer, cat_weights[k])
                    if internal:
                        _transposed_message(pmats, c, k, qt, nb, pre)
                else:
                    _binary_numerator(pre, u, up, sibling, c, k, rate_matrix, nb, numer, cat_weights[k])
                    if internal:
                        message_of_product(pmats, c, k, True, pre, u, up, sibling, nb, pre, c)
            if scaled:
                for p in range(nb):
                    den[p] = 0.0
                for k in range(n_categories):
                    wk = cat_weights[k]
                    for p in range(nb):
                        den[p] += wk * (qt[0, k, 0, p] * up[c, k, 0, p] + qt[0, k, 1, p] * up[c, k, 1, p]
                                        + qt[0, k, 2, p] * up[c, k, 2, p] + qt[0, k, 3, p] * up[c, k, 3, p])
                _site_ratios(lo, nb, weights, fraction, den, ratio, weighted)
                if internal:
                    rescale(pre[c], nb, site[0][:0])
            for k in range(n_categories):
                category = _weighted_sum(weighted, numer, k, nb)
                category_gradient[c, k] += category
                gradient[c] += rates[k] * category
            if with_hessian:
                for p in range(nb):
                    d1[p] = 0.0
                    d2[p] = 0.0
                for k in range(n_categories):
                    _quadratic_form(qt, k, rate_matrix2, up, c, nb, site, 7)
                    rk = rates[k]
                    wrr = cat_weights[k] * rk * rk
                    for p in range(nb):
                        d1[p] += rk * numer[k, p]
                        d2[p] += wrr * site[7, p]
                for p in range(nb):
                    site[7, p] = d2[p] - ratio[p] * d1[p] * d1[p]
                hessian[c] += _weighted_sum(weighted, site, 7, nb)
