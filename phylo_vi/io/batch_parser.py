"""Numba byte-level parser of one-line tree statements, many trees per call.

The kernel reads a buffer of complete lines and, for every line holding one tree, writes
the same post-order arrays as :func:`phylo_vi.io.newick.parse_newick` (parent, branch
length, taxon), the clade bitset of every node and the canonical topology key of
:meth:`phylo_vi.trees.Tree.topology_key`. Line modes:

- ``MODE_NEXUS``: ``tree NAME [comments] = [comments] newick;`` (MrBayes, BEAST);
- ``MODE_NEWICK``: ``[comments] newick;`` (one Newick tree per line).

Leaf labels are looked up in a :class:`~phylo_vi.io.label_table.LabelTable`; branch lengths
are converted by :func:`~phylo_vi.io.exact_decimal.read_number` where that is exact, and
otherwise returned as byte spans (``hard_node``, ``hard_span``) for the caller to convert.

The kernel never guesses: a line it cannot parse in full (quoted labels, unknown labels,
internal labels after a space, a repeated taxon, odd numbers, ...) is handed back to the
caller (``FALLBACK``), which parses it with the reference parser and so raises the same
errors; a line that is not a one-line tree statement (``end;``, a statement spanning lines)
stops the kernel (``STOP``) so that the caller can continue with the statement reader.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from phylo_vi.io.byte_codes import (AMPERSAND, ASTERISK, CASE_BIT, CLOSE_BRACKET, CLOSE_PAREN, COLON, COMMA, EQUALS,
                                    LOWER_E, LOWER_R, LOWER_T, LOWER_U, LOWER_W, NEWLINE, OPEN_BRACKET, OPEN_PAREN,
                                    QUOTE, SEMICOLON, is_label_byte, is_space)
from phylo_vi.io.exact_decimal import DEFERRED, EXACT, INVALID, read_number
from phylo_vi.io.label_table import lookup_label
from phylo_vi.trees.bitset import leaf_set_kernel, topology_key_kernel
from phylo_vi.trees.canonical_key import canonical_key_kernel

MODE_NEXUS, MODE_NEWICK = 0, 1
NEED_MORE, FULL, FALLBACK, STOP, HARD_FULL = 0, 1, 2, 3, 4

# indices into the ``state`` array shared by the caller and the kernel
S_POS, S_TREES, S_NODES, S_KEYS, S_HARD, S_INDEX, S_LINE, S_LINE_START, S_LINE_END, S_STAMP = range(10)
N_STATE = 10

# rooting comments: [&R] rooted, [&U] unrooted, none
ROOTED, UNROOTED, NO_ROOTING = 1, 0, -1
# weight comments [&W w]: none, a weight the kernel read, one it cannot read
NO_WEIGHT, WEIGHT_READ, BAD_WEIGHT = 0, 1, -1


class ParseOptions(NamedTuple):
    """What the caller asks of the kernel (all integers, so one compiled signature serves all files).

    ``rooted_override`` 1 / 0 forces every tree rooted / unrooted, -1 honours ``[&R]`` / ``[&U]``
    and then ``default_rooted``; ``max_nodes`` bounds the nodes of one tree (larger trees are
    handed back); ``n_words`` is the bitset width of the namespace; ``canonical_keys`` 1 writes
    canonical codes and no clades, 0 clades and split keys.
    """

    mode: int
    default_rooted: int
    rooted_override: int
    n_burnin: int
    thin: int
    n_words: int
    max_nodes: int
    canonical_keys: int


class BatchArrays(NamedTuple):
    """Output of the kernel: per tree, per node, keys, and the numbers left to the caller."""

    node_start: np.ndarray  # (capacity + 1,) int64: nodes of tree t are node_start[t]:node_start[t + 1]
    rooted: np.ndarray      # (capacity,) bool
    weight: np.ndarray      # (capacity,) float64
    line: np.ndarray        # (capacity,) int64: line where the statement starts (1-based)
    index: np.ndarray       # (capacity,) int64: position of the tree in its file (0-based)
    name_span: np.ndarray   # (capacity, 2) int64: bytes of the NEXUS tree name
    parent: np.ndarray      # (node capacity,) int32
    length: np.ndarray      # (node capacity,) float64
    taxon: np.ndarray       # (node capacity,) int32
    clades: np.ndarray      # (node capacity, n_words) uint64; no rows with canonical keys
    leaf_sets: np.ndarray   # (capacity, n_words) uint64
    key_start: np.ndarray   # (capacity + 1,) int64
    keys: np.ndarray        # (key capacity,) uint64
    hard_node: np.ndarray   # (hard capacity,) int64: nodes whose length the caller converts ...
    hard_span: np.ndarray   # (hard capacity, 2) int64: ... from these bytes


class Workspace(NamedTuple):
    """Scratch arrays of one tree, reused from tree to tree."""

    pending: np.ndarray  # (max_nodes,) int32: finished subtrees waiting for their parent's ')'
    opened: np.ndarray   # (max_nodes,) int32: for each open '(', where its children start in pending
    counts: np.ndarray   # (max_nodes,) int32: leaves below each node
    seen: np.ndarray     # (n_taxa,) int64: stamp of the last tree that held each taxon
    tmp: np.ndarray      # (max(max_nodes, n_words),) uint64: scratch of the key sort


def new_workspace(max_nodes: int, n_taxa: int, n_words: int) -> Workspace:
    return Workspace(np.empty(max_nodes, dtype=np.int32), np.empty(max_nodes, dtype=np.int32),
                     np.empty(max_nodes, dtype=np.int32), np.zeros(max(n_taxa, 1), dtype=np.int64),
                     np.empty(max(max_nodes, n_words), dtype=np.uint64))


@njit(cache=True, nogil=True)
def parse_lines(buf, n, options, labels, out, work, state):
    """Parse the complete lines of ``buf[state[S_POS]:n]`` (see the module docstring).

    Returns NEED_MORE (all lines consumed), FULL (a batch output is full) or HARD_FULL (the
    list of numbers left to the caller is full; in both cases the line is not consumed),
    FALLBACK or STOP (the line ``buf[state[S_LINE_START]:state[S_LINE_END]]`` is
    left to the caller; ``state[S_POS]`` is at its start).
    """
    pos = state[S_POS]
    while pos < n:
        line_start, line_end, i, end = _trimmed_line(buf, pos, n)
        state[S_LINE_START] = line_start
        state[S_LINE_END] = line_end
        if i < end:
            i = _tree_statement_start(buf, i, end, options.mode)
            if i < 0:
                state[S_POS] = line_start
                return STOP
            index = state[S_INDEX]
            state[S_INDEX] += 1
            if index >= options.n_burnin and (index - options.n_burnin) % options.thin == 0:
                status = _room_for_a_tree(out, options, state)
                if status != NEED_MORE:
                    state[S_INDEX] -= 1
                    state[S_POS] = line_start
                    return status
                state[S_POS] = line_start
                if not _parse_tree(buf, i, end, index, options, labels, out, work, state):
                    return FALLBACK
                state[S_POS] = line_end + 1
        pos = line_end + 1
        state[S_LINE] += 1
    state[S_POS] = pos
    return NEED_MORE


@njit(cache=True, nogil=True)
def _trimmed_line(buf, pos, n):
    """(start, end) of the line at ``buf[pos:]`` (end at its newline) and its bytes without surrounding blanks."""
    line_end = pos
    while line_end < n and buf[line_end] != NEWLINE:
        line_end += 1
    end = line_end
    while end > pos and is_space(buf[end - 1]):
        end -= 1
    i = pos
    while i < end and is_space(buf[i]):
        i += 1
    return pos, line_end, i, end


@njit(cache=True, nogil=True)
def _tree_statement_start(buf, i, end, mode) -> int:
    """Position after ``tree`` / ``utree`` (NEXUS) or of the tree (Newick); -1 when not a one-line tree."""
    if buf[end - 1] != SEMICOLON:
        return -1
    if mode == MODE_NEWICK:
        return i if buf[i] == OPEN_PAREN or buf[i] == OPEN_BRACKET else -1
    if (buf[i] | CASE_BIT) == LOWER_U and i + 5 < end and (buf[i + 1] | CASE_BIT) == LOWER_T:
        i += 1
    if (i + 4 < end and (buf[i] | CASE_BIT) == LOWER_T and (buf[i + 1] | CASE_BIT) == LOWER_R
            and (buf[i + 2] | CASE_BIT) == LOWER_E and (buf[i + 3] | CASE_BIT) == LOWER_E and is_space(buf[i + 4])):
        return i + 4
    return -1


@njit(cache=True, nogil=True, inline="always")
def _room_for_a_tree(out, options, state) -> int:
    """NEED_MORE when one more tree of ``options.max_nodes`` nodes fits the outputs, else FULL / HARD_FULL."""
    max_nodes = options.max_nodes
    key_words = (max_nodes + 1) * (1 if options.canonical_keys else options.n_words)
    if (state[S_TREES] >= len(out.rooted) or state[S_NODES] + max_nodes > len(out.parent)
            or state[S_KEYS] + key_words > len(out.keys)):
        return FULL
    if state[S_HARD] + max_nodes > len(out.hard_node):
        return HARD_FULL
    return NEED_MORE


@njit(cache=True, nogil=True, inline="always")
def _parse_tree(buf, i, end, index, options, labels, out, work, state) -> bool:
    """Parse the tree statement from ``buf[i]`` into tree ``state[S_TREES]`` of ``out``; False to fall back."""
    t = state[S_TREES]
    if options.mode == MODE_NEXUS:
        i, weight, rooting = _nexus_head(buf, i, end, t, out.name_span)
    else:
        i, weight, rooting = _newick_head(buf, i, end, t, out.name_span)
    if i < 0:
        return False
    base = state[S_NODES]
    state[S_STAMP] += 1
    n_nodes, n_hard = _read_newick(buf, i, end, base, state[S_HARD], state[S_STAMP], labels, out, work)
    if n_nodes <= 0:
        return False
    if options.rooted_override >= 0:
        is_rooted = options.rooted_override == ROOTED
    elif rooting >= 0:
        is_rooted = rooting == ROOTED
    else:
        is_rooted = options.default_rooted == ROOTED
    k0 = state[S_KEYS]
    if options.canonical_keys:
        written = canonical_key_kernel(out.parent, out.taxon, base, n_nodes, is_rooted, out.keys, k0)
        leaf_set_kernel(out.taxon, base, n_nodes, out.leaf_sets[t])
    else:
        written = _clades_and_key(out, work, base, n_nodes, options.n_words, is_rooted, k0)
        for w in range(options.n_words):
            out.leaf_sets[t, w] = out.clades[base + n_nodes - 1, w]
    out.rooted[t] = is_rooted
    out.weight[t] = weight
    out.line[t] = state[S_LINE] + 1
    out.index[t] = index
    out.node_start[t + 1] = base + n_nodes
    out.key_start[t + 1] = k0 + written
    state[S_TREES] = t + 1
    state[S_NODES] = base + n_nodes
    state[S_KEYS] = k0 + written
    state[S_HARD] = n_hard
    return True


# ----------------------------------------------------------------------- statement heads
@njit(cache=True, nogil=True)
def _nexus_head(buf, i, end, t, name_span):
    """``NAME [comments] = [comments]`` → (position of the tree, weight, rooting); position -1 to fall back."""
    while i < end and is_space(buf[i]):
        i += 1
    name_begin = i
    while i < end and not (is_space(buf[i]) or buf[i] == OPEN_BRACKET or buf[i] == EQUALS):
        if buf[i] == QUOTE:
            return -1, 1.0, NO_ROOTING
        i += 1
    name_span[t, 0] = name_begin
    name_span[t, 1] = i
    if i == name_begin or buf[name_begin] == ASTERISK:
        return -1, 1.0, NO_ROOTING
    i, _, weight_status, weight = _comment_run(buf, i, end)
    if weight_status == BAD_WEIGHT or i >= end or buf[i] != EQUALS:
        return -1, 1.0, NO_ROOTING
    i, rooting, second_status, second_weight = _comment_run(buf, i + 1, end)
    if second_status == BAD_WEIGHT:
        return -1, 1.0, NO_ROOTING
    if weight_status == WEIGHT_READ:
        return i, weight, rooting
    return i, second_weight if second_status == WEIGHT_READ else 1.0, rooting


@njit(cache=True, nogil=True)
def _newick_head(buf, i, end, t, name_span):
    """Rooting of a Newick line from its first comment; the tree itself starts at ``i`` (comments skipped later)."""
    name_span[t, 0] = -1
    name_span[t, 1] = -1
    rooting = NO_ROOTING
    if buf[i] == OPEN_BRACKET:
        close = _skip_comment(buf, i, end)
        if close < 0:
            return -1, 1.0, NO_ROOTING
        rooting, _, _ = _comment_flags(buf, i, close)
    return i, 1.0, rooting


@njit(cache=True, nogil=True)
def _skip_comment(buf, i, end) -> int:
    """Position after the ``]`` closing the comment opened at ``buf[i]``; -1 when unclosed."""
    i += 1
    while i < end and buf[i] != CLOSE_BRACKET:
        i += 1
    return i + 1 if i < end else -1


@njit(cache=True, nogil=True)
def _comment_flags(buf, i, close):
    """(rooting, weight status, weight) of the comment ``buf[i:close]``: ``[&R]``, ``[&U]``, ``[&W w]`` or other."""
    if (close - i == 4 and buf[i + 1] == AMPERSAND and (buf[i + 2] | CASE_BIT) in (LOWER_R, LOWER_U)
            and buf[i + 3] == CLOSE_BRACKET):
        return (ROOTED if (buf[i + 2] | CASE_BIT) == LOWER_R else UNROOTED), NO_WEIGHT, 1.0
    if close - i >= 5 and buf[i + 1] == AMPERSAND and (buf[i + 2] | CASE_BIT) == LOWER_W and is_space(buf[i + 3]):
        j = i + 3
        while j < close and is_space(buf[j]):
            j += 1
        k, status, weight = read_number(buf, j, close - 1)
        while k < close - 1 and is_space(buf[k]):
            k += 1
        if status != EXACT or k != close - 1:
            return NO_ROOTING, BAD_WEIGHT, 1.0
        return NO_ROOTING, WEIGHT_READ, weight
    return NO_ROOTING, NO_WEIGHT, 1.0


@njit(cache=True, nogil=True)
def _comment_run(buf, i, end):
    """Skip whitespace and ``[...]`` comments from ``buf[i]``; stop at the first other byte.

    Returns (position, rooting, weight status, weight): the first ``[&R]``/``[&U]`` flag met and,
    as in :func:`_comment_flags`, the first ``[&W w]`` weight; BAD_WEIGHT when a comment cannot
    be handled here.
    """
    rooting = NO_ROOTING
    weight_status = NO_WEIGHT
    weight = 1.0
    while i < end:
        if is_space(buf[i]):
            i += 1
            continue
        if buf[i] != OPEN_BRACKET:
            break
        close = _skip_comment(buf, i, end)
        if close < 0:
            return i, rooting, BAD_WEIGHT, weight
        flag, status, value = _comment_flags(buf, i, close)
        if status == BAD_WEIGHT:
            return i, rooting, BAD_WEIGHT, weight
        if status == WEIGHT_READ and weight_status != WEIGHT_READ:
            weight_status, weight = WEIGHT_READ, value
        if flag >= 0 and rooting < 0:
            rooting = flag
        i = close
    return i, rooting, weight_status, weight


# ------------------------------------------------------------------------- the Newick tree
@njit(cache=True, nogil=True, inline="always")
def _read_newick(buf, i, end, base, n_hard, stamp, labels, out, work):
    """Nodes of the Newick tree at ``buf[i:end]`` in post-order from ``out`` row ``base``.

    Returns (number of nodes, number of numbers left to the caller); 0 nodes to fall back.
    A subtree is finished at its leaf label or its ``)``; finished subtrees wait in ``pending``
    until the ``)`` of their parent numbers it after them (post-order). The per-byte work stays
    in this loop: a call per leaf or branch that passes arrays costs twice the parsing.
    """
    parent, length, taxon = out.parent, out.length, out.taxon
    pending, opened, seen = work.pending, work.opened, work.seen
    max_nodes = len(pending)
    n_nodes = 0
    n_pending = 0
    n_open = 0
    expect_subtree = True
    current = -1
    done = False
    while i < end:
        c = buf[i]
        if is_space(c):
            i += 1
            continue
        if c == OPEN_BRACKET:
            i = _skip_comment(buf, i, end)
            if i < 0:
                return 0, n_hard
            continue
        if done:
            return 0, n_hard
        if expect_subtree:
            if c == OPEN_PAREN:
                if n_open >= max_nodes:
                    return 0, n_hard
                opened[n_open] = n_pending
                n_open += 1
                i += 1
                continue
            if not is_label_byte(c) or n_nodes >= max_nodes:
                return 0, n_hard
            j = _label_end(buf, i, end)
            leaf_taxon = lookup_label(buf, i, j, labels)
            if leaf_taxon < 0 or seen[leaf_taxon] == stamp:  # unknown or repeated
                return 0, n_hard
            seen[leaf_taxon] = stamp
            parent[base + n_nodes] = -1
            length[base + n_nodes] = np.nan
            taxon[base + n_nodes] = leaf_taxon
            current = n_nodes
            n_nodes += 1
            expect_subtree = False
            i = j
        elif c == COLON:
            i = _number_start(buf, i + 1, end)
            j, status, value = read_number(buf, i, end) if i >= 0 else (0, INVALID, 0.0)
            if status == INVALID:
                return 0, n_hard
            length[base + current] = value  # NaN when deferred to the caller
            if status == DEFERRED:
                out.hard_node[n_hard] = base + current
                out.hard_span[n_hard, 0] = i
                out.hard_span[n_hard, 1] = j
                n_hard += 1
            i = j
        elif c == COMMA:
            if n_open == 0:
                return 0, n_hard
            pending[n_pending] = current
            n_pending += 1
            expect_subtree = True
            i += 1
        elif c == CLOSE_PAREN:
            if n_open == 0 or n_nodes >= max_nodes:
                return 0, n_hard
            pending[n_pending] = current
            n_open -= 1
            for k in range(opened[n_open], n_pending + 1):
                parent[base + pending[k]] = n_nodes
            n_pending = opened[n_open]
            parent[base + n_nodes] = -1
            length[base + n_nodes] = np.nan
            taxon[base + n_nodes] = -1
            current = n_nodes
            n_nodes += 1
            i = _label_end(buf, i + 1, end)  # an internal node's label is not kept
        elif c == SEMICOLON:
            if n_open != 0:
                return 0, n_hard
            done = True
            i += 1
        else:
            return 0, n_hard
    if not done:
        return 0, n_hard
    return n_nodes, n_hard


@njit(cache=True, nogil=True)
def _label_end(buf, i, end) -> int:
    """Position after the unquoted label starting at ``buf[i]``."""
    while i < end and is_label_byte(buf[i]):
        i += 1
    return i


@njit(cache=True, nogil=True)
def _number_start(buf, i, end) -> int:
    """Position of the number after ``:``, past whitespace and comments; -1 for an unclosed comment."""
    while i < end and (is_space(buf[i]) or buf[i] == OPEN_BRACKET):
        if buf[i] == OPEN_BRACKET:
            i = _skip_comment(buf, i, end)
            if i < 0:
                return -1
        else:
            i += 1
    return i


@njit(cache=True, nogil=True, inline="always")
def _clades_and_key(out, work, base, n_nodes, n_words, rooted, k0) -> int:
    """Clade bitsets of the tree's nodes and its topology key at ``out.keys[k0:]``; returns the key's words."""
    clades, counts = out.clades, work.counts
    for v in range(n_nodes):
        for w in range(n_words):
            clades[base + v, w] = 0
        counts[v] = 0
    for v in range(n_nodes):
        node = base + v
        taxon = out.taxon[node]
        if taxon >= 0:
            clades[node, taxon // 64] |= np.uint64(1) << np.uint64(taxon % 64)
            counts[v] += 1
        p = out.parent[node]
        if p >= 0:
            counts[p] += counts[v]
            for w in range(n_words):
                clades[base + p, w] |= clades[node, w]
    return topology_key_kernel(clades, counts, base, n_nodes, n_words, rooted, out.keys, k0, work.tmp)


@njit(cache=True, nogil=True)
def canonical_rekey_kernel(node_offsets, parent, taxon, rooted, key_start, keys):
    """Canonical codes of every tree of a batch with the rooting forced to ``rooted``."""
    key_start[0] = 0
    for t in range(node_offsets.shape[0] - 1):
        base = node_offsets[t]
        key_start[t + 1] = key_start[t] + canonical_key_kernel(parent, taxon, base, node_offsets[t + 1] - base, rooted,
                                                               keys, key_start[t])


@njit(cache=True, nogil=True)
def rekey_kernel(node_offsets, parent, taxon, clades, n_words, rooted, key_start, keys, counts, tmp):
    """Topology keys of every tree of a batch with the rooting forced to ``rooted``."""
    n_trees = node_offsets.shape[0] - 1
    key_start[0] = 0
    for t in range(n_trees):
        base = node_offsets[t]
        n_nodes = node_offsets[t + 1] - base
        for v in range(n_nodes):
            counts[v] = 0
        for v in range(n_nodes):
            if taxon[base + v] >= 0:
                counts[v] += 1
            p = parent[base + v]
            if p >= 0:
                counts[p] += counts[v]
        key_start[t + 1] = key_start[t] + topology_key_kernel(clades, counts, base, n_nodes, n_words, rooted, keys,
                                                              key_start[t], tmp)
