"""Counting the trees of a file without parsing them (for burn-in given as a fraction).

MrBayes discards ``floor(burninfrac * n_trees)`` samples of each run, which needs ``n_trees``
before the first tree is kept. These byte-level Numba scanners read the file in fixed-size
chunks (memory independent of its size) and count, with the same rules as the readers:

- NEXUS: statements (``;`` outside ``[comments]`` and ``'quotes'``) whose first word,
  after leading comments, is ``tree`` or ``utree``;
- Newick: statements holding anything besides whitespace and comments, the last one
  counted even without its ``;`` (the reader then reports the missing ``;``);
- RevBayes traces: non-blank lines after the header line.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from numba import njit

from phylo_vi.io.byte_codes import CASE_BIT, CLOSE_BRACKET, NEWLINE, OPEN_BRACKET, QUOTE, SEMICOLON, is_space

CHUNK_BYTES = 1 << 23

def _packed_word(word: str) -> int:
    """The lower-cased bytes of ``word`` as one integer (first byte most significant)."""
    return int.from_bytes(word.encode("ascii"), "big")


_TREE_WORD, _UTREE_WORD = _packed_word("tree"), _packed_word("utree")
_MAX_WORD = 6  # longer first words cannot be tree or utree
_STATEMENT_BYTES = np.zeros(256, dtype=np.bool_)  # bytes that change the scanner's state inside a statement
_STATEMENT_BYTES[[OPEN_BRACKET, QUOTE, SEMICOLON]] = True


@njit(cache=True, nogil=True)
def _count_nexus_kernel(buffer: np.ndarray, n_bytes: int, state: np.ndarray) -> int:
    """Tree statements in ``buffer[:n_bytes]``; ``state`` carries the scanner across chunks.

    state: 0 in comment, 1 in quote, 2 looking for a statement's first word, 3 length of the
    word so far (-1: too long), 4 its lower-cased bytes packed into one integer. The state lives in
    local variables during the scan (kept in registers) and is written back at the end.
    """
    in_comment, in_quote, looking, length, word = state[0], state[1], state[2], state[3], state[4]
    count = 0
    for i in range(n_bytes):
        byte = buffer[i]
        if in_comment:
            if byte == CLOSE_BRACKET:
                in_comment = 0
            continue
        if in_quote:
            if byte == QUOTE:
                in_quote = 0
            continue
        if not looking and not _STATEMENT_BYTES[byte]:
            continue  # inside a statement only comments, quotes and its end matter
        ends_word = byte == OPEN_BRACKET or byte == QUOTE or byte == SEMICOLON or is_space(byte)
        if looking and ends_word and length != 0:
            if (length == 4 and word == _TREE_WORD) or (length == 5 and word == _UTREE_WORD):
                count += 1
            looking = 0
        if byte == OPEN_BRACKET:
            in_comment = 1
        elif byte == QUOTE:
            in_quote = 1
            looking = 0
        elif byte == SEMICOLON:
            looking = 1
            length = 0
            word = 0
        elif looking and not ends_word:
            if 0 <= length < _MAX_WORD:
                word = word * 256 + (byte | CASE_BIT)
                length += 1
            else:
                length = -1
    state[0], state[1], state[2], state[3], state[4] = in_comment, in_quote, looking, length, word
    return count


@njit(cache=True, nogil=True)
def _count_newick_kernel(buffer: np.ndarray, n_bytes: int, state: np.ndarray) -> int:
    """Non-empty ``;`` statements; state: 0 in comment, 1 in quote, 2 current statement has content."""
    count = 0
    for i in range(n_bytes):
        byte = buffer[i]
        if state[0]:
            if byte == CLOSE_BRACKET:
                state[0] = 0
        elif state[1]:
            if byte == QUOTE:
                state[1] = 0
        elif byte == OPEN_BRACKET:
            state[0] = 1
        elif byte == SEMICOLON:
            count += state[2]
            state[2] = 0
        else:
            if byte == QUOTE:
                state[1] = 1
            if not is_space(byte):
                state[2] = 1
    return count


@njit(cache=True, nogil=True)
def _count_lines_kernel(buffer: np.ndarray, n_bytes: int, state: np.ndarray) -> int:
    """Non-blank lines; state: 0 current line has content."""
    count = 0
    for i in range(n_bytes):
        byte = buffer[i]
        if byte == NEWLINE:
            count += state[0]
            state[0] = 0
        elif not is_space(byte):
            state[0] = 1
    return count


def _scan(path: str | Path, kernel, state: np.ndarray) -> tuple[int, np.ndarray]:
    buffer = np.empty(CHUNK_BYTES, dtype=np.uint8)
    total = 0
    with open(path, "rb") as handle:
        while True:
            n_bytes = handle.readinto(memoryview(buffer))
            if not n_bytes:
                break
            total += kernel(buffer, n_bytes, state)
    return total, state


def count_trees(path: str | Path, format: str) -> int:
    """Number of trees in ``path`` for a resolved format (see :mod:`phylo_vi.io.detect`)."""
    state = np.zeros(10, dtype=np.int64)
    if format == "newick":
        total, state = _scan(path, _count_newick_kernel, state)
        return total + int(state[2])
    if format == "revbayes":
        total, state = _scan(path, _count_lines_kernel, state)
        return max(0, total + int(state[0]) - 1)
    state[2] = 1
    total, _ = _scan(path, _count_nexus_kernel, state)
    return total
