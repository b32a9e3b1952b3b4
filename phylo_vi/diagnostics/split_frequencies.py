"""Split (bipartition) frequencies of a tree sample.

The posterior probability of a split is estimated by the weighted fraction of sampled trees
that contain it: ``f(s) = sum_t w_t [s in t] / sum_t w_t`` (Larget & Simon 1999, Mol. Biol.
Evol. 16:750; MrBayes ``sumt``). Weights are 1 for MCMC samples and the ``[&W]`` value for a
MrBayes ``.trprobs`` line. Only non-trivial splits (two or more taxa on each side) are counted;
trivial splits occur in every tree.

A split is identified by its MrBayes ``.parts`` bitstring: one character per taxon in namespace
order, ``*`` for the taxa on the side without the first taxon, ``.`` otherwise (so the first
character is always ``.``; Ronquist et al. 2011, MrBayes 3.2 manual, ``sumt``). Over namespaces
too wide for a topology key by splits (more than 1,024 taxa, :mod:`phylo_vi.trees.canonical_key`)
a split is its 128-bit hash instead (:mod:`phylo_vi.trees.split_hashes`): ``n^2 / 8`` bytes of
bitsets per tree of n taxa would not fit at 10^5 taxa; ``hashed`` tells which.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import numpy as np

from phylo_vi.diagnostics.tree_keys import tree_splits
from phylo_vi.errors import PhyloVIError, TaxonMismatchError
from phylo_vi.trees import bitset
from phylo_vi.trees.canonical_key import uses_canonical_key
from phylo_vi.trees.split_hashes import hash_strings, split_hashes
from phylo_vi.trees.taxa import TaxonNamespace, common_namespace
from phylo_vi.trees.tree import Tree

#: trees whose splits are counted together (one ``np.unique`` call) by default
CHUNK_TREES = 4096


@dataclass(frozen=True)
class SplitFrequencies:
    """Weighted split counts of one run: ``splits`` (n_splits, n_words) in canonical order, or
    with ``hashed`` their 128-bit hashes (n_splits, 2) in ascending order."""

    taxa: TaxonNamespace
    splits: np.ndarray
    weights: np.ndarray
    total_weight: float
    n_trees: int
    hashed: bool = False

    @property
    def n_splits(self) -> int:
        return len(self.splits)

    @property
    def frequencies(self) -> np.ndarray:
        """``weights / total_weight``: the estimated posterior probability of each split."""
        return self.weights / self.total_weight

    def bitstrings(self) -> list[str]:
        """MrBayes ``.parts`` notation of every split (``h`` and the hash in hexadecimal when hashed)."""
        return split_names(self.splits, len(self.taxa), self.hashed)

    def as_dict(self) -> dict[str, float]:
        """``{bitstring: frequency}``."""
        return dict(zip(self.bitstrings(), self.frequencies.tolist()))


def hashes_splits(n_taxa: int) -> bool:
    """Whether splits over a namespace of ``n_taxa`` are counted by hash (see the module docstring)."""
    return uses_canonical_key(bitset.n_words(n_taxa))


def split_names(splits: np.ndarray, n_taxa: int, hashed: bool) -> list[str]:
    """Bitstrings of bitset splits, :func:`~phylo_vi.trees.split_hashes.hash_strings` of hashed ones."""
    return hash_strings(splits) if hashed else bitset.bitset_strings(splits, n_taxa)


def _to_width(rows: np.ndarray, n_words: int) -> np.ndarray:
    if rows.shape[1] == n_words:
        return rows
    padded = np.zeros((len(rows), n_words), dtype=np.uint64)
    padded[:, :rows.shape[1]] = rows
    return padded


class SplitCounter:
    """Streaming accumulator of weighted split counts (memory independent of the number of trees).

    Splits of a chunk of trees are counted at once with ``np.unique`` and merged into a table
    keyed by the split as a Python integer, so any number of taxa works; ``chunk_trees`` trees
    are held between merges. ``hashed``: count 128-bit hashes of the splits instead of bitsets;
    None (default) decides by the first tree's namespace (:func:`hashes_splits`).
    """

    def __init__(self, chunk_trees: int = CHUNK_TREES, hashed: bool | None = None) -> None:
        self.chunk_trees = chunk_trees
        self.hashed = hashed
        self.taxa: TaxonNamespace | None = None
        self._leaf_count: int | None = None
        self._table: dict[int, float] = {}
        self._pending: list[np.ndarray] = []
        self._pending_weights: list[float] = []
        self.total_weight = 0.0
        self.n_trees = 0

    def add(self, tree: Tree, splits: np.ndarray | None = None) -> None:
        """Count one tree (``splits`` = ``tree.splits()`` when the caller already has them)."""
        if self.taxa is None:
            self.taxa, self._leaf_count = tree.taxa, tree.n_leaves
            if self.hashed is None:
                self.hashed = hashes_splits(len(tree.taxa))
        else:
            common_namespace([self.taxa, tree], what="trees of one sample")
        if tree.n_leaves != self._leaf_count:
            raise TaxonMismatchError(
                f"tree {self.n_trees + 1} has {tree.n_leaves} taxa but the first tree has {self._leaf_count}")
        if not tree.weight >= 0:
            raise PhyloVIError(f"tree {self.n_trees + 1} has a negative or NaN weight {tree.weight}")
        rows = self.splits_of(tree) if splits is None else splits
        self._pending.append(rows)
        self._pending_weights.append(tree.weight)
        self.total_weight += tree.weight
        self.n_trees += 1
        if len(self._pending) >= self.chunk_trees:
            self._flush()

    def splits_of(self, tree: Tree) -> np.ndarray:
        """The rows this counter counts for ``tree``: its splits as bitsets, or as hashes when hashed."""
        hashed = hashes_splits(len(tree.taxa)) if self.hashed is None else self.hashed
        return split_hashes(tree) if hashed else tree_splits(tree)

    def update(self, trees: Iterable[Tree]) -> "SplitCounter":
        for tree in trees:
            self.add(tree)
        return self

    def _flush(self) -> None:
        if not self._pending:
            return
        width = max(rows.shape[1] for rows in self._pending)
        rows = np.concatenate([_to_width(r, width) for r in self._pending])
        weights = np.repeat(self._pending_weights, [len(r) for r in self._pending])
        self._pending, self._pending_weights = [], []
        if len(rows) == 0:
            return
        if width == 1:
            values, inverse = np.unique(rows[:, 0], return_inverse=True)
            unique = values[:, None]
        else:
            unique, inverse = np.unique(rows, axis=0, return_inverse=True)
        sums = np.bincount(inverse.ravel(), weights=weights, minlength=len(unique))
        table = self._table
        for row, weight in zip(unique, sums.tolist()):
            key = bitset.bitset_to_int(row)
            table[key] = table.get(key, 0.0) + weight

    def result(self) -> SplitFrequencies:
        """The counts so far; raises when no tree was added."""
        self._flush()
        if self.taxa is None or self.total_weight <= 0:
            raise PhyloVIError("no trees (or only zero-weight trees) to count splits in")
        n_taxa = len(self.taxa)
        keys = list(self._table)
        width = 2 if self.hashed else bitset.n_words(n_taxa)
        splits = (np.stack([bitset.int_to_bitset(key, 64 * width) for key in keys]) if keys
                  else np.zeros((0, width), dtype=np.uint64))
        weights = np.array([self._table[key] for key in keys], dtype=np.float64)
        if self.hashed:
            order = np.lexsort((splits[:, 1], splits[:, 0])) if keys else np.zeros(0, dtype=np.int64)
        else:
            order = np.lexsort(splits.T) if keys else np.zeros(0, dtype=np.int64)
        return SplitFrequencies(self.taxa, splits[order], weights[order], self.total_weight, self.n_trees,
                                bool(self.hashed))


def split_frequencies(trees: Iterable[Tree]) -> SplitFrequencies:
    """Weighted frequencies of the non-trivial splits of ``trees`` (streamed once)."""
    return SplitCounter().update(trees).result()
