"""Numba kernels: maximum-likelihood placement of mutations on a rooted binary tree of cell
groups, and subtree-prune-and-regraft (SPR) hill climbing over such trees.

A tree has ``N = 2k - 1`` nodes, leaves ``0..k-1`` (the groups) and a ``parent`` array with
``-1`` at the root. ``d[g, j]`` is the summed log-likelihood gain of calling mutation ``j``
present rather than absent in every cell of group ``g``. Placing mutation ``j`` on node ``v``
makes it present exactly in the leaves under ``v`` (infinite sites), so the best placement is
``max(0, max_v S[v, j])`` with ``S[v] = sum of d over the leaves under v`` — the exact inner
step of ScisTree (Wu 2020, Bioinformatics 36:742, "Genotype calling on a fixed tree").
"""
from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def _deepest_first(parent):
    n_nodes = parent.shape[0]
    depth = np.full(n_nodes, -1, dtype=np.int64)
    for v in range(n_nodes):
        steps = 0
        u = v
        while u != -1 and depth[u] < 0:
            u = parent[u]
            steps += 1
        base = -1 if u == -1 else depth[u]
        u = v
        while u != -1 and depth[u] < 0:
            depth[u] = base + steps
            u = parent[u]
            steps -= 1
    return np.argsort(-depth)


@njit(cache=True, nogil=True)
def clade_sums(parent, d):
    """``S[v, j]``: the gain ``d`` summed over the leaves under node ``v``, shape (n_nodes, m)."""
    n_nodes = parent.shape[0]
    n_leaves, n_mutations = d.shape
    sums = np.zeros((n_nodes, n_mutations))
    sums[:n_leaves] = d
    for v in _deepest_first(parent):
        p = parent[v]
        if p >= 0:
            for j in range(n_mutations):
                sums[p, j] += sums[v, j]
    return sums


@njit(cache=True, nogil=True)
def placement(parent, d):
    """Best node per mutation (-1 = absent everywhere) and the summed gain."""
    sums = clade_sums(parent, d)
    n_nodes, n_mutations = sums.shape
    best_node = np.full(n_mutations, -1, dtype=np.int64)
    total = 0.0
    for j in range(n_mutations):
        best = 0.0
        for v in range(n_nodes):
            if sums[v, j] > best:
                best = sums[v, j]
                best_node[j] = v
        total += best
    return best_node, total


@njit(cache=True, nogil=True)
def tree_score(parent, d):
    """Summed gain of the best placement of every mutation (the total of :func:`placement`)."""
    sums = clade_sums(parent, d)
    total = 0.0
    for j in range(sums.shape[1]):
        best = 0.0
        for v in range(sums.shape[0]):
            if sums[v, j] > best:
                best = sums[v, j]
        total += best
    return total


@njit(cache=True, nogil=True)
def is_ancestor(parent, a, v):
    """True when ``a`` is ``v`` or lies on the path from ``v`` to the root."""
    while v != -1:
        if v == a:
            return True
        v = parent[v]
    return False


@njit(cache=True, nogil=True)
def spr_move(parent, s, t):
    """Prune the subtree at ``s`` and regraft it on the edge above ``t``; returns a new array."""
    out = parent.copy()
    p = out[s]
    sibling = -1
    for u in range(out.shape[0]):
        if u != s and out[u] == p:
            sibling = u
    out[sibling] = out[p]
    out[p] = out[t]
    out[t] = p
    out[s] = p
    return out


@njit(cache=True, nogil=True)
def top_two(sums):
    """Per mutation, the largest and second-largest clade sums and their nodes."""
    n_nodes, n_mutations = sums.shape
    top = np.full((2, n_mutations), -np.inf)
    node = np.full((2, n_mutations), -1, dtype=np.int64)
    for j in range(n_mutations):
        for v in range(n_nodes):
            value = sums[v, j]
            if value > top[0, j]:
                top[1, j], node[1, j] = top[0, j], node[0, j]
                top[0, j], node[0, j] = value, v
            elif value > top[1, j]:
                top[1, j], node[1, j] = value, v
    return top, node


@njit(cache=True, nogil=True)
def move_score(parent, sums, top, top_node, s, t, delta, changed):
    """Total gain after moving ``s`` above ``t``, touching only the two root paths.

    Pruning ``s`` (parent ``p``) adds ``-S[s]`` to the ancestors of ``p``; regrafting adds
    ``S[s]`` to the new ancestors of ``p``; node ``p`` becomes ``S'[t] + S[s]``. The best
    unchanged node of a mutation is its current best or second best unless both changed, in
    which case (rare) all nodes are rescanned.
    """
    n_nodes, n_mutations = sums.shape
    p = parent[s]
    n_changed = 0
    u = parent[p]
    while u != -1:
        delta[u] -= 1
        changed[n_changed] = u
        n_changed += 1
        u = parent[u]
    u = parent[t]
    while u != -1:
        if u != p:
            delta[u] += 1
            changed[n_changed] = u
            n_changed += 1
        u = parent[u]
    total = 0.0
    for j in range(n_mutations):
        best = sums[t, j] + (delta[t] + 1) * sums[s, j]
        if best < 0.0:
            best = 0.0
        for k in range(n_changed):
            u = changed[k]
            if delta[u] != 0:
                value = sums[u, j] + delta[u] * sums[s, j]
                if value > best:
                    best = value
        first, second = top_node[0, j], top_node[1, j]
        if first != p and delta[first] == 0:
            unchanged = top[0, j]
        elif second != p and delta[second] == 0:
            unchanged = top[1, j]
        else:
            unchanged = -np.inf
            for v in range(n_nodes):
                if v != p and delta[v] == 0 and sums[v, j] > unchanged:
                    unchanged = sums[v, j]
        if unchanged > best:
            best = unchanged
        total += best
    for k in range(n_changed):
        delta[changed[k]] = 0
    return total


@njit(cache=True, nogil=True)
def child_table(parent):
    """(n_nodes, 2) children of each node of a binary tree, -1 where absent."""
    children = np.full((parent.shape[0], 2), -1, dtype=np.int64)
    for v in range(parent.shape[0]):
        p = parent[v]
        if p >= 0:
            if children[p, 0] < 0:
                children[p, 0] = v
            else:
                children[p, 1] = v
    return children


@njit(cache=True, nogil=True)
def regraft_targets(parent, children, s, radius, found, distance):
    """Nodes within ``radius`` edges of ``parent[s]`` outside the subtree of ``s`` (breadth first;
    ``radius < 0``: every node); written to ``found``, their number returned. ``distance`` must
    hold -1 everywhere on entry and does again on exit."""
    n_nodes = parent.shape[0]
    if radius < 0:
        count = 0
        for t in range(n_nodes):
            found[count] = t
            count += 1
        return count
    start = parent[s]
    found[0] = start
    distance[start] = 0
    distance[s] = 0  # never entered: the pruned subtree is no target
    head, count = 0, 1
    while head < count:
        u = found[head]
        head += 1
        if distance[u] == radius:
            continue
        for w in (parent[u], children[u, 0], children[u, 1]):
            if w >= 0 and distance[w] < 0:
                distance[w] = distance[u] + 1
                found[count] = w
                count += 1
    for k in range(count):
        distance[found[k]] = -1
    distance[s] = -1
    return count


@njit(cache=True, nogil=True)
def spr_hill_climb(parent, d, max_sweeps, n_pruned, radius=-1):
    """First-improvement SPR until a sweep finds no better tree (or ``max_sweeps``).

    Only nodes ``0..n_pruned-1`` are pruned (``n_pruned = k`` moves single leaves only), and
    regrafted within ``radius`` edges of where they were (``-1``: anywhere; the lazy, distance-
    limited SPR of RAxML, Stamatakis 2006, Bioinformatics 22:2688, which makes a sweep over
    thousands of cells linear rather than quadratic in their number).
    """
    n_nodes = parent.shape[0]
    sums = clade_sums(parent, d)
    top, top_node = top_two(sums)
    best = np.maximum(top[0], 0.0).sum()
    delta = np.zeros(n_nodes, dtype=np.int64)
    changed = np.zeros(2 * n_nodes, dtype=np.int64)
    found = np.zeros(n_nodes, dtype=np.int64)
    distance = np.full(n_nodes, -1, dtype=np.int64)
    children = child_table(parent)
    for _ in range(max_sweeps):
        improved = False
        for s in range(n_pruned):
            if parent[s] == -1:
                continue
            n_targets = regraft_targets(parent, children, s, radius, found, distance)
            for k in range(n_targets):
                t = found[k]
                p = parent[s]
                if t == s or t == p or parent[t] == p or is_ancestor(parent, s, t):
                    continue
                score = move_score(parent, sums, top, top_node, s, t, delta, changed)
                if score > best + 1e-9:
                    parent = spr_move(parent, s, t)
                    children = child_table(parent)
                    sums = clade_sums(parent, d)
                    top, top_node = top_two(sums)
                    best = np.maximum(top[0], 0.0).sum()
                    improved = True
                    if radius >= 0:
                        break  # the target list belongs to the old tree

        if not improved:
            break
    return parent, best


@njit(cache=True, nogil=True)
def leaf_genotypes(parent, best_node, n_leaves):
    """(n_nodes, m) 0/1 genotypes: node v carries mutation j iff best_node[j] is v or an ancestor."""
    n_nodes = parent.shape[0]
    n_mutations = best_node.shape[0]
    genotypes = np.zeros((n_nodes, n_mutations), dtype=np.int8)
    for v in range(n_nodes):
        u = v
        while u != -1:
            for j in range(n_mutations):
                if best_node[j] == u:
                    genotypes[v, j] = 1
            u = parent[u]
    return genotypes
