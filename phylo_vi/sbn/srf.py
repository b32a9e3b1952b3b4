"""Sample relative frequencies (SRF): the empirical topology distribution of a sample.

The baseline of Zhang & Matsen (NeurIPS 2018, §5): q(T) is the weighted frequency of T in the
training sample, 0 (log q = −inf) for every topology the sample does not contain.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from phylo_vi.base import PROBABILITY_LEVEL, SAMPLE_SIZE, check_is_fitted, check_parameter
from phylo_vi.io.newick import format_newick, parse_newick
from phylo_vi.sbn.base import TreeDistribution
from phylo_vi.sbn.edges import split_set_keys, unrooted_edge_tables
from phylo_vi.trees.arrays import TreeArrays
from phylo_vi.trees.tree import Tree
from phylo_vi.util.random import check_random_state


class SampleRelativeFrequency(TreeDistribution):
    """Empirical distribution of unrooted topologies.

    Parameters
    ----------
    None: the estimate is determined by the weighted sample.

    Attributes
    ----------
    taxa_ : TaxonNamespace
        Taxa of the training trees.
    topologies_ : TreeArrays
        The distinct sampled topologies, most frequent first (``trees_`` gives them as trees).
    probabilities_ : ndarray of shape (n_topologies,)
        Their weighted sample frequencies, summing to one.
    """

    def __init__(self) -> None:
        """No hyperparameters: the estimate is determined by the weighted sample."""

    def fit(self, trees: Sequence[Tree] | TreeArrays, sample_weight: Sequence[float] | None = None
            ) -> "SampleRelativeFrequency":
        """Fit to unrooted trees; ``sample_weight`` defaults to each tree's ``weight``."""
        tables = unrooted_edge_tables(trees, sample_weight)
        order = np.argsort(-tables.weights, kind="stable")
        order = order[tables.weights[order] > 0]
        self.taxa_ = tables.taxa
        self.topologies_ = TreeArrays(tables.arrays.parent[order], tables.arrays.taxon[order], tables.weights[order],
                                      tables.taxa)
        self.probabilities_ = tables.weights[order]
        keys = split_set_keys(tables)
        self._index = {keys[i]: rank for rank, i in enumerate(order)}
        return self

    @property
    def trees_(self) -> list[Tree]:
        """The distinct sampled topologies, most frequent first."""
        return [self.topologies_.tree(i) for i in range(len(self.topologies_))]

    def _lookup(self) -> dict[bytes, int]:
        if getattr(self, "_index", None) is None:
            keys = split_set_keys(unrooted_edge_tables(self.topologies_, np.ones(len(self.topologies_)),
                                                       normalize=False, deduplicate=False))
            self._index = {key: i for i, key in enumerate(keys)}
        return self._index

    def log_prob(self, trees: Sequence[Tree] | TreeArrays) -> np.ndarray:
        """log of the sample frequency of each topology (−inf when it was not sampled)."""
        check_is_fitted(self)
        trees = self._check_taxa(trees)
        if len(trees) == 0:
            return np.zeros(0)
        keys = split_set_keys(unrooted_edge_tables(trees, np.ones(len(trees)), normalize=False, deduplicate=False))
        index = self._lookup()
        positions = np.array([index.get(key, -1) for key in keys])
        with np.errstate(divide="ignore"):
            log_p = np.log(self.probabilities_)
        return np.where(positions >= 0, log_p[np.maximum(positions, 0)], -np.inf)

    def sample_arrays(self, n: int, random_state=None) -> TreeArrays:
        """Draw ``n`` topologies from the sample frequencies."""
        check_is_fitted(self)
        check_parameter("number of samples", n, SAMPLE_SIZE)
        picks = check_random_state(random_state).choice(len(self.probabilities_), size=n, p=self.probabilities_)
        return TreeArrays(self.topologies_.parent[picks], self.topologies_.taxon[picks], np.ones(n), self.taxa_)

    def credible_set(self, level: float = 0.95, **_) -> tuple[list[Tree], np.ndarray, float]:
        """Exact credible set: the most frequent topologies until their mass reaches ``level``."""
        check_parameter("level", level, PROBABILITY_LEVEL)
        cumulative = np.cumsum(self.probabilities_)
        size = int(min(np.searchsorted(cumulative, level - 1e-12) + 1, len(cumulative)))
        return [self.topologies_.tree(i) for i in range(size)], np.log(self.probabilities_[:size]), \
            float(cumulative[size - 1])

    def most_probable_tree(self, **_) -> tuple[Tree, float]:
        """The most frequent topology (exact)."""
        check_is_fitted(self)
        return self.topologies_.tree(0), float(np.log(self.probabilities_[0]))

    def _state_dict(self) -> dict:
        return {"trees": [format_newick(tree, lengths=False) for tree in self.trees_],
                "probabilities": self.probabilities_.tolist()}

    def _load_state(self, state: dict) -> None:
        self.probabilities_ = np.array(state["probabilities"], dtype=np.float64)
        trees = [parse_newick(text, self.taxa_, add_taxa=False) for text in state["trees"]]
        self.topologies_ = TreeArrays.from_trees(trees, self.probabilities_, n_nodes=2 * len(self.taxa_) - 2)
        self._index = None
