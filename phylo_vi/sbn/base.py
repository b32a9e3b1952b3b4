"""Common interface of the tree-topology distributions fitted to samples (SRF, CCD, SBNs).

The shape follows scikit-learn's ``KernelDensity``: ``__init__`` stores keyword-only
hyperparameters, ``fit(trees, sample_weight=None)`` returns ``self`` and sets attributes ending
in ``_``, ``log_prob(trees)`` scores any topology (−inf outside the model's support),
``sample(n, random_state)`` draws topologies. Models save to and load from JSON
(:mod:`phylo_vi.sbn.serialization`).
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import Sequence

import numpy as np

from phylo_vi.base import PROBABILITY_LEVEL, Estimator, check_is_fitted, check_parameter
from phylo_vi.sbn.edges import EdgeTables, unrooted_edge_tables
from phylo_vi.sbn.kernels import pad_log_table, packed_rooting_log_probs_kernel, packed_tables
from phylo_vi.sbn.support import PackedTrees, index_trees
from phylo_vi.trees.arrays import TreeArrays
from phylo_vi.trees.taxa import common_namespace
from phylo_vi.trees.tree import Tree

SCORED_BLOCK = 256  # trees indexed at once by log_prob


def log_sum_exp_rows(values: np.ndarray) -> np.ndarray:
    """Row-wise log Σ exp, −inf for rows that are all −inf."""
    peak = values.max(axis=1)
    finite = np.isfinite(peak)
    safe = np.where(finite, peak, 0.0)
    with np.errstate(divide="ignore"):
        return np.where(finite, safe + np.log(np.exp(values - safe[:, None]).sum(axis=1)), -np.inf)


class TreeDistribution(Estimator, ABC):
    """A probability distribution over tree topologies on one taxon namespace.

    Attributes
    ----------
    taxa_ : TaxonNamespace
        The taxa of the training trees; every scored tree must use the same namespace.
    """

    rooted: bool = False

    @abstractmethod
    def fit(self, trees: Sequence[Tree] | TreeArrays, sample_weight: Sequence[float] | None = None
            ) -> "TreeDistribution":
        """Fit to a tree sample; ``sample_weight`` defaults to each tree's ``weight`` attribute."""

    @abstractmethod
    def log_prob(self, trees: Sequence[Tree] | TreeArrays) -> np.ndarray:
        """Log probability of each tree's topology (``(n_trees,)`` float64, −inf outside the support)."""

    @abstractmethod
    def sample_arrays(self, n: int, random_state=None) -> TreeArrays:
        """Draw ``n`` topologies as :class:`TreeArrays` (no Python object per tree)."""

    def sample(self, n: int, random_state=None) -> list[Tree]:
        """Draw ``n`` topologies (trees without branch lengths)."""
        arrays = self.sample_arrays(n, random_state)
        return [arrays.tree(i) for i in range(len(arrays))]

    @abstractmethod
    def _state_dict(self) -> dict:
        """Fitted state, JSON-serialisable."""

    @abstractmethod
    def _load_state(self, state: dict) -> None:
        """Restore the fitted state written by :meth:`_state_dict`."""

    def _check_taxa(self, trees):
        """The trees (as a list; arrays and tables unchanged) after checking they use the model's taxa."""
        batch = isinstance(trees, (TreeArrays, EdgeTables))
        trees = trees if batch else list(trees)
        common_namespace([self.taxa_, *([trees] if batch else trees)], what="the model and the trees")
        return trees

    def prob(self, trees: Sequence[Tree]) -> np.ndarray:
        """Probability of each tree's topology."""
        return np.exp(self.log_prob(trees))

    def credible_set(self, level: float = 0.95, *, n_samples: int = 10_000,
                     random_state=None) -> tuple[list[Tree], np.ndarray, float]:
        """Most probable topologies until their total probability reaches ``level``.

        Candidates are the distinct topologies of ``n_samples`` draws from the model, ranked by
        their exact probability; returns (trees, log probabilities, mass covered). The mass is
        below ``level`` when the draws did not reach it (raise ``n_samples``).
        """
        check_parameter("level", level, PROBABILITY_LEVEL)
        candidates = self._distinct(self.sample_arrays(n_samples, random_state))
        log_q = self.log_prob(candidates)
        order = np.argsort(-log_q, kind="stable")
        cumulative = np.cumsum(np.exp(log_q[order]))
        size = int(min(np.searchsorted(cumulative, level - 1e-12) + 1, len(order)))
        return [candidates[i] for i in order[:size]], log_q[order[:size]], float(cumulative[size - 1])

    def most_probable_tree(self, *, n_candidates: int = 1_000, random_state=None) -> tuple[Tree, float]:
        """Highest-probability topology among the model's candidates, with its log probability.

        Candidates are :meth:`_mode_candidates` plus the distinct topologies of
        ``n_candidates`` draws. Exact for SRF (its most frequent tree) and for the rooted SBN
        (whose Viterbi tree is a candidate); for the unrooted SBN, whose q sums over rootings,
        the unrooted Viterbi tree and the draws are a search, not a guaranteed maximum.
        """
        draws = self._distinct(self.sample_arrays(n_candidates, random_state)) if n_candidates > 0 else []
        candidates = self._distinct(self._mode_candidates() + draws)
        log_q = self.log_prob(candidates)
        best = int(np.argmax(log_q))
        return candidates[best], float(log_q[best])

    def _mode_candidates(self) -> list[Tree]:
        return []

    def _distinct(self, trees: list[Tree] | TreeArrays) -> list[Tree]:
        """One tree per distinct topology, in order of first occurrence."""
        if not self.rooted:
            return unrooted_edge_tables(trees, np.ones(len(trees)), normalize=False).trees
        if isinstance(trees, TreeArrays):
            trees = [trees.tree(i) for i in range(len(trees))]
        seen: dict[bytes, Tree] = {}
        for tree in trees:
            seen.setdefault(tree.topology_key(), tree)
        return list(seen.values())

    # --------------------------------------------------------------------------- persistence
    def to_dict(self) -> dict:
        """JSON-serialisable document: model type, hyperparameters, taxa and fitted state."""
        check_is_fitted(self)
        return {"format": "phylo_vi.sbn", "version": 1, "model": type(self).__name__,
                "params": self.get_params(), "taxa": list(self.taxa_), "state": self._state_dict()}

    def save(self, path: str | Path) -> None:
        """Write the model as JSON, atomically."""
        from phylo_vi.sbn.serialization import save_model

        save_model(self, path)


class SubsplitModel(TreeDistribution):
    """Shared machinery of the SBNs: support indexing, sampling and the Viterbi mode."""

    log_root_: np.ndarray
    log_cpd_: np.ndarray

    def rooting_log_probs(self, trees: Sequence[Tree] | TreeArrays) -> np.ndarray:
        """``(n_trees, 2n − 3)`` log P(tree rooted on edge e); edge e lies above node e of the
        tree as stored (after removing a bifurcating root). Trees are indexed ``SCORED_BLOCK`` at a
        time, so the factor tables' memory does not grow with the number of trees."""
        check_is_fitted(self)
        trees = self._check_taxa(trees)
        if isinstance(trees, EdgeTables) or len(trees) <= SCORED_BLOCK:
            return self._block_rooting_log_probs(trees)
        if isinstance(trees, TreeArrays):
            blocks = (trees.subset(slice(a, a + SCORED_BLOCK)) for a in range(0, len(trees), SCORED_BLOCK))
        else:
            blocks = (trees[a:a + SCORED_BLOCK] for a in range(0, len(trees), SCORED_BLOCK))
        return np.concatenate([self._block_rooting_log_probs(block) for block in blocks])

    def _block_rooting_log_probs(self, trees) -> np.ndarray:
        tables = unrooted_edge_tables(trees, np.ones(len(trees)), normalize=False, deduplicate=False)
        indexed = index_trees(tables, self.support_)
        parent, factors = packed_tables(indexed.root_split, indexed.pcsp_root, indexed.pcsp_sib, indexed.children,
                                        len(self.log_root_), len(self.log_cpd_))
        return packed_rooting_log_probs_kernel(parent, factors, pad_log_table(self.log_root_),
                                               pad_log_table(self.log_cpd_))

    def _packed_log_prob(self, packed: PackedTrees) -> np.ndarray:
        """log q of trees already in the packed layout (:meth:`log_prob`'s kernel and summation), ``SCORED_BLOCK``
        trees at a time."""
        log_root, log_cpd = pad_log_table(self.log_root_), pad_log_table(self.log_cpd_)
        return np.concatenate([
            log_sum_exp_rows(packed_rooting_log_probs_kernel(packed.parent[a:a + SCORED_BLOCK],
                                                             packed.factors[a:a + SCORED_BLOCK], log_root, log_cpd))
            for a in range(0, len(packed), SCORED_BLOCK)])

    def log_prob(self, trees: Sequence[Tree] | TreeArrays) -> np.ndarray:
        """log q(Tᵘ) = log Σ_e P(Tᵘ rooted on e) (Zhang & Matsen 2018, eq. 5)."""
        check_is_fitted(self)
        if len(trees) == 0:
            return np.zeros(0)
        return log_sum_exp_rows(self.rooting_log_probs(trees))

    def sample_arrays(self, n: int, random_state=None) -> TreeArrays:
        """Draw ``n`` topologies: root split, then child subsplits top-down (ancestral sampling)."""
        from phylo_vi.sbn.sampling import sample_topologies

        check_is_fitted(self)
        return sample_topologies(self, n, random_state)

    def _mode_candidates(self) -> list[Tree]:
        from phylo_vi.sbn.sampling import viterbi_tree

        return [viterbi_tree(self)]

