"""Post-order pass over one block of patterns: partials up to the root and the block's log-likelihood.

**Scaling.** A block is first pruned without any rescaling. Every node's partial is bounded
below by the site likelihood (``L_p <= max_i p_v[i]`` for every node v, since transition rows
sum to one), so when every ``L_p >= 1e-280`` no partial has underflowed and the result is exact.
Only when a site falls below that threshold is the block pruned again, normalising every internal
partial by its maximum and accumulating the logarithms: scaling costs nothing unless needed.
Rescaling the product of a node's messages after forming it (as BEAGLE does) is not enough: the
messages can each be near 1 at different states while their product is ~1e-300 at most and
~1e-600 elsewhere (every branch at 1e-300 between different sequences), and those entries count
in the likelihood. Where a product's largest entry is that small (and at multifurcations and in
the gradient) the partial is formed as a chain of normalised products
(:func:`~phylo_vi.likelihood.messages.normalised_product`), each divided by its maximum as it is
formed.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

from phylo_vi.likelihood.messages import (gathered_message, matrix_message, message_of_product, multiply_messages,
                                          normalised_product, tip_internal_messages, tip_message,
                                          two_internal_messages, two_tip_messages)
from phylo_vi.likelihood.transition import HOT

SCALING_THRESHOLD = 1e-280
#: a rescaled binary node whose product of messages has a largest entry below this (at some
#: pattern) is formed again as a normalised product: entries lost to underflow in the plain
#: product are then below 2.2e-308 / 2^-64 = 4e-289 of the largest (2.2e-308 in the normalised one)
EXACT_PRODUCT_FLOOR = 2.0 ** -64


@njit(**HOT)
def _postorder_block(lo, hi, scaled, store_up, use_classes, child_offsets, child_nodes, tip_row, tips, pmats, post,
                     up, log_scale, factor, slot, node_classes, boundary_row, pattern_class, messages):
    """Partials ``post[slot[u], k, i, p - lo]`` of every internal node u for patterns ``lo:hi``.

    ``slot`` reuses a partial buffer once its node has been consumed by its parent, so the
    live partials of a block stay in cache. With ``store_up`` (the gradient's post-order) the
    message ``up[c] = P_c p_c`` of every non-root node c is kept instead: a binary non-root node
    sends its message straight from its children's (:func:`message_of_product`, its partial
    never stored) unless the block is rescaled; the root's partial goes to ``post``.

    A rescaled block (``log_scale`` receives the logarithms, ``factor`` (block,) is scratch)
    forms a binary node's product in one pass and rescales it unless its largest entry is below
    ``EXACT_PRODUCT_FLOOR``; such nodes, multifurcations and the gradient's nodes store their
    children's messages in ``up`` and normalise the product as it is formed.

    With ``use_classes`` (unscaled blocks of a plan with site classes) compact nodes are
    skipped: a dense node reads a compact child's message from ``messages`` through
    ``pattern_class[boundary_row[c]]`` (filled by :func:`~phylo_vi.likelihood.messages.class_messages`;
    with ``store_up`` it is copied to ``up[c]``).
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
                    two_tip_messages(pmats, k, a, np.intp(ra), b, np.intp(rb), tips, lo, nb, post, d)
                elif rb >= 0:
                    tip_internal_messages(pmats, k, b, tips, np.intp(rb), lo, a, post, np.intp(slot[a]), nb, post, d)
                else:
                    two_internal_messages(pmats, k, a, b, post, np.intp(slot[a]), np.intp(slot[b]), nb, post, d)
            if not scaled or _rescale_if_exact(post[target], nb, log_scale, factor):
                continue
        if scaled:
            # every child's message in up (a dense child's is there already in the gradient), their
            # product normalised as it is formed
            for ci in range(first, last):
                c = child_nodes[ci]
                for k in range(n_categories):
                    if tip_row[c] >= 0:
                        tip_message(pmats, c, k, tips, tip_row[c], lo, nb, up, c, False)
                    elif not store_up:
                        matrix_message(pmats, c, k, post, slot[c], nb, up, c, False)
            _normalised_product_of_messages(up, child_nodes, first, last, nb, post, target, factor, log_scale)
            if store_up and u != n_nodes - 1:
                for k in range(n_categories):
                    matrix_message(pmats, u, k, post, target, nb, up, u, False)
            continue
        if store_up:
            # leaf and compact children's messages now; a dense child sent its message when visited
            for ci in range(first, last):
                c = child_nodes[ci]
                if tip_row[c] >= 0:
                    for k in range(n_categories):
                        tip_message(pmats, c, k, tips, tip_row[c], lo, nb, up, c, False)
                elif compact_child and boundary_row[c] >= 0:
                    gathered_message(messages, pattern_class, boundary_row[c], lo, nb, up, c, False)
            if u == n_nodes - 1 or last - first != 2:
                multiply_messages(up, child_nodes, first, last, nb, post, target)
                if u != n_nodes - 1:
                    for k in range(n_categories):
                        matrix_message(pmats, u, k, post, target, nb, up, u, False)
            else:
                a, b = np.intp(child_nodes[first]), np.intp(child_nodes[first + 1])
                for k in range(n_categories):
                    message_of_product(pmats, np.intp(u), k, False, up, a, up, b, nb, up, np.intp(u))
            continue
        for ci in range(first, last):
            c = child_nodes[ci]
            row = tip_row[c]
            multiply = ci != first
            if compact_child and boundary_row[c] >= 0:
                gathered_message(messages, pattern_class, boundary_row[c], lo, nb, post, target, multiply)
                continue
            for k in range(n_categories):
                if row >= 0:
                    tip_message(pmats, c, k, tips, row, lo, nb, post, target, multiply)
                else:
                    matrix_message(pmats, c, k, post, slot[c], nb, post, target, multiply)


@njit(**HOT)
def _rescale_if_exact(partial, nb, log_scale, largest):
    """:func:`rescale` ``partial`` (K, 4, block) and return True if the largest entry of every pattern is
    at least ``EXACT_PRODUCT_FLOOR``; otherwise leave it and return False (``largest`` (block,) is
    scratch). A product of two messages whose largest entry is that small may have lost entries to
    underflow that count (:func:`~phylo_vi.likelihood.messages.normalised_product`)."""
    n_categories = partial.shape[0]
    smallest = np.inf
    for p in range(nb):
        value = 0.0
        for k in range(n_categories):
            for i in range(4):
                value = max(value, partial[k, i, p])
        largest[p] = value
        smallest = min(smallest, value)
    if smallest < EXACT_PRODUCT_FLOOR:
        return False
    for p in range(nb):
        factor = 1.0 / largest[p]
        for k in range(n_categories):
            for i in range(4):
                partial[k, i, p] *= factor
        log_scale[p] += math.log(largest[p])
    return True


@njit(**HOT)
def _normalised_product_of_messages(up, child_nodes, first, last, nb, dst, d, factor, log_scale):
    """``dst[d] = prod_c up[c]`` over the children ``child_nodes[first:last]``, normalised as each
    message joins (:func:`~phylo_vi.likelihood.messages.normalised_product`)."""
    normalised_product(up, np.intp(child_nodes[first]), up, np.intp(child_nodes[first + 1]), nb, dst, d, factor,
                       log_scale)
    for ci in range(first + 2, last):
        normalised_product(dst, d, up, np.intp(child_nodes[ci]), nb, dst, d, factor, log_scale)


@njit(**HOT)
def rescale(partial, nb, log_scale):
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


@njit(**HOT)
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
def block_log_likelihood(lo, hi, store_up, use_classes, child_offsets, child_nodes, tip_row, tips, weights,
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
                     up, site[0], site[1], slot, node_classes, boundary_row, pattern_class, messages)
    value = _root_block(lo, hi, False, post[root], freqs, cat_weights, invariant, weights, site[0], site[1],
                        site[2], pattern_out)
    if not math.isnan(value):
        return value, False
    if store_up and use_classes:
        return value, True
    _postorder_block(lo, hi, True, store_up, False, child_offsets, child_nodes, tip_row, tips, pmats, post, up,
                     site[0], site[1], slot, node_classes, boundary_row, pattern_class, messages)
    value = _root_block(lo, hi, True, post[root], freqs, cat_weights, invariant, weights, site[0], site[1],
                        site[2], pattern_out)
    return value, True
