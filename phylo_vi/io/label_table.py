"""Leaf labels → taxon indices, as an open-addressing hash table a Numba kernel can search.

Labels are byte strings (translate tokens or taxon names, UTF-8). The table hashes them with
64-bit FNV-1a (Fowler, Noll & Vo; IETF draft-eastlake-fnv) into a power-of-two array of slots
with linear probing, and a hit is verified byte by byte, so the lookup is exact. The table is
at most half full.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from phylo_vi.trees.taxa import TaxonNamespace

_FNV_OFFSET_U64 = np.uint64(14695981039346656037)
_FNV_PRIME_U64 = np.uint64(1099511628211)
_MIN_SLOTS_LOG2 = 4


class LabelTable(NamedTuple):
    """Entry ``e`` is the label ``entry_bytes[entry_offsets[e]:entry_offsets[e + 1]]`` of taxon ``entry_taxon[e]``.

    ``slots`` (a power of two long) holds entry indices, -1 where empty.
    """

    slots: np.ndarray
    entry_bytes: np.ndarray
    entry_offsets: np.ndarray
    entry_taxon: np.ndarray


def build_label_table(taxa: TaxonNamespace, translate: dict[str, str] | None = None) -> LabelTable:
    """Table of the leaf labels of a tree block: translate tokens first (they win), then taxon names."""
    labels: dict[bytes, int] = {}
    for token, name in (translate or {}).items():
        labels[token.encode()] = taxa.index(name)
    for index, name in enumerate(taxa):
        labels.setdefault(name.encode(), index)
    size = 1 << max(_MIN_SLOTS_LOG2, (2 * len(labels) + 1).bit_length())
    slots = np.full(size, -1, dtype=np.int64)
    entries = list(labels.items())
    offsets = np.zeros(len(entries) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(label) for label, _ in entries])
    data = np.frombuffer(b"".join(label for label, _ in entries) or b"\0", dtype=np.uint8).copy()
    taxon = np.array([index for _, index in entries] or [0], dtype=np.int32)
    _insert_all(data, offsets, slots)
    return LabelTable(slots, data, offsets, taxon)


@njit(cache=True, nogil=True)
def _fnv1a(buf, start, end) -> np.uint64:
    """64-bit FNV-1a hash of ``buf[start:end]``."""
    h = _FNV_OFFSET_U64
    for i in range(start, end):
        h = (h ^ np.uint64(buf[i])) * _FNV_PRIME_U64
    return h


@njit(cache=True, nogil=True)
def _insert_all(entry_bytes, entry_offsets, slots) -> None:
    """Put every entry in the first free slot from its hash on (linear probing)."""
    mask = np.uint64(len(slots) - 1)
    for entry in range(len(entry_offsets) - 1):
        slot = _fnv1a(entry_bytes, entry_offsets[entry], entry_offsets[entry + 1]) & mask
        while slots[slot] >= 0:
            slot = (slot + np.uint64(1)) & mask
        slots[slot] = entry


@njit(cache=True, nogil=True)
def lookup_label(buf, start, end, table) -> int:
    """Taxon index of the label ``buf[start:end]``, -1 when the table does not hold it."""
    mask = np.uint64(len(table.slots) - 1)
    slot = _fnv1a(buf, start, end) & mask
    length = end - start
    while True:
        entry = table.slots[slot]
        if entry < 0:
            return -1
        first = table.entry_offsets[entry]
        if table.entry_offsets[entry + 1] - first == length and _same_bytes(buf, start, table.entry_bytes, first,
                                                                           length):
            return table.entry_taxon[entry]
        slot = (slot + np.uint64(1)) & mask


@njit(cache=True, nogil=True)
def _same_bytes(a, a_start, b, b_start, length) -> bool:
    for k in range(length):
        if a[a_start + k] != b[b_start + k]:
            return False
    return True
