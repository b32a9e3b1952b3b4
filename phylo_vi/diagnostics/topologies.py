"""Distinct topologies of a tree sample, their posterior probabilities and credible sets.

The probability of a topology is its weighted frequency in the sample (MrBayes ``sumt``
``.trprobs``): weights are 1 for MCMC samples and the ``[&W]`` value of a ``.trprobs`` line.
Topologies are listed by decreasing probability (ties in order of first appearance) with the
cumulative probability ``P``; the ``level`` credible set is the shortest prefix of that list
whose cumulative probability reaches ``level`` (MrBayes marks the 50/90/95/99% sets the same
way; ``NBISweden/MrBayes:src/sumpt.c``, ``TreeProb``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import numpy as np

from phylo_vi.errors import PhyloVIError
from phylo_vi.io.newick import format_label
from phylo_vi.trees.taxa import TaxonNamespace
from phylo_vi.trees.tree import Tree


@dataclass(frozen=True)
class TopologyFrequencies:
    """Distinct topologies sorted by decreasing weight, with one sampled tree's shape for each.

    ``keys`` equal :meth:`Tree.topology_key` of the trees counted; ``shapes`` holds the
    ``(parent, taxon, rooted)`` arrays of the first tree seen with each topology, turned into
    Newick on demand by :meth:`newick`.
    """

    taxa: TaxonNamespace
    keys: list[bytes]
    shapes: list[tuple[np.ndarray, np.ndarray, bool]]
    weights: np.ndarray
    total_weight: float
    n_trees: int

    def newick(self, index: int) -> str:
        """Newick string (names, no branch lengths) of topology ``index``: that of
        :func:`~phylo_vi.io.newick.format_newick` for its :class:`Tree`, children in node order, without
        building the tree (the topology table writes a thousand of them)."""
        parent, taxon, rooted = self.shapes[index]
        labels = {t: format_label(self.taxa[t]) for t in set(taxon.tolist()) if t >= 0}
        parents = parent.tolist()
        children: list[list[str]] = [[] for _ in parents]
        piece = ""
        for node, (up, t) in enumerate(zip(parents, taxon.tolist())):  # post-order: children before parents
            piece = labels[t] if t >= 0 else "(" + ",".join(children[node]) + ")"
            if node < len(parents) - 1:
                children[up].append(piece)
        return ("[&R] " if rooted else "") + piece + ";"

    @property
    def n_topologies(self) -> int:
        return len(self.keys)

    @property
    def probabilities(self) -> np.ndarray:
        return self.weights / self.total_weight

    @property
    def cumulative(self) -> np.ndarray:
        return np.cumsum(self.probabilities)

    def credible_set_size(self, level: float = 0.95) -> int:
        """Number of most probable topologies needed for cumulative probability >= ``level``."""
        if not 0.0 < level <= 1.0:
            raise PhyloVIError(f"credible level must be in (0, 1], got {level}")
        reached = np.flatnonzero(self.cumulative >= level * (1.0 - 1e-12))
        return int(reached[0]) + 1 if len(reached) else self.n_topologies


class TopologyCounter:
    """Streaming accumulator of weighted topology counts keyed by :meth:`Tree.topology_key`."""

    def __init__(self) -> None:
        self.taxa: TaxonNamespace | None = None
        self._weights: dict[bytes, float] = {}
        self._shapes: dict[bytes, tuple[np.ndarray, np.ndarray, bool]] = {}
        self.total_weight = 0.0
        self.n_trees = 0

    def add(self, tree: Tree, key: bytes | None = None) -> None:
        """Count one tree (``key`` = ``tree.topology_key()`` when the caller already has it)."""
        key = tree.topology_key() if key is None else key
        if self.taxa is None:
            self.taxa = tree.taxa
        if key not in self._weights:
            self._weights[key] = 0.0
            self._shapes[key] = (tree.parent, tree.taxon, tree.rooted)
        self._weights[key] += tree.weight
        self.total_weight += tree.weight
        self.n_trees += 1

    def update(self, trees: Iterable[Tree]) -> "TopologyCounter":
        for tree in trees:
            self.add(tree)
        return self

    def merge(self, other: "TopologyCounter") -> "TopologyCounter":
        """Pool another run's counts into this one."""
        for key, weight in other._weights.items():
            if key not in self._weights:
                self._weights[key] = 0.0
                self._shapes[key] = other._shapes[key]
            self._weights[key] += weight
        self.taxa = other.taxa if self.taxa is None else self.taxa
        self.total_weight += other.total_weight
        self.n_trees += other.n_trees
        return self

    def result(self) -> TopologyFrequencies:
        if self.total_weight <= 0:
            raise PhyloVIError("no trees (or only zero-weight trees) to count topologies in")
        keys = list(self._weights)
        weights = np.array([self._weights[k] for k in keys], dtype=np.float64)
        order = np.argsort(-weights, kind="stable")
        return TopologyFrequencies(self.taxa, [keys[i] for i in order], [self._shapes[keys[i]] for i in order],
                                   weights[order], self.total_weight, self.n_trees)


def topology_frequencies(trees: Iterable[Tree]) -> TopologyFrequencies:
    """Distinct topologies of ``trees`` with their weighted frequencies (streamed once)."""
    return TopologyCounter().update(trees).result()
