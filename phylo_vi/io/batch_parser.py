"""Numba byte-level parser of one-line tree statements, many trees per call.

The kernel reads a buffer of complete lines and, for every line holding one tree, writes
the same post-order arrays as :func:`phylo_vi.io.newick.parse_newick` (parent, branch
length, taxon), the clade bitset of every node and the canonical topology key of
:meth:`phylo_vi.trees.Tree.topology_key`. Line modes:

- ``MODE_NEXUS``: ``tree NAME [comments] = [comments] newick;`` (MrBayes, BEAST);
- ``MODE_NEWICK``: ``[comments] newick;`` (one Newick tree per line).

Leaf labels (translate tokens or taxon names) are looked up in an open-addressing hash table
of their bytes (FNV-1a, verified byte by byte). Branch lengths are converted exactly where
Clinger's fast path applies (at most 2**53 for the significand, a power of ten up to 1e22:
one correctly rounded multiplication or division, so the result equals Python's
``float``); other numbers are returned as byte spans for an exact conversion by the caller.

The kernel never guesses: a line it cannot parse in full (quoted labels, unknown labels,
internal labels after a space, a repeated taxon, odd numbers, ...) is handed back to the
caller (``FALLBACK``), which parses it with the reference parser and so raises the same
errors; a line that is not a one-line tree statement (``end;``, a statement spanning lines)
stops the kernel (``STOP``) so that the caller can continue with the statement reader.

W. D. Clinger (1990), "How to read floating point numbers accurately", PLDI '90, 92-101.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from phylo_vi.trees.bitset import topology_key_kernel

MODE_NEXUS, MODE_NEWICK = 0, 1
NEED_MORE, FULL, FALLBACK, STOP, HARD_FULL = 0, 1, 2, 3, 4

# indices into the ``state`` array shared by the caller and the kernel
S_POS, S_TREES, S_NODES, S_KEYS, S_HARD, S_INDEX, S_LINE, S_LINE_START, S_LINE_END, S_STAMP = range(10)
N_STATE = 10

_POW10 = np.array([10.0 ** k for k in range(23)])
_MAX_EXACT = np.uint64(1) << np.uint64(53)
_FNV_OFFSET = np.uint64(14695981039346656037)
_FNV_PRIME = np.uint64(1099511628211)


@njit(cache=True, nogil=True)
def _parse_one(buf, out) -> int:
    end, status = _number(buf, 0, len(buf), out)
    return status if end == len(buf) else -1


def parse_decimal(text: bytes) -> float | None:
    """The kernel's conversion of one number (None where it defers to the caller); for tests."""
    out = np.zeros(1)
    status = _parse_one(np.frombuffer(text, dtype=np.uint8), out)
    return float(out[0]) if status == 0 else None


def label_hash(label: bytes) -> int:
    """FNV-1a 64-bit hash of ``label``, as the kernel computes it."""
    value = 14695981039346656037
    for byte in label:
        value = ((value ^ byte) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return value


def _byte_classes() -> np.ndarray:
    classes = np.zeros(256, dtype=np.uint8)
    for byte in range(256):
        space = byte == 32 or 9 <= byte <= 13
        if space:
            classes[byte] |= _SPACE
        if not space and bytes([byte]) not in b"()[]',:;":
            classes[byte] |= _LABEL
        if space or bytes([byte]) in b",)[;":
            classes[byte] |= _AFTER_NUMBER
    return classes


_SPACE, _LABEL, _AFTER_NUMBER = 1, 2, 4
_CLASSES = _byte_classes()


@njit(cache=True, nogil=True)
def _space(c) -> bool:
    return (_CLASSES[c] & _SPACE) != 0


@njit(cache=True, nogil=True)
def _label_char(c) -> bool:
    """Not whitespace and not one of ( ) [ ] ' , : ;"""
    return (_CLASSES[c] & _LABEL) != 0


@njit(cache=True, nogil=True)
def _lookup(buf, start, end, slots, entry_bytes, entry_offsets, entry_taxon) -> int:
    h = _FNV_OFFSET
    for i in range(start, end):
        h = (h ^ np.uint64(buf[i])) * _FNV_PRIME
    mask = np.uint64(len(slots) - 1)
    slot = h & mask
    length = end - start
    while True:
        entry = slots[slot]
        if entry < 0:
            return -1
        s = entry_offsets[entry]
        if entry_offsets[entry + 1] - s == length:
            same = True
            for k in range(length):
                if entry_bytes[s + k] != buf[start + k]:
                    same = False
                    break
            if same:
                return entry_taxon[entry]
        slot = (slot + np.uint64(1)) & mask


@njit(cache=True, nogil=True)
def _number(buf, i, end, out):
    """Parse a number at ``buf[i:]``; ``out[0]`` value, returns (next position, status).

    status 0: exact value in out[0]; 1: valid syntax but not exact here (caller converts the
    span); -1: not a number the kernel accepts.
    """
    negative = False
    if i < end and (buf[i] == 45 or buf[i] == 43):
        negative = buf[i] == 45
        i += 1
    mantissa = np.uint64(0)
    significant = 0
    digits = 0
    fraction = 0
    while i < end and 48 <= buf[i] <= 57:
        d = buf[i] - 48
        if significant > 0 or d != 0:
            significant += 1
            if significant <= 19:
                mantissa = mantissa * np.uint64(10) + np.uint64(d)
            else:
                fraction -= 1
        digits += 1
        i += 1
    if i < end and buf[i] == 46:
        i += 1
        while i < end and 48 <= buf[i] <= 57:
            d = buf[i] - 48
            if significant > 0 or d != 0:
                significant += 1
                if significant <= 19:
                    mantissa = mantissa * np.uint64(10) + np.uint64(d)
                    fraction += 1
            else:
                fraction += 1
            digits += 1
            i += 1
    if digits == 0:
        return i, -1
    exponent = 0
    if i < end and (buf[i] == 101 or buf[i] == 69):
        i += 1
        exp_negative = False
        if i < end and (buf[i] == 45 or buf[i] == 43):
            exp_negative = buf[i] == 45
            i += 1
        exp_digits = 0
        while i < end and 48 <= buf[i] <= 57:
            if exponent < 100000:
                exponent = exponent * 10 + (buf[i] - 48)
            exp_digits += 1
            i += 1
        if exp_digits == 0:
            return i, -1
        if exp_negative:
            exponent = -exponent
    if i < end and (_CLASSES[buf[i]] & _AFTER_NUMBER) == 0:
        return i, -1
    if significant > 18:
        return i, 1
    e10 = exponent - fraction
    if mantissa == 0:
        out[0] = -0.0 if negative else 0.0
        return i, 0
    while mantissa % np.uint64(10) == 0:
        mantissa //= np.uint64(10)
        e10 += 1
    if mantissa > _MAX_EXACT:
        if -22 <= e10 < 0:
            value = _divide_exactly(mantissa, _POW10[-e10])
            if value < 0.0:
                return i, 1
        else:
            return i, 1
    else:
        value = float(mantissa)
        if 0 <= e10 <= 22:
            value = value * _POW10[e10]
        elif -22 <= e10 < 0:
            value = value / _POW10[-e10]
        elif 22 < e10 <= 22 + 15:
            scaled = mantissa
            for _ in range(e10 - 22):
                scaled *= np.uint64(10)
                if scaled > _MAX_EXACT:
                    return i, 1
            value = float(scaled) * _POW10[22]
        else:
            return i, 1
    out[0] = -value if negative else value
    return i, 0


@njit(cache=True, nogil=True)
def _two_product(a: float, b: float):
    """``a * b = p + e`` exactly (Dekker 1971, without a fused multiply-add)."""
    p = a * b
    c = 134217729.0 * a
    a_hi = c - (c - a)
    a_lo = a - a_hi
    c = 134217729.0 * b
    b_hi = c - (c - b)
    b_lo = b - b_hi
    e = ((a_hi * b_hi - p) + a_hi * b_lo + a_lo * b_hi) + a_lo * b_lo
    return p, e


@njit(cache=True, nogil=True)
def _divide_exactly(mantissa, power: float) -> float:
    """Correctly rounded ``mantissa / power`` for ``2**53 < mantissa < 2**60``, ``power`` = 10**k, k <= 22.

    A candidate quotient is checked against the exact residual ``mantissa - v * power``
    (a double-double, Dekker's product) and moved by one unit in the last place when the
    residual says so. Returns -1 when the residual is too close to half a unit to decide
    (the caller then converts the text itself).
    """
    high = float(mantissa)
    low = float(np.int64(mantissa) - np.int64(high))
    value = high / power
    for _ in range(3):
        product, error = _two_product(value, power)
        residual = ((high - product) - error) + low
        if residual >= 0.0:
            half_gap = (np.nextafter(value, np.inf) - value) * power * 0.5
        else:
            half_gap = (value - np.nextafter(value, -np.inf)) * power * 0.5
        size = abs(residual)
        if size < half_gap * (1.0 - 1e-9):
            return value
        if size <= half_gap * (1.0 + 1e-9):
            return -1.0
        value = np.nextafter(value, np.inf if residual > 0.0 else -np.inf)
    return -1.0


@njit(cache=True, nogil=True)
def _skip_comment(buf, i, end) -> int:
    """Position after the ``]`` closing the comment opened at ``buf[i]``; -1 when unclosed."""
    i += 1
    while i < end and buf[i] != 93:
        i += 1
    return i + 1 if i < end else -1


@njit(cache=True, nogil=True)
def _comment_flags(buf, i, close, value, number_out):
    """Rooting (1 R, 0 U, -1 none) and weight status of the comment ``buf[i:close]``.

    Returns (rooting, weight_status): weight_status 0 no weight, 1 weight in value[0], -1 a
    weight the kernel does not parse (caller falls back).
    """
    if close - i == 4 and buf[i + 1] == 38 and (buf[i + 2] | 32) in (114, 117) and buf[i + 3] == 93:
        return (1 if (buf[i + 2] | 32) == 114 else 0), 0
    if close - i >= 5 and buf[i + 1] == 38 and (buf[i + 2] | 32) == 119 and _space(buf[i + 3]):
        j = i + 3
        while j < close and _space(buf[j]):
            j += 1
        k, status = _number(buf, j, close - 1, number_out)
        while k < close - 1 and _space(buf[k]):
            k += 1
        if status != 0 or k != close - 1:
            return -1, -1
        value[0] = number_out[0]
        return -1, 1
    return -1, 0


@njit(cache=True, nogil=True)
def _comment_run(buf, i, end, value, number_out):
    """Skip whitespace and ``[...]`` comments from ``buf[i]``; stop at the first other byte.

    Returns (position, rooting, weight_status): the first ``[&R]``/``[&U]`` flag met (-1 none) and,
    as in :func:`_comment_flags`, 1 with the first ``[&W w]`` weight in ``value[0]``, 0 without
    one, -1 when a comment cannot be handled here (caller falls back).
    """
    rooting = -1
    weight_status = 0
    while i < end:
        if _space(buf[i]):
            i += 1
            continue
        if buf[i] != 91:
            break
        close = _skip_comment(buf, i, end)
        if close < 0:
            return i, rooting, -1
        weight = value[0]
        root_flag, status = _comment_flags(buf, i, close, value, number_out)
        if status < 0:
            return i, rooting, -1
        if status == 1 and weight_status == 1:
            value[0] = weight
        elif status == 1:
            weight_status = 1
        if root_flag >= 0 and rooting < 0:
            rooting = root_flag
        i = close
    return i, rooting, weight_status


@njit(cache=True, nogil=True)
def parse_lines(buf, n, mode, default_rooted, rooted_override, n_burnin, thin,
                slots, entry_bytes, entry_offsets, entry_taxon, n_taxa, n_words,
                node_start, tree_rooted, tree_weight, tree_line, tree_index, name_span,
                parent, length, taxon, clades, key_start, keys,
                hard_node, hard_span, max_nodes, state, scratch, seen, tmp):
    """Parse the complete lines of ``buf[state[S_POS]:n]`` (see the module docstring).

    Returns NEED_MORE (all lines consumed), FULL (a batch output is full) or HARD_FULL (the
    list of numbers left to the caller is full; in both cases the line is not consumed),
    FALLBACK or STOP (the line ``buf[state[S_LINE_START]:state[S_LINE_END]]`` is
    left to the caller; ``state[S_POS]`` is at its start).
    """
    cap_trees = len(tree_rooted)
    cap_nodes = len(parent)
    cap_keys = len(keys)
    cap_hard = len(hard_node)
    value = np.zeros(1)
    number_out = np.zeros(1)
    pending = scratch[:max_nodes]
    opened = scratch[max_nodes:2 * max_nodes]
    counts = scratch[2 * max_nodes:3 * max_nodes]
    pos = state[S_POS]
    while pos < n:
        line_start = pos
        line_end = pos
        while line_end < n and buf[line_end] != 10:
            line_end += 1
        next_pos = line_end + 1
        end = line_end
        while end > line_start and _space(buf[end - 1]):
            end -= 1
        i = line_start
        while i < end and _space(buf[i]):
            i += 1
        state[S_LINE_START] = line_start
        state[S_LINE_END] = line_end
        if i == end:
            pos = next_pos
            state[S_LINE] += 1
            continue
        if buf[end - 1] != 59:
            state[S_POS] = line_start
            return STOP
        if mode == MODE_NEXUS:
            c0 = buf[i] | 32
            if c0 == 117 and i + 5 < end and (buf[i + 1] | 32) == 116:
                i += 1
            if not (i + 4 < end and (buf[i] | 32) == 116 and (buf[i + 1] | 32) == 114 and (buf[i + 2] | 32) == 101
                    and (buf[i + 3] | 32) == 101 and _space(buf[i + 4])):
                state[S_POS] = line_start
                return STOP
            i += 4
        elif buf[i] != 40 and buf[i] != 91:
            state[S_POS] = line_start
            return STOP
        index = state[S_INDEX]
        state[S_INDEX] += 1
        if index < n_burnin or (index - n_burnin) % thin != 0:
            pos = next_pos
            state[S_LINE] += 1
            continue
        t = state[S_TREES]
        base = state[S_NODES]
        k0 = state[S_KEYS]
        if t >= cap_trees or base + max_nodes > cap_nodes or k0 + (max_nodes + 1) * n_words > cap_keys:
            state[S_INDEX] -= 1
            state[S_POS] = line_start
            return FULL
        if state[S_HARD] + max_nodes > cap_hard:
            state[S_INDEX] -= 1
            state[S_POS] = line_start
            return HARD_FULL
        state[S_POS] = line_start
        rooting = -1
        weight = 1.0
        weight_set = False
        if mode == MODE_NEXUS:
            while i < end and _space(buf[i]):
                i += 1
            name_begin = i
            while i < end and not (_space(buf[i]) or buf[i] == 91 or buf[i] == 61):
                if buf[i] == 39:
                    return FALLBACK
                i += 1
            name_span[t, 0] = name_begin
            name_span[t, 1] = i
            if i == name_begin or buf[name_begin] == 42:
                return FALLBACK
            i, _, weight_status = _comment_run(buf, i, end, value, number_out)
            if weight_status < 0 or i >= end or buf[i] != 61:
                return FALLBACK
            if weight_status == 1:
                weight = value[0]
                weight_set = True
            i, rooting, weight_status = _comment_run(buf, i + 1, end, value, number_out)
            if weight_status < 0:
                return FALLBACK
            if weight_status == 1 and not weight_set:
                weight = value[0]
        else:
            name_span[t, 0] = -1
            name_span[t, 1] = -1
            if buf[i] == 91:
                close = _skip_comment(buf, i, end)
                if close < 0:
                    return FALLBACK
                root_flag, _ = _comment_flags(buf, i, close, value, number_out)
                rooting = root_flag
        # ------------------------------------------------------------------ the Newick tree
        state[S_STAMP] += 1
        stamp = state[S_STAMP]
        n_nodes = 0
        n_pending = 0
        n_open = 0
        n_hard = state[S_HARD]
        expect_subtree = True
        current = -1
        done = False
        while i < end:
            c = buf[i]
            if _space(c):
                i += 1
                continue
            if c == 91:
                close = _skip_comment(buf, i, end)
                if close < 0:
                    return FALLBACK
                i = close
                continue
            if done:
                return FALLBACK
            if expect_subtree:
                if c == 40:
                    if n_open >= max_nodes:
                        return FALLBACK
                    opened[n_open] = n_pending
                    n_open += 1
                    i += 1
                    continue
                if not _label_char(c) or n_nodes >= max_nodes:
                    return FALLBACK
                j = i
                while j < end and _label_char(buf[j]):
                    j += 1
                leaf_taxon = _lookup(buf, i, j, slots, entry_bytes, entry_offsets, entry_taxon)
                if leaf_taxon < 0 or seen[leaf_taxon] == stamp:
                    return FALLBACK
                seen[leaf_taxon] = stamp
                node = base + n_nodes
                parent[node] = -1
                length[node] = np.nan
                taxon[node] = leaf_taxon
                current = n_nodes
                n_nodes += 1
                expect_subtree = False
                i = j
                continue
            if c == 58:
                i += 1
                while i < end and (_space(buf[i]) or buf[i] == 91):
                    if buf[i] == 91:
                        i = _skip_comment(buf, i, end)
                        if i < 0:
                            return FALLBACK
                    else:
                        i += 1
                j, status = _number(buf, i, end, number_out)
                if status < 0:
                    return FALLBACK
                if status == 0:
                    length[base + current] = number_out[0]
                else:
                    length[base + current] = np.nan
                    hard_node[n_hard] = base + current
                    hard_span[n_hard, 0] = i
                    hard_span[n_hard, 1] = j
                    n_hard += 1
                i = j
                continue
            if c == 44:
                if n_open == 0:
                    return FALLBACK
                pending[n_pending] = current
                n_pending += 1
                expect_subtree = True
                i += 1
                continue
            if c == 41:
                if n_open == 0 or n_nodes >= max_nodes:
                    return FALLBACK
                pending[n_pending] = current
                n_pending += 1
                n_open -= 1
                first_child = opened[n_open]
                node = n_nodes
                for k in range(first_child, n_pending):
                    parent[base + pending[k]] = node
                n_pending = first_child
                parent[base + node] = -1
                length[base + node] = np.nan
                taxon[base + node] = -1
                current = node
                n_nodes += 1
                i += 1
                while i < end and _label_char(buf[i]):
                    i += 1
                continue
            if c == 59:
                if n_open != 0:
                    return FALLBACK
                done = True
                i += 1
                continue
            return FALLBACK
        if not done or n_nodes == 0:
            return FALLBACK
        # ------------------------------------------------------------ clades and the key
        for v in range(n_nodes):
            node = base + v
            for w in range(n_words):
                clades[node, w] = 0
        for v in range(n_nodes):
            counts[v] = 0
        for v in range(n_nodes):
            node = base + v
            leaf_taxon = taxon[node]
            if leaf_taxon >= 0:
                clades[node, leaf_taxon // 64] |= np.uint64(1) << np.uint64(leaf_taxon % 64)
                counts[v] += 1
            p = parent[node]
            if p >= 0:
                counts[p] += counts[v]
                for w in range(n_words):
                    clades[base + p, w] |= clades[node, w]
        if rooted_override >= 0:
            is_rooted = rooted_override == 1
        elif rooting >= 0:
            is_rooted = rooting == 1
        else:
            is_rooted = default_rooted == 1
        written = topology_key_kernel(clades, counts, base, n_nodes, n_words, is_rooted, keys, k0, tmp)
        tree_rooted[t] = is_rooted
        tree_weight[t] = weight
        tree_line[t] = state[S_LINE] + 1
        tree_index[t] = index
        node_start[t + 1] = base + n_nodes
        key_start[t + 1] = k0 + written
        state[S_TREES] = t + 1
        state[S_NODES] = base + n_nodes
        state[S_KEYS] = k0 + written
        state[S_HARD] = n_hard
        pos = next_pos
        state[S_POS] = pos
        state[S_LINE] += 1
    state[S_POS] = pos
    return NEED_MORE


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

