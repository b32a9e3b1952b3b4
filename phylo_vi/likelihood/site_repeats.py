"""Subtree site repeats: the site classes under which a subtree's partials are computed once.

Two site patterns that agree at every leaf below a node u have the same post-order partial at
u. Kobert, Flouri & Stamatakis (2017, Syst. Biol. 66:205, "Efficient detection of repeating
sites to accelerate phylogenetic likelihood calculations") number these *site classes* node by
node: a leaf's classes are its distinct codes, and the classes of a node are the distinct pairs
of its children's classes. Near the leaves there are few of them (at most 4 x 4 codes below a
cherry), so partials computed per class instead of per pattern save most of the arithmetic on
large alignments: on the 100-taxon, 6,174-pattern simulated alignment the classes of all
internal nodes number 17% of nodes x patterns.

A binary, non-root node whose classes number at most ``COMPACT_FRACTION`` of the patterns, and
whose internal children are compact too, is *compact*: the kernels compute its message
``P_u p_u`` per class before pruning (:func:`phylo_vi.likelihood.kernels.class_messages`). The
remaining *dense* nodes, near the root, are pruned by pattern blocks as before, reading the
messages of their compact children through each pattern's class.

:func:`site_classes` returns the plan's class fields as :class:`SiteClasses` (layout in
:mod:`phylo_vi.likelihood.plan`); class rows of all nodes share one numbering ("rows"), children before parents.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from phylo_vi.trees.tree import Tree

#: a node is compact when its site classes number at most this share of the patterns (chosen by
#: measurement: shares of 0.3 to 0.6 evaluate DS1 and the 100-taxon simulation equally fast,
#: 0.8 and 1.0 slower; a compact node's classes are computed without pattern blocks).
COMPACT_FRACTION = 0.4


class SiteClasses(NamedTuple):
    """The site classes of a plan (:func:`site_classes`); ``node_classes`` is empty when there are none."""

    node_classes: np.ndarray
    class_offsets: np.ndarray
    class_children: np.ndarray
    class_codes: np.ndarray
    boundary_row: np.ndarray
    pattern_class: np.ndarray


def _classes(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(a pattern of each distinct key, class of every pattern) for a non-negative key per
    pattern; classes are numbered in increasing order of their keys."""
    keys = keys.astype(np.int64)
    n_keys = int(keys.max()) + 1
    if n_keys > 8 * len(keys):
        _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
        return first, inverse.astype(np.int64)
    present = np.zeros(n_keys, dtype=bool)
    present[keys] = True
    inverse = (np.cumsum(present) - 1)[keys]
    representative = np.empty(int(present.sum()), dtype=np.int64)
    representative[inverse] = np.arange(len(keys))
    return representative, inverse


def site_classes(tree: Tree, codes: np.ndarray, max_fraction: float = COMPACT_FRACTION) -> SiteClasses:
    """The site classes of ``tree`` and the site patterns ``codes`` (T x P, uint8 bitmasks):
    ``node_classes`` int32 (N,) (0: no classes), ``class_offsets`` int32 (N,) (first row of each
    node's classes), ``class_children`` int32 (C, 2) (rows of the two children's classes of an
    internal class), ``class_codes`` uint8 (C,) (code of a leaf class), ``boundary_row`` int32 (N,)
    (row of ``pattern_class`` for a compact node under a dense parent, else -1) and
    ``pattern_class`` int32 (B, P) (the class row of every pattern at those nodes).

    Memory is linear in the number of nodes: a node's class of every pattern (P entries) is kept
    only until its parent is done, and afterwards only at boundary nodes (the rows of
    ``pattern_class``)."""
    n_nodes, n_patterns, parent, leaf = tree.n_nodes, codes.shape[1], tree.parent, tree.n_children == 0
    classes: list[np.ndarray | None] = [None] * n_nodes    # class of every pattern
    firsts: list[np.ndarray | None] = [None] * n_nodes     # a representative pattern of each class
    child_classes: list[tuple | None] = [None] * n_nodes   # the children's classes of each class
    compact = np.zeros(n_nodes, dtype=bool)
    for u in range(n_nodes):
        if leaf[u]:
            continue
        children = [int(c) for c in tree.children(u)]
        if u != tree.root and len(children) == 2 and all(compact[c] or leaf[c] for c in children):
            for c in children:
                if leaf[c]:
                    firsts[c], classes[c] = _classes(codes[tree.taxon[c]])
            a, b = children
            first, inverse = _classes(classes[a] * len(firsts[b]) + classes[b])
            if len(first) <= max_fraction * n_patterns:
                compact[u] = True
                firsts[u], classes[u] = first, inverse
                child_classes[u] = (classes[a][first], classes[b][first])
        for c in children:
            if compact[u] or not compact[c]:       # not a boundary node: its pattern classes are done
                classes[c] = None
    has_classes = compact.copy()
    has_classes[:-1] |= leaf[:-1] & compact[parent[:-1]]
    node_classes = np.zeros(n_nodes, dtype=np.int32)
    class_offsets = np.zeros(n_nodes, dtype=np.int32)
    rows = 0
    for u in np.flatnonzero(has_classes):
        node_classes[u] = len(firsts[u])
        class_offsets[u] = rows
        rows += len(firsts[u])
    class_children = np.zeros((rows, 2), dtype=np.int32)
    class_codes = np.zeros(rows, dtype=np.uint8)
    boundary = [u for u in np.flatnonzero(compact) if not compact[parent[u]]]
    boundary_row = np.full(n_nodes, -1, dtype=np.int32)
    pattern_class = np.zeros((len(boundary), n_patterns), dtype=np.int32)
    for u in np.flatnonzero(has_classes):
        own = slice(class_offsets[u], class_offsets[u] + node_classes[u])
        if compact[u]:
            for side, c in enumerate(tree.children(u)):
                class_children[own, side] = class_offsets[c] + child_classes[u][side]
        else:
            class_codes[own] = codes[tree.taxon[u], firsts[u]]
    for row, u in enumerate(boundary):
        boundary_row[u] = row
        pattern_class[row] = class_offsets[u] + classes[u]
    return SiteClasses(node_classes, class_offsets, class_children, class_codes, boundary_row, pattern_class)


def no_site_classes(n_patterns: int) -> SiteClasses:
    """The site classes of a plan without any (empty ``node_classes``)."""
    return SiteClasses(np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.int32), np.zeros((0, 2), dtype=np.int32),
                       np.zeros(0, dtype=np.uint8), np.zeros(0, dtype=np.int32),
                       np.zeros((0, n_patterns), dtype=np.int32))
