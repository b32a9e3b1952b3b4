"""Topology keys in linear memory: a canonical Newick-like code of a tree, for wide namespaces.

The split key of :func:`phylo_vi.trees.bitset.topology_key_kernel` holds one ``n_words``-word
bitset per split: ``n^2 / 64`` words for a tree of ``n`` taxa (1.25 GB at 10^5 taxa). Here a tree
is written instead as a sequence of ``O(n)`` codes that is equal for two trees exactly when their
topologies are equal (Read & Corneil 1977, "The graph isomorphism disease", J. Graph Theory
1:339, on canonical codes of labelled trees):

1. Orient the tree away from its root when it is rooted, and away from the leaf of its lowest
   taxon index when it is unrooted (any rooting of an unrooted tree gives the same code).
2. Suppress every node with one child (a degree-2 node holds no split and no new clade).
3. Write the nodes in pre-order, the children of each node ordered by the lowest taxon index
   below them: ``(`` (code 1) and ``)`` (code 2) around every internal node and ``t + 3`` for
   the leaf of taxon ``t``.

Two rooted trees with equal codes have equal clades and vice versa; two unrooted trees drawn
from the same leaf have equal codes exactly when they have equal splits (Buneman 1971). Codes
are 32-bit and packed two per 64-bit word (0 pads the last word). Every step is a loop over
arrays (no recursion), and sorting the children is one ``argsort`` of the nodes.
"""
from __future__ import annotations

import numpy as np
from numba import njit

OPEN, CLOSE, FIRST_TAXON_CODE = 1, 2, 3

# Namespaces of up to 16 words (1,024 taxa) key topologies by their splits (at most 16 words a
# split, ~2 MB a key); wider ones by the canonical code, which keeps keys (and the clade arrays
# the split key needs) out of memory quadratic in the number of taxa.
SPLIT_KEY_MAX_WORDS = 16


def uses_canonical_key(n_words: int) -> bool:
    """Whether topology keys over a namespace of ``n_words`` bitset words are canonical codes."""
    return n_words > SPLIT_KEY_MAX_WORDS


def max_key_words(n_nodes: int) -> int:
    """Words that the code of a tree of ``n_nodes`` nodes can take (at most 2 codes per node)."""
    return n_nodes + 1


@njit(cache=True, nogil=True)
def canonical_key_kernel(parent, taxon, base, n_nodes, rooted, keys, k0) -> int:
    """Write the code of the tree in rows ``base .. base + n_nodes - 1`` at ``keys[k0:]``; returns its words.

    ``parent`` holds node indices local to the tree (post-order, root last), ``taxon`` the leaf
    taxa (-1 at internal nodes).
    """
    neighbour_start, neighbours = _adjacency(parent, base, n_nodes)
    start = n_nodes - 1
    if not rooted:
        lowest = -1
        for v in range(n_nodes):
            t = taxon[base + v]
            if t >= 0 and (lowest < 0 or t < taxon[base + lowest]):
                lowest = v
        start = lowest
    up, order = _orient(neighbour_start, neighbours, start, n_nodes)
    lowest_taxon = np.empty(n_nodes, dtype=np.int64)
    for k in range(n_nodes - 1, -1, -1):  # reverse pre-order: children before their parent
        v = order[k]
        t = taxon[base + v]
        lowest_taxon[v] = t if t >= 0 else np.iinfo(np.int64).max
    for k in range(n_nodes - 1, 0, -1):
        v = order[k]
        if lowest_taxon[v] < lowest_taxon[up[v]]:
            lowest_taxon[up[v]] = lowest_taxon[v]
    child_start, children = _sorted_children(up, lowest_taxon, start, n_nodes)
    codes = _preorder_codes(child_start, children, taxon, base, start, n_nodes)
    n_codes = len(codes)
    n_words = (n_codes + 1) // 2
    for w in range(n_words):
        low = np.uint64(codes[2 * w])
        high = np.uint64(codes[2 * w + 1]) if 2 * w + 1 < n_codes else np.uint64(0)
        keys[k0 + w] = low | (high << np.uint64(32))
    return n_words


@njit(cache=True, nogil=True)
def _adjacency(parent, base, n_nodes):
    """Undirected neighbours of every node in CSR form (offsets, neighbours)."""
    degree = np.zeros(n_nodes + 1, dtype=np.int64)
    for v in range(n_nodes):
        p = parent[base + v]
        if p >= 0:
            degree[v + 1] += 1
            degree[p + 1] += 1
    for v in range(n_nodes):
        degree[v + 1] += degree[v]
    fill = degree[:n_nodes].copy()
    neighbours = np.empty(degree[n_nodes], dtype=np.int64)
    for v in range(n_nodes):
        p = parent[base + v]
        if p >= 0:
            neighbours[fill[v]] = p
            fill[v] += 1
            neighbours[fill[p]] = v
            fill[p] += 1
    return degree, neighbours


@njit(cache=True, nogil=True)
def _orient(neighbour_start, neighbours, start, n_nodes):
    """Parent of every node seen from ``start`` (-1 there) and the nodes in pre-order (explicit stack)."""
    up = np.full(n_nodes, -1, dtype=np.int64)
    order = np.empty(n_nodes, dtype=np.int64)
    stack = np.empty(n_nodes, dtype=np.int64)
    stack[0] = start
    size = 1
    n_seen = 0
    while size > 0:
        size -= 1
        v = stack[size]
        order[n_seen] = v
        n_seen += 1
        for k in range(neighbour_start[v], neighbour_start[v + 1]):
            w = neighbours[k]
            if w != up[v]:
                up[w] = v
                stack[size] = w
                size += 1
    return up, order


@njit(cache=True, nogil=True)
def _sorted_children(up, lowest_taxon, start, n_nodes):
    """Children of every node (CSR), each list ordered by the lowest taxon below the child."""
    child_start = np.zeros(n_nodes + 1, dtype=np.int64)
    for v in range(n_nodes):
        if v != start:
            child_start[up[v] + 1] += 1
    for v in range(n_nodes):
        child_start[v + 1] += child_start[v]
    fill = child_start[:n_nodes].copy()
    children = np.empty(max(n_nodes - 1, 0), dtype=np.int64)
    for v in np.argsort(lowest_taxon, kind="mergesort"):
        if v != start:
            children[fill[up[v]]] = v
            fill[up[v]] += 1
    return child_start, children


@njit(cache=True, nogil=True)
def _preorder_codes(child_start, children, taxon, base, start, n_nodes):
    """Codes of the tree hanging from ``start``, nodes with one child suppressed (module docstring, step 3)."""
    codes = np.empty(2 * n_nodes, dtype=np.int64)
    n_codes = 0
    stack = np.empty(2 * n_nodes + 1, dtype=np.int64)  # node v as v, the ')' closing a node as -1
    stack[0] = start
    size = 1
    while size > 0:
        size -= 1
        v = stack[size]
        if v < 0:
            codes[n_codes] = CLOSE
            n_codes += 1
            continue
        if taxon[base + v] >= 0:
            codes[n_codes] = taxon[base + v] + FIRST_TAXON_CODE
            n_codes += 1
            if v != start:
                continue
        first, last = child_start[v], child_start[v + 1]
        if last - first == 1:
            stack[size] = children[first]
            size += 1
            continue
        if last == first:
            continue
        codes[n_codes] = OPEN
        n_codes += 1
        stack[size] = -1
        size += 1
        for k in range(last - 1, first - 1, -1):
            stack[size] = children[k]
            size += 1
    return codes[:n_codes]


def canonical_key_words(parent: np.ndarray, taxon: np.ndarray, rooted: bool) -> np.ndarray:
    """The code of one tree (post-order ``parent`` / ``taxon`` arrays) as 64-bit words."""
    n_nodes = len(parent)
    keys = np.empty(max_key_words(n_nodes), dtype=np.uint64)
    written = canonical_key_kernel(np.ascontiguousarray(parent, dtype=np.int32),
                                   np.ascontiguousarray(taxon, dtype=np.int32), 0, n_nodes, bool(rooted), keys, 0)
    return keys[:written]
