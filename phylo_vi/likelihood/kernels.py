"""Numba kernels: Felsenstein pruning by pattern blocks, with gradients (Ji et al. 2020).

Every function here is ``@njit`` and callable from other Numba code. The public entry points
take a *plan*, the :class:`~phylo_vi.likelihood.plan.Plan` (a named tuple of arrays) built by
:func:`phylo_vi.likelihood.plan.build_plan` (its fields are documented there), and a branch-length
vector ``t`` (n_nodes - 1,), where ``t[i]`` is the branch above post-order node ``i``:

- :func:`plan_log_likelihood` (plan, t) -> float
- :func:`plan_gradient` (plan, t, gradient, hessian, category_gradient, with_hessian) -> float, the
  three output buffers from :func:`gradient_workspace` (plan)
- :func:`plan_log_likelihood_batch` (plan, t (S, n_nodes - 1), out (S,)) -> None
- :func:`plan_pattern_log_likelihoods` (plan, t, out (P,)) -> float (per-pattern log L in out)

Shapes: nodes N (post-order, root last), patterns P, categories K, states 4; a block holds
``block`` patterns. Partials are laid out states-by-patterns, ``(K, 4, block)`` per node, so
the pattern loops are contiguous and vectorise (AVX2 FMA); a block of patterns runs through
the whole tree while its partials, in a few reused slots, stay in cache.

**Pruning** (Felsenstein 1981, J. Mol. Evol. 17:368): the message a child c sends up its branch
is ``m_c = P(r_k t_c) p_c``; the partial of node u is the product of its children's messages;
``L_p = sum_k w_k sum_i pi_i p_root[k, i] + p_inv * [pattern constant]``. Leaves start from
their tip partials (1 for every state the IUPAC code allows; missing data = all ones).

**Site repeats** (Kobert, Flouri & Stamatakis 2017, Syst. Biol. 66:205): a plan may carry
site classes (:mod:`phylo_vi.likelihood.site_repeats`). An evaluation then first computes the
message of every class of every compact subtree (:func:`class_messages`, class-major, one pass
over the classes instead of the patterns) and prunes by blocks only the dense nodes near the
root, which read a compact child's message through the pattern's class. The gradient (without
the Hessian) does the same in its post-order and finishes compact subtrees per
class from the weighted pre-order partials summed by class (:func:`_class_gradients`). A block
that needs rescaling prunes every node per pattern (and the gradient starts over without classes).

**Scaling.** A block is first pruned without any rescaling. Every node's partial is bounded
below by the site likelihood (``L_p <= max_i p_v[i]`` for every node v, since transition rows
sum to one), so when every ``L_p >= 1e-280`` no partial has underflowed and the result is exact.
Only when a site falls below that threshold is the block pruned again, rescaling every internal
partial by its maximum and accumulating the logarithms: scaling costs nothing unless needed.

**Gradient** (Ji et al. 2020, Mol. Biol. Evol. 37:3047, eqs. 6-10): one post-order pass keeps
the messages ``m_c``; one pre-order pass computes ``qt_c = q_u * prod_{s != c} m_s`` (the
pre-order partial above branch c, ``q_root = pi``) and ``q_c = P_c^T qt_c``. Then for every branch
``dL_k/d tau = qt_c^T Q m_c`` and ``d^2 L_k/d tau^2 = qt_c^T Q^2 m_c`` (``dP/dtau = Q P``), with
``tau = r_k t``. In a rescaled block, dividing by ``qt_c^T m_c`` (= the tree part of ``L_p`` in
the same scale) makes the ratio independent of the rescaling, so the pre-order partials need no
scale bookkeeping; in an unscaled block the root's value is that denominator.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numba import njit, prange

from phylo_vi.likelihood.plan import Plan

SCALING_THRESHOLD = 1e-280


@njit(cache=True, nogil=True)
def transition_matrices(branch_lengths, values, vectors, inverse, rates, pmats):
    """``pmats[b, k] = U diag(exp(values * rates[k] * t[b])) U^-1`` for every branch b, category k."""
    for b in range(branch_lengths.shape[0]):
        t = branch_lengths[b]
        for k in range(rates.shape[0]):
            rt = rates[k] * t
            e0 = math.exp(values[0] * rt)
            e1 = math.exp(values[1] * rt)
            e2 = math.exp(values[2] * rt)
            e3 = math.exp(values[3] * rt)
            for i in range(4):
                a0 = vectors[i, 0] * e0
                a1 = vectors[i, 1] * e1
                a2 = vectors[i, 2] * e2
                a3 = vectors[i, 3] * e3
                for j in range(4):
                    pmats[b, k, i, j] = a0 * inverse[0, j] + a1 * inverse[1, j] + a2 * inverse[2, j] + a3 * inverse[3, j]


_HOT = dict(cache=True, nogil=True, fastmath={"contract"})


@njit(**_HOT)
def square_entries(matrix):
    """The 16 entries of a 4 x 4 ``matrix`` row by row (kept in registers by the kernels)."""
    return (matrix[0, 0], matrix[0, 1], matrix[0, 2], matrix[0, 3], matrix[1, 0], matrix[1, 1], matrix[1, 2],
            matrix[1, 3], matrix[2, 0], matrix[2, 1], matrix[2, 2], matrix[2, 3], matrix[3, 0], matrix[3, 1],
            matrix[3, 2], matrix[3, 3])


@njit(**_HOT)
def matrix_entries(pmats, m, k, transposed):
    """The 16 entries of ``P = pmats[m, k]`` (or of ``P^T`` when ``transposed``) row by row, for
    kernels that keep a transition matrix in registers."""
    if transposed:
        return (pmats[m, k, 0, 0], pmats[m, k, 1, 0], pmats[m, k, 2, 0], pmats[m, k, 3, 0],
                pmats[m, k, 0, 1], pmats[m, k, 1, 1], pmats[m, k, 2, 1], pmats[m, k, 3, 1],
                pmats[m, k, 0, 2], pmats[m, k, 1, 2], pmats[m, k, 2, 2], pmats[m, k, 3, 2],
                pmats[m, k, 0, 3], pmats[m, k, 1, 3], pmats[m, k, 2, 3], pmats[m, k, 3, 3])
    return (pmats[m, k, 0, 0], pmats[m, k, 0, 1], pmats[m, k, 0, 2], pmats[m, k, 0, 3],
            pmats[m, k, 1, 0], pmats[m, k, 1, 1], pmats[m, k, 1, 2], pmats[m, k, 1, 3],
            pmats[m, k, 2, 0], pmats[m, k, 2, 1], pmats[m, k, 2, 2], pmats[m, k, 2, 3],
            pmats[m, k, 3, 0], pmats[m, k, 3, 1], pmats[m, k, 3, 2], pmats[m, k, 3, 3])


# The helpers below index whole arrays (no views): a view costs a reference-count update,
# which would be paid for every node, category and block.


@njit(**_HOT)
def _tip_message(pmats, c, k, tips, row, lo, nb, dst, d, multiply):
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


@njit(**_HOT)
def _matrix_message(pmats, c, k, src, s, nb, dst, d, multiply):
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


@njit(**_HOT)
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


@njit(**_HOT)
def _two_internal_messages(pmats, k, a, b, post, sa, sb, nb, dst, d):
    """``dst[d, k, :, p] = (P_a post[sa, k, :, p]) * (P_b post[sb, k, :, p])``: a binary node's
    partial from two internal children in one pass (no intermediate store)."""
    ma, mb = matrix_entries(pmats, a, k, False), matrix_entries(pmats, b, k, False)
    for p in range(nb):
        x0, x1, x2, x3 = post[sa, k, 0, p], post[sa, k, 1, p], post[sa, k, 2, p], post[sa, k, 3, p]
        y0, y1, y2, y3 = post[sb, k, 0, p], post[sb, k, 1, p], post[sb, k, 2, p], post[sb, k, 3, p]
        _store_product_of_messages(dst, d, k, p, ma, x0, x1, x2, x3, mb, y0, y1, y2, y3)


@njit(**_HOT)
def _tip_internal_messages(pmats, k, a, tips, row, lo, b, post, sb, nb, dst, d):
    """``dst[d, k, :, p] = (P_a tips[row, :, lo + p]) * (P_b post[sb, k, :, p])`` in one pass (a
    leaf child a and an internal child b; unsigned tip index, see :func:`_tip_message`)."""
    ma, mb = matrix_entries(pmats, a, k, False), matrix_entries(pmats, b, k, False)
    start = np.uintp(lo)
    for p in range(nb):
        q = start + np.uintp(p)
        x0, x1, x2, x3 = tips[row, 0, q], tips[row, 1, q], tips[row, 2, q], tips[row, 3, q]
        y0, y1, y2, y3 = post[sb, k, 0, p], post[sb, k, 1, p], post[sb, k, 2, p], post[sb, k, 3, p]
        _store_product_of_messages(dst, d, k, p, ma, x0, x1, x2, x3, mb, y0, y1, y2, y3)


@njit(**_HOT)
def _two_tip_messages(pmats, k, a, ra, b, rb, tips, lo, nb, dst, d):
    """``dst[d, k, :, p] = (P_a tips[ra, :, lo + p]) * (P_b tips[rb, :, lo + p])``: a cherry."""
    ma, mb = matrix_entries(pmats, a, k, False), matrix_entries(pmats, b, k, False)
    start = np.uintp(lo)
    for p in range(nb):
        q = start + np.uintp(p)
        x0, x1, x2, x3 = tips[ra, 0, q], tips[ra, 1, q], tips[ra, 2, q], tips[ra, 3, q]
        y0, y1, y2, y3 = tips[rb, 0, q], tips[rb, 1, q], tips[rb, 2, q], tips[rb, 3, q]
        _store_product_of_messages(dst, d, k, p, ma, x0, x1, x2, x3, mb, y0, y1, y2, y3)


@njit(**_HOT)
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


@njit(**_HOT)
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


@njit(**_HOT)
def _gathered_message(messages, pattern_class, row, lo, nb, dst, d, multiply):
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


@njit(**_HOT)
def _multiply_messages(up, child_nodes, first, last, nb, dst, d):
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


@njit(**_HOT)
def _message_of_product(pmats, m, k, transposed, a, ia, b, ib, nb, dst, d):
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


@njit(**_HOT)
def _postorder_block(lo, hi, scaled, store_up, use_classes, child_offsets, child_nodes, tip_row, tips, pmats, post,
                     up, log_scale, slot, node_classes, boundary_row, pattern_class, messages):
    """Partials ``post[slot[u], k, i, p - lo]`` of every internal node u for patterns ``lo:hi``.

    ``slot`` reuses a partial buffer once its node has been consumed by its parent, so the
    live partials of a block stay in cache. With ``store_up`` (the gradient's post-order) the
    message ``up[c] = P_c p_c`` of every non-root node c is kept instead: a binary non-root node
    sends its message straight from its children's (:func:`_message_of_product`, its partial
    never stored) unless the block is rescaled; the root's partial goes to ``post``.

    With ``use_classes`` (unscaled blocks of a plan with site classes) compact nodes are
    skipped: a dense node reads a compact child's message from ``messages`` through
    ``pattern_class[boundary_row[c]]`` (filled by :func:`class_messages`; with ``store_up`` it is
    copied to ``up[c]``).
    """
    n_nodes = tip_row.shape[0]
    n_categories = pmats.shape[1]
    nb = hi - lo
    if scaled:
        for p in range(nb):
            log_scale[p] = 0.0
    for u in range(n_nodes):
        first = child_offsets[u]
        last = child_offsets[u + 1]
        if first == last:
            continue
        if use_classes and node_classes[u] > 0:
            continue
        target = slot[u]
        compact_child = False
        if use_classes:
            for ci in range(first, last):
                compact_child = compact_child or boundary_row[child_nodes[ci]] >= 0
        if not store_up and last - first == 2 and not compact_child:
            # binary node: both messages and their product in one pass per category
            a, b = np.intp(child_nodes[first]), np.intp(child_nodes[first + 1])
            if tip_row[a] >= 0 and tip_row[b] < 0:
                a, b = b, a
            ra, rb, d = tip_row[a], tip_row[b], np.intp(target)
            for k in range(n_categories):
                if ra >= 0:
                    _two_tip_messages(pmats, k, a, np.intp(ra), b, np.intp(rb), tips, lo, nb, post, d)
                elif rb >= 0:
                    _tip_internal_messages(pmats, k, b, tips, np.intp(rb), lo, a, post, np.intp(slot[a]), nb, post, d)
                else:
                    _two_internal_messages(pmats, k, a, b, post, np.intp(slot[a]), np.intp(slot[b]), nb, post, d)
            if scaled:
                _rescale(post[target], nb, log_scale)
            continue
        if store_up:
            # leaf and compact children's messages now; a dense child sent its message when visited
            for ci in range(first, last):
                c = child_nodes[ci]
                if tip_row[c] >= 0:
                    for k in range(n_categories):
                        _tip_message(pmats, c, k, tips, tip_row[c], lo, nb, up, c, False)
                elif compact_child and boundary_row[c] >= 0:
                    _gathered_message(messages, pattern_class, boundary_row[c], lo, nb, up, c, False)
            if u == n_nodes - 1 or scaled or last - first != 2:
                _multiply_messages(up, child_nodes, first, last, nb, post, target)
                if scaled:
                    _rescale(post[target], nb, log_scale)
                if u != n_nodes - 1:
                    for k in range(n_categories):
                        _matrix_message(pmats, u, k, post, target, nb, up, u, False)
            else:
                a, b = np.intp(child_nodes[first]), np.intp(child_nodes[first + 1])
                for k in range(n_categories):
                    _message_of_product(pmats, np.intp(u), k, False, up, a, up, b, nb, up, np.intp(u))
            continue
        for ci in range(first, last):
            c = child_nodes[ci]
            row = tip_row[c]
            multiply = ci != first
            if compact_child and boundary_row[c] >= 0:
                _gathered_message(messages, pattern_class, boundary_row[c], lo, nb, post, target, multiply)
                continue
            for k in range(n_categories):
                if row >= 0:
                    _tip_message(pmats, c, k, tips, row, lo, nb, post, target, multiply)
                else:
                    _matrix_message(pmats, c, k, post, slot[c], nb, post, target, multiply)
        if scaled:
            _rescale(post[target], nb, log_scale)


@njit(**_HOT)
def _rescale(partial, nb, log_scale):
    """Divide ``partial[k, i, p]`` by its maximum over (k, i) and add its log to ``log_scale[p]``."""
    n_categories = partial.shape[0]
    for p in range(nb):
        largest = 0.0
        for k in range(n_categories):
            for i in range(4):
                largest = max(largest, partial[k, i, p])
        if largest > 0.0:
            factor = 1.0 / largest
            for k in range(n_categories):
                for i in range(4):
                    partial[k, i, p] *= factor
            if log_scale.shape[0] > 0:
                log_scale[p] += math.log(largest)


@njit(**_HOT)
def _root_block(lo, hi, scaled, root_partial, freqs, cat_weights, invariant, weights, log_scale, tree_fraction,
                tree, pattern_out):
    """Weighted log-likelihood of patterns ``lo:hi``; NaN when unscaled and a site is below threshold.

    ``tree_fraction[p]`` receives the share of the site likelihood carried by the tree
    (1 without +I), which the gradient needs; ``tree`` is scratch (block,); the unweighted log
    L of pattern ``lo + p`` goes to ``pattern_out[lo + p]`` unless ``pattern_out`` is empty.
    """
    n_categories = cat_weights.shape[0]
    nb = hi - lo
    for p in range(nb):
        tree[p] = 0.0
    for k in range(n_categories):
        f0 = cat_weights[k] * freqs[0]
        f1 = cat_weights[k] * freqs[1]
        f2 = cat_weights[k] * freqs[2]
        f3 = cat_weights[k] * freqs[3]
        r = root_partial[k]
        for p in range(nb):
            tree[p] += f0 * r[0, p] + f1 * r[1, p] + f2 * r[2, p] + f3 * r[3, p]
    total = 0.0
    for p in range(nb):
        inv = invariant[lo + p]
        if scaled:
            if tree[p] > 0.0:
                log_tree = math.log(tree[p]) + log_scale[p]
                if inv > 0.0:
                    log_inv = math.log(inv)
                    log_site = max(log_tree, log_inv) + math.log1p(math.exp(-abs(log_tree - log_inv)))
                    tree_fraction[p] = math.exp(log_tree - log_site)
                else:
                    log_site = log_tree
                    tree_fraction[p] = 1.0
            else:
                log_site = math.log(inv) if inv > 0.0 else -np.inf
                tree_fraction[p] = 0.0
        else:
            site = tree[p] + inv
            if not site >= SCALING_THRESHOLD:
                return np.nan
            log_site = math.log(site)
            tree_fraction[p] = tree[p] / site
        if pattern_out.shape[0] > 0:
            pattern_out[lo + p] = log_site
        total += weights[lo + p] * log_site
    return total


@njit(cache=True, nogil=True)
def _block_log_likelihood(lo, hi, store_up, use_classes, child_offsets, child_nodes, tip_row, tips, weights,
                          invariant, freqs, cat_weights, pmats, post, up, site, slot, pattern_out, node_classes,
                          boundary_row, pattern_class, messages):
    """Prune patterns ``lo:hi`` unscaled, again with scaling only if a site underflows.

    ``site`` (>= 3, block) scratch: rows log scalers, tree fractions, root sums. Returns
    ``(weighted log L of the block, whether it was rescaled)``. A rescaled block is pruned
    per pattern; in the gradient with site classes (``store_up`` and ``use_classes``) it is not
    pruned again but returned as ``(NaN, True)``, and the caller starts over without classes.
    """
    root = slot[tip_row.shape[0] - 1]
    _postorder_block(lo, hi, False, store_up, use_classes, child_offsets, child_nodes, tip_row, tips, pmats, post,
                     up, site[0], slot, node_classes, boundary_row, pattern_class, messages)
    value = _root_block(lo, hi, False, post[root], freqs, cat_weights, invariant, weights, site[0], site[1],
                        site[2], pattern_out)
    if not math.isnan(value):
        return value, False
    if store_up and use_classes:
        return value, True
    _postorder_block(lo, hi, True, store_up, False, child_offsets, child_nodes, tip_row, tips, pmats, post, up,
                     site[0], slot, node_classes, boundary_row, pattern_class, messages)
    value = _root_block(lo, hi, True, post[root], freqs, cat_weights, invariant, weights, site[0], site[1],
                        site[2], pattern_out)
    return value, True


@njit(**_HOT)
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


@njit(**_HOT)
def _site_ratios(lo, nb, weights, fraction, den, ratio, weighted):
    """``ratio = fraction / den`` (0 where den = 0) and ``weighted = weights * ratio``."""
    for p in range(nb):
        r = fraction[p] / den[p] if den[p] > 0.0 else 0.0
        ratio[p] = r
        weighted[p] = weights[lo + p] * r


@njit(**_HOT)
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


@njit(**_HOT)
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


@njit(**_HOT)
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


@njit(**_HOT)
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


@njit(**_HOT)
def _add_to_class(class_above, r, k, s0, s1, s2, s3):
    """``class_above[r, k] += (s0, s1, s2, s3)``."""
    class_above[r, k, 0] += s0
    class_above[r, k, 1] += s1
    class_above[r, k, 2] += s2
    class_above[r, k, 3] += s3


@njit(**_HOT)
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


@njit(**_HOT)
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
def _class_gradients(tip_row, node_classes, class_offsets, class_children, rates, cat_weights, rate_matrix, pmats,
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
def _preorder_block(lo, hi, scaled, with_hessian, use_classes, child_offsets, child_nodes, tip_row, weights, freqs,
                    rates, cat_weights, rate_matrix, rate_matrix2, pmats, up, pre, site, qt, numer, gradient, hessian,
                    category_gradient, node_classes, boundary_row, pattern_class, class_above):
    """Pre-order pass over patterns ``lo:hi``: accumulate d log L / dt (and d^2) for every branch.

    With ``use_classes`` only dense nodes are visited; the pre-order partial above a compact
    child c, weighted by w_p / L_p, is summed into ``class_above`` by the class of each pattern,
    and :func:`_class_gradients` finishes the compact subtrees after the last block.

    Scratch: ``qt`` (1, K, 4, block) = pre-order partial above the branch (stored only below
    multifurcations, in rescaled blocks and for the Hessian; otherwise it is formed in registers);
    ``numer`` (K, block);
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
            for k in range(n_categories):
                if stored:
                    _product_above(pre, u, up, child_nodes, first, last, ci, k, nb, qt)
                    _numerator(qt, k, rate_matrix, up, c, nb, numer, cat_weights[k])
                    if internal:
                        _transposed_message(pmats, c, k, qt, nb, pre)
                else:
                    _binary_numerator(pre, u, up, sibling, c, k, rate_matrix, nb, numer, cat_weights[k])
                    if internal:
                        _message_of_product(pmats, c, k, True, pre, u, up, sibling, nb, pre, c)
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
                    _rescale(pre[c], nb, site[0][:0])
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
        total += _block_log_likelihood(lo, hi, False, plan.node_classes.shape[0] > 0, plan.child_offsets,
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
        value, scaled = _block_log_likelihood(lo, hi, True, use_classes, plan.child_offsets, plan.child_nodes,
                                              plan.tip_row, plan.tips, weights, plan.invariant, plan.freqs,
                                              plan.cat_weights, pmats, plan.post[work], up, site, plan.slot,
                                              weights[:0], plan.node_classes, plan.boundary_row, plan.pattern_class,
                                              plan.messages[matrices])
        if use_classes and scaled:
            return np.nan
        total += value
        _preorder_block(lo, hi, scaled, with_hessian, use_classes, plan.child_offsets, plan.child_nodes, plan.tip_row,
                        weights, plan.freqs, plan.rates, plan.cat_weights, plan.rate_matrix, plan.rate_matrix2, pmats,
                        up, plan.pre[work], site, plan.qt[work], plan.numer[work], gradient, hessian,
                        category_gradient, plan.node_classes, plan.boundary_row, plan.pattern_class, class_above)
    return total


@njit(cache=True, nogil=True)
def _finish_class_gradients(plan, matrices, work, gradient, category_gradient):
    """The gradients of the compact subtrees from ``class_above[work]`` (:func:`_class_gradients`)."""
    _class_gradients(plan.tip_row, plan.node_classes, plan.class_offsets, plan.class_children, plan.rates,
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
def plan_gradient(plan, branch_lengths, gradient, hessian, category_gradient, with_hessian):
    """log L at ``branch_lengths``, single thread; fills ``gradient`` (n_nodes - 1,) with d log L / dt,
    ``hessian`` (n_nodes - 1,) with the diagonal d^2 log L / dt^2 (only when ``with_hessian``) and
    ``category_gradient`` (n_nodes - 1, K) with d log L / d(r_k t), so that
    ``gradient = category_gradient @ rates`` and d log L / d r_k = ``t @ category_gradient[:, k]``.
    Without the Hessian, a plan with site classes differentiates compact subtrees per class
    (:func:`_class_gradients`) unless a site needs rescaling.
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
        return _differentiate(plan, 0, 0, 0, n_blocks(plan), with_hessian, False, gradient, hessian,
                              category_gradient)
    if use_classes:
        _finish_class_gradients(plan, 0, 0, gradient, category_gradient)
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
    return parts.sum()


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
LOG_LIKELIHOOD, GRADIENT, BATCH, BATCH_GRADIENT, TOPOLOGIES, PATTERNS = 0, 1, 2, 3, 4, 5


@njit(cache=True, nogil=True)
def evaluate(mode, t, out, gradients, hessian, category_gradient, with_hessian, topologies, slots,
             a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15, a16, a17, a18, a19, a20, a21,
             a22, a23, a24, a25, a26, a27, a28, a29, a30):
    """Every Python-side evaluation in one compiled function (one compilation, one dispatch).

    ``t`` (S, B); ``out`` (S,); ``gradients`` (S, B); ``hessian`` (B,) and ``category_gradient``
    (B, K) of the last row (``hessian`` only when ``with_hessian``); ``topologies`` (3, S, N + 1) int32 rows: child offsets, child nodes,
    leaf rows (padded) and ``slots`` (S, N) for mode TOPOLOGIES. Mode PATTERNS writes the log L of
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
        elif mode == TOPOLOGIES:
            # the plan's site classes belong to its own topology: none for the others
            tree_plan = Plan(topologies[0, s], topologies[1, s, :n_nodes - 1], topologies[2, s, :n_nodes], a3, a4, a5,
                             a6, a7, a8, a9, a10, a11, a12, a13, a14, a15, a16, a17, a18, a19, a20, a21, slots[s],
                             a23[:0], a24, a25, a26, a27, a28, a29, a30)
            out[s] = plan_log_likelihood(tree_plan, t[s])
        elif mode == PATTERNS:
            out[s] = plan_pattern_log_likelihoods(plan, t[s], gradients[s])
        else:
            out[s] = plan_gradient(plan, t[s], gradients[s], hessian, category_gradient, with_hessian)
    return True
