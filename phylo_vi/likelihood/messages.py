"""Messages ``m_c = P_c p_c`` that a child sends up its branch, for one category and a block of patterns.

Felsenstein (1981, J. Mol. Evol. 17:368): the partial of a node is the product of its children's
messages. Partials are laid out states-by-patterns, ``(K, 4, block)`` per node, so the pattern
loops are contiguous and vectorise; the fused variants form two messages and their product in one
pass. Site classes (Kobert, Flouri & Stamatakis 2017, Syst. Biol. 66:205) get their messages once
per class (:func:`class_messages`).
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

from phylo_vi.likelihood.transition import HOT, matrix_entries

#: the smallest normal double: the floor of the scaling factor of :func:`normalised_product`
SMALLEST_NORMAL = float(np.finfo(np.float64).tiny)

# The helpers here index whole arrays (no views): a view costs a reference-count update,
# which would be paid for every node, category and block.


@njit(**HOT)
def tip_message(pmats, c, k, tips, row, lo, nb, dst, d, multiply):
    """``dst[d, k, :, p] (=|*=) pmats[c, k] @ tips[row, :, lo + p]`` (one category: LLVM
    vectorises the pattern loop of a per-category call better than a loop over categories).

    The pattern index is unsigned: with a signed ``lo + p`` Numba emits its negative-index
    wraparound for every element, and LLVM then loads the tips one by one instead of as
    vectors (this alone made a likelihood evaluation about 1.5 times slower)."""
    (p00, p01, p02, p03, p10, p11, p12, p13,
     p20, p21, p22, p23, p30, p31, p32, p33) = matrix_entries(pmats, c, k, False)
    start = np.uintp(lo)
    if multiply:
        for p in range(nb):
            q = start + np.uintp(p)
            x0, x1, x2, x3 = tips[row, 0, q], tips[row, 1, q], tips[row, 2, q], tips[row, 3, q]
            dst[d, k, 0, p] *= p00 * x0 + p01 * x1 + p02 * x2 + p03 * x3
            dst[d, k, 1, p] *= p10 * x0 + p11 * x1 + p12 * x2 + p13 * x3
            dst[d, k, 2, p] *= p20 * x0 + p21 * x1 + p22 * x2 + p23 * x3
            dst[d, k, 3, p] *= p30 * x0 + p31 * x1 + p32 * x2 + p33 * x3
    else:
        for p in range(nb):
            q = start + np.uintp(p)
            x0, x1, x2, x3 = tips[row, 0, q], tips[row, 1, q], tips[row, 2, q], tips[row, 3, q]
            dst[d, k, 0, p] = p00 * x0 + p01 * x1 + p02 * x2 + p03 * x3
            dst[d, k, 1, p] = p10 * x0 + p11 * x1 + p12 * x2 + p13 * x3
            dst[d, k, 2, p] = p20 * x0 + p21 * x1 + p22 * x2 + p23 * x3
            dst[d, k, 3, p] = p30 * x0 + p31 * x1 + p32 * x2 + p33 * x3


@njit(**HOT)
def matrix_message(pmats, c, k, src, s, nb, dst, d, multiply):
    """``dst[d, k, :, p] (=|*=) pmats[c, k] @ src[s, k, :, p]`` (one category)."""
    (p00, p01, p02, p03, p10, p11, p12, p13,
     p20, p21, p22, p23, p30, p31, p32, p33) = matrix_entries(pmats, c, k, False)
    if multiply:
        for p in range(nb):
            x0, x1, x2, x3 = src[s, k, 0, p], src[s, k, 1, p], src[s, k, 2, p], src[s, k, 3, p]
            dst[d, k, 0, p] *= p00 * x0 + p01 * x1 + p02 * x2 + p03 * x3
            dst[d, k, 1, p] *= p10 * x0 + p11 * x1 + p12 * x2 + p13 * x3
            dst[d, k, 2, p] *= p20 * x0 + p21 * x1 + p22 * x2 + p23 * x3
            dst[d, k, 3, p] *= p30 * x0 + p31 * x1 + p32 * x2 + p33 * x3
    else:
        for p in range(nb):
            x0, x1, x2, x3 = src[s, k, 0, p], src[s, k, 1, p], src[s, k, 2, p], src[s, k, 3, p]
            dst[d, k, 0, p] = p00 * x0 + p01 * x1 + p02 * x2 + p03 * x3
            dst[d, k, 1, p] = p10 * x0 + p11 * x1 + p12 * x2 + p13 * x3
            dst[d, k, 2, p] = p20 * x0 + p21 * x1 + p22 * x2 + p23 * x3
            dst[d, k, 3, p] = p30 * x0 + p31 * x1 + p32 * x2 + p33 * x3


@njit(**HOT)
def _store_product_of_messages(dst, d, k, p, ma, x0, x1, x2, x3, mb, y0, y1, y2, y3):
    """``dst[d, k, :, p] = (M_a x) * (M_b y)``, the matrices as the 16-tuples of :func:`matrix_entries`."""
    dst[d, k, 0, p] = (ma[0] * x0 + ma[1] * x1 + ma[2] * x2 + ma[3] * x3) * (mb[0] * y0 + mb[1] * y1 + mb[2] * y2
                                                                             + mb[3] * y3)
    dst[d, k, 1, p] = (ma[4] * x0 + ma[5] * x1 + ma[6] * x2 + ma[7] * x3) * (mb[4] * y0 + mb[5] * y1 + mb[6] * y2
                                                                             + mb[7] * y3)
    dst[d, k, 2, p] = (ma[8] * x0 + ma[9] * x1 + ma[10] * x2 + ma[11] * x3) * (mb[8] * y0 + mb[9] * y1
                                                                               + mb[10] * y2 + mb[11] * y3)
    dst[d, k, 3, p] = (ma[12] * x0 + ma[13] * x1 + ma[14] * x2 + ma[15] * x3) * (mb[12] * y0 + mb[13] * y1
                                                                                 + mb[14] * y2 + mb[15] * y3)


@njit(**HOT)
def two_internal_messages(pmats, k, a, b, post, sa, sb, nb, dst, d):
    """``dst[d, k, :, p] = (P_a post[sa, k, :, p]) * (P_b post[sb, k, :, p])``: a binary node's
    partial from two internal children in one pass (no intermediate store)."""
    ma, mb = matrix_entries(pmats, a, k, False), matrix_entries(pmats, b, k, False)
    for p in range(nb):
        x0, x1, x2, x3 = post[sa, k, 0, p], post[sa, k, 1, p], post[sa, k, 2, p], post[sa, k, 3, p]
        y0, y1, y2, y3 = post[sb, k, 0, p], post[sb, k, 1, p], post[sb, k, 2, p], post[sb, k, 3, p]
        _store_product_of_messages(dst, d, k, p, ma, x0, x1, x2, x3, mb, y0, y1, y2, y3)


@njit(**HOT)
def tip_internal_messages(pmats, k, a, tips, row, lo, b, post, sb, nb, dst, d):
    """``dst[d, k, :, p] = (P_a tips[row, :, lo + p]) * (P_b post[sb, k, :, p])`` in one pass (a
    leaf child a and an internal child b; unsigned tip index, see :func:`tip_message`)."""
    ma, mb = matrix_entries(pmats, a, k, False), matrix_entries(pmats, b, k, False)
    start = np.uintp(lo)
    for p in range(nb):
        q = start + np.uintp(p)
        x0, x1, x2, x3 = tips[row, 0, q], tips[row, 1, q], tips[row, 2, q], tips[row, 3, q]
        y0, y1, y2, y3 = post[sb, k, 0, p], post[sb, k, 1, p], post[sb, k, 2, p], post[sb, k, 3, p]
        _store_product_of_messages(dst, d, k, p, ma, x0, x1, x2, x3, mb, y0, y1, y2, y3)


@njit(**HOT)
def two_tip_messages(pmats, k, a, ra, b, rb, tips, lo, nb, dst, d):
    """``dst[d, k, :, p] = (P_a tips[ra, :, lo + p]) * (P_b tips[rb, :, lo + p])``: a cherry."""
    ma, mb = matrix_entries(pmats, a, k, False), matrix_entries(pmats, b, k, False)
    start = np.uintp(lo)
    for p in range(nb):
        q = start + np.uintp(p)
        x0, x1, x2, x3 = tips[ra, 0, q], tips[ra, 1, q], tips[ra, 2, q], tips[ra, 3, q]
        y0, y1, y2, y3 = tips[rb, 0, q], tips[rb, 1, q], tips[rb, 2, q], tips[rb, 3, q]
        _store_product_of_messages(dst, d, k, p, ma, x0, x1, x2, x3, mb, y0, y1, y2, y3)


@njit(**HOT)
def _leaf_class_messages(pmats, u, k, class_codes, start, n, messages):
    """``messages[r, k] = P_u x(code_r)`` for the classes r of leaf u (x: the code's tip partial)."""
    for r in range(start, start + n):
        code = class_codes[r]
        for i in range(4):
            total = 0.0
            for j in range(4):
                if (code >> j) & 1:
                    total += pmats[u, k, i, j]
            messages[r, k, i] = total


@njit(**HOT)
def _product_class_messages(pmats, u, k, class_children, start, n, messages):
    """``messages[r, k] = P_u (messages[a_r, k] * messages[b_r, k])`` for the classes r of a compact
    binary node u, ``a_r, b_r = class_children[r]`` its children's classes."""
    (p00, p01, p02, p03, p10, p11, p12, p13,
     p20, p21, p22, p23, p30, p31, p32, p33) = matrix_entries(pmats, u, k, False)
    for r in range(start, start + n):
        a, b = np.intp(class_children[r, 0]), np.intp(class_children[r, 1])
        x0 = messages[a, k, 0] * messages[b, k, 0]
        x1 = messages[a, k, 1] * messages[b, k, 1]
        x2 = messages[a, k, 2] * messages[b, k, 2]
        x3 = messages[a, k, 3] * messages[b, k, 3]
        messages[r, k, 0] = p00 * x0 + p01 * x1 + p02 * x2 + p03 * x3
        messages[r, k, 1] = p10 * x0 + p11 * x1 + p12 * x2 + p13 * x3
        messages[r, k, 2] = p20 * x0 + p21 * x1 + p22 * x2 + p23 * x3
        messages[r, k, 3] = p30 * x0 + p31 * x1 + p32 * x2 + p33 * x3


@njit(cache=True, nogil=True)
def class_messages(tip_row, node_classes, class_offsets, class_children, class_codes, pmats, messages):
    """The message ``P_u p_u`` of every site class of every node that has classes, children first
    (:mod:`phylo_vi.likelihood.site_repeats`); ``messages`` (C, K, 4), class-major."""
    for u in range(node_classes.shape[0]):
        n = node_classes[u]
        if n == 0:
            continue
        for k in range(pmats.shape[1]):
            if tip_row[u] >= 0:
                _leaf_class_messages(pmats, u, k, class_codes, class_offsets[u], n, messages)
            else:
                _product_class_messages(pmats, u, k, class_children, class_offsets[u], n, messages)


@njit(**HOT)
def gathered_message(messages, pattern_class, row, lo, nb, dst, d, multiply):
    """``dst[d, k, :, p] (=|*=) messages[pattern_class[row, lo + p], k]``: a compact child's
    message at every pattern of the block, read through the pattern's site class."""
    start = np.uintp(lo)
    for k in range(dst.shape[1]):
        if multiply:
            for p in range(nb):
                r = np.intp(pattern_class[row, start + np.uintp(p)])
                dst[d, k, 0, p] *= messages[r, k, 0]
                dst[d, k, 1, p] *= messages[r, k, 1]
                dst[d, k, 2, p] *= messages[r, k, 2]
                dst[d, k, 3, p] *= messages[r, k, 3]
        else:
            for p in range(nb):
                r = np.intp(pattern_class[row, start + np.uintp(p)])
                dst[d, k, 0, p] = messages[r, k, 0]
                dst[d, k, 1, p] = messages[r, k, 1]
                dst[d, k, 2, p] = messages[r, k, 2]
                dst[d, k, 3, p] = messages[r, k, 3]


@njit(**HOT)
def multiply_messages(up, child_nodes, first, last, nb, dst, d):
    """``dst[d, k, i, p] = prod_c up[c, k, i, p]`` over the children ``child_nodes[first:last]``."""
    a, b = np.intp(child_nodes[first]), np.intp(child_nodes[first + 1])
    for k in range(up.shape[1]):
        for i in range(4):
            for p in range(nb):
                dst[d, k, i, p] = up[a, k, i, p] * up[b, k, i, p]
            for ci in range(first + 2, last):
                c = np.intp(child_nodes[ci])
                for p in range(nb):
                    dst[d, k, i, p] *= up[c, k, i, p]


@njit(**HOT)
def normalised_product(a, ia, b, ib, nb, dst, d, factor, log_scale):
    """``dst[d, k, i, p] = a[ia, k, i, p] b[ib, k, i, p] / s_p`` with ``s_p`` the largest such product
    over (k, i) (at least the smallest normal double), ``log s_p`` added to ``log_scale[p]`` unless
    it is empty. ``factor`` (block,) is scratch; ``dst[d]`` may be ``a[ia]``.

    The factor ``1 / s_p`` multiplies ``a`` before ``b`` does, so no entry of the normalised
    product underflows unless it is below the range of a double relative to the largest, even
    when ``s_p`` itself is tiny: two messages near 1 at different states across branches of
    1e-300 have a product of largest entry ~1e-300 whose other entries, ~1e-600, still count.
    Multiplying first and rescaling after (as BEAGLE does) loses them."""
    n_categories = dst.shape[1]
    for p in range(nb):
        factor[p] = 0.0
    for k in range(n_categories):
        for i in range(4):
            for p in range(nb):
                factor[p] = max(factor[p], a[ia, k, i, p] * b[ib, k, i, p])
    for p in range(nb):
        largest = max(factor[p], SMALLEST_NORMAL)
        factor[p] = 1.0 / largest
        if log_scale.shape[0] > 0:
            log_scale[p] += math.log(largest)
    for k in range(n_categories):
        for i in range(4):
            for p in range(nb):
                dst[d, k, i, p] = (a[ia, k, i, p] * factor[p]) * b[ib, k, i, p]


@njit(**HOT)
def message_of_product(pmats, m, k, transposed, a, ia, b, ib, nb, dst, d):
    """``dst[d, k] = M (a[ia, k] * b[ib, k])`` with ``M = P_m`` or, when ``transposed``, ``P_m^T``,
    the product formed in registers: the message of a binary node m from its children's
    messages (post-order), or the pre-order partial below branch m of a binary node from the
    partial of its parent and its sibling's message (pre-order)."""
    (p00, p01, p02, p03, p10, p11, p12, p13,
     p20, p21, p22, p23, p30, p31, p32, p33) = matrix_entries(pmats, m, k, transposed)
    for p in range(nb):
        x0 = a[ia, k, 0, p] * b[ib, k, 0, p]
        x1 = a[ia, k, 1, p] * b[ib, k, 1, p]
        x2 = a[ia, k, 2, p] * b[ib, k, 2, p]
        x3 = a[ia, k, 3, p] * b[ib, k, 3, p]
        dst[d, k, 0, p] = p00 * x0 + p01 * x1 + p02 * x2 + p03 * x3
        dst[d, k, 1, p] = p10 * x0 + p11 * x1 + p12 * x2 + p13 * x3
        dst[d, k, 2, p] = p20 * x0 + p21 * x1 + p22 * x2 + p23 * x3
        dst[d, k, 3, p] = p30 * x0 + p31 * x1 + p32 * x2 + p33 * x3
