"""Rooted subsplit Bayesian network, maximum likelihood by counting (Zhang & Matsen 2018, §3).

For rooted samples (BEAST, or any clock tree) the root split is observed, so the maximum-likelihood
SBN is given by relative frequencies: P(s₁) = m(s₁)/K and P(s | Y, Z) = m(Y,Z → s)/m(Y,Z), where
m counts root splits and PCSPs over the weighted sample. A rooted tree has probability
P(s₁) Π_{internal non-root nodes v} P(subsplit of v | (clade of v's sister, clade of v)).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
from numba import njit

from phylo_vi.base import check_is_fitted
from phylo_vi.errors import EmptyInputError, PhyloVIError
from phylo_vi.sbn.base import SubsplitModel
from phylo_vi.sbn.bitkeys import lookup, row_keys
from phylo_vi.sbn.support import NO_FACTOR, SubsplitSupport, _ids_kernel, _pcsp_keys_kernel
from phylo_vi.trees import bitset
from phylo_vi.trees.arrays import TreeArrays
from phylo_vi.trees.taxa import common_namespace
from phylo_vi.trees.tree import Tree


@njit(cache=True, nogil=True)
def _rooted_kernel(parent, taxon, n_words):
    """Clades ``(T, N, n_words)``, sister ``(T, N)`` and children ``(T, N, 2)`` of binary rooted trees."""
    n_trees, n_nodes = parent.shape
    clades = np.zeros((n_trees, n_nodes, n_words), dtype=np.uint64)
    children = np.full((n_trees, n_nodes, 2), -1, dtype=np.int32)
    sister = np.full((n_trees, n_nodes), -1, dtype=np.int32)
    count = np.zeros(n_nodes, dtype=np.int32)
    for t in range(n_trees):
        count[:] = 0
        for v in range(n_nodes):
            tx = taxon[t, v]
            if tx >= 0:
                clades[t, v, tx // 64] |= np.uint64(1) << np.uint64(tx % 64)
            p = parent[t, v]
            if p >= 0:
                for w in range(n_words):
                    clades[t, p, w] |= clades[t, v, w]
                children[t, p, count[p]] = v
                count[p] += 1
        for v in range(n_nodes):
            if children[t, v, 0] >= 0:
                a, b = children[t, v, 0], children[t, v, 1]
                sister[t, a] = b
                sister[t, b] = a
    return clades, children, sister


@njit(cache=True, nogil=True)
def _rooted_factor_keys(clade_ids, children, sister, n_clades):
    n_trees, n_nodes = clade_ids.shape
    root = n_nodes - 1
    root_key = np.empty(n_trees, dtype=np.int64)
    parent_key = np.full((n_trees, n_nodes - 1), NO_FACTOR, dtype=np.int64)
    child_half = np.full((n_trees, n_nodes - 1), NO_FACTOR, dtype=np.int64)
    for t in range(n_trees):
        a, b = clade_ids[t, children[t, root, 0]], clade_ids[t, children[t, root, 1]]
        root_key[t] = -1 if (a < 0 or b < 0) else min(a, b)
        for v in range(n_nodes - 1):
            c0 = children[t, v, 0]
            if c0 < 0:
                continue
            y, z = clade_ids[t, sister[t, v]], clade_ids[t, v]
            parent_key[t, v] = -1 if (y < 0 or z < 0) else y * n_clades + z
            h0, h1 = clade_ids[t, c0], clade_ids[t, children[t, v, 1]]
            child_half[t, v] = -1 if (h0 < 0 or h1 < 0) else min(h0, h1)
    return root_key, parent_key, child_half


class RootedSubsplitBayesianNetwork(SubsplitModel):
    """SBN over rooted binary trees, fitted by counting (module docstring).

    Parameters
    ----------
    None: the maximum-likelihood estimate is determined by the weighted sample.

    Attributes
    ----------
    taxa_ : TaxonNamespace
        Taxa of the training trees.
    support_ : SubsplitSupport
        Clades, root splits, parent subsplits and PCSPs seen in the sample.
    log_root_ : ndarray of shape (n_root_splits,)
        log P of each root split.
    log_cpd_ : ndarray of shape (n_pcsps,)
        log P of each PCSP given its parent subsplit.
    """

    rooted = True

    def __init__(self) -> None:
        """No hyperparameters: the estimate is determined by the weighted sample."""

    @staticmethod
    def _tables(trees: Sequence[Tree] | TreeArrays, taxa=None):
        if len(trees) == 0:
            raise EmptyInputError("no trees given")
        arrays = trees if isinstance(trees, TreeArrays) else TreeArrays.from_trees(trees)
        taxa = arrays.taxa if taxa is None else common_namespace([taxa, arrays], what="the model and the trees")
        n_taxa = len(taxa)
        n_nodes = 2 * n_taxa - 1
        parent, taxon = arrays.parent, arrays.taxon
        n_trees = len(parent)
        offsets = (np.arange(n_trees) * parent.shape[1])[:, None]
        degree = np.bincount((parent[:, :-1] + offsets).ravel(), minlength=parent.size).reshape(parent.shape)
        if (parent.shape[1] != n_nodes or np.any((taxon >= 0).sum(axis=1) != n_taxa)
                or np.any((taxon < 0) & (degree != 2))):
            raise PhyloVIError(f"rooted SBNs need binary rooted trees on all {n_taxa} taxa ({n_nodes} nodes)")
        clades, children, sister = _rooted_kernel(parent, taxon, bitset.n_words(n_taxa))
        return taxa, arrays, clades, children, sister

    def fit(self, trees: Sequence[Tree] | TreeArrays, sample_weight: Sequence[float] | None = None
            ) -> "RootedSubsplitBayesianNetwork":
        """Fit to rooted trees; ``sample_weight`` defaults to each tree's ``weight``."""
        taxa, arrays, clades, children, sister = self._tables(trees)
        weights = np.array(arrays.weights if sample_weight is None else sample_weight, dtype=np.float64)
        if weights.shape != (len(arrays),) or np.any(~np.isfinite(weights)) or np.any(weights < 0) or weights.sum() <= 0:
            raise PhyloVIError("sample weights must be one finite, non-negative number per tree, not all zero")
        weights = weights / weights.sum()
        clade_keys, inverse = np.unique(row_keys(clades.reshape(-1, clades.shape[-1])), return_inverse=True)
        clade_ids = inverse.reshape(clades.shape[:2]).astype(np.int64)
        n_clades = len(clade_keys)
        root_key, parent_key, child_half = _rooted_factor_keys(clade_ids, children, sister, n_clades)
        kept = weights > 0
        root_splits = np.unique(root_key[kept])
        parent_keys = np.unique(parent_key[kept][child_half[kept] >= 0])
        pcsp = _pcsp_keys_kernel(_ids_kernel(parent_keys, parent_key), child_half, n_clades)
        pcsp_keys = np.unique(pcsp[kept][pcsp[kept] >= 0])
        self.support_ = SubsplitSupport(clade_keys=clade_keys, n_words=clades.shape[-1], root_splits=root_splits,
                                        parent_keys=parent_keys, pcsp_keys=pcsp_keys)
        root_counts = np.bincount(lookup(root_splits, root_key[kept]), weights=weights[kept], minlength=len(root_splits))
        valid = (pcsp >= 0) & kept[:, None]
        pcsp_counts = np.bincount(lookup(pcsp_keys, pcsp[valid]),
                                  weights=np.broadcast_to(weights[:, None], pcsp.shape)[valid], minlength=len(pcsp_keys))
        parent_counts = np.bincount(self.support_.pcsp_parent, weights=pcsp_counts, minlength=len(parent_keys))
        self.log_root_ = np.log(root_counts)
        self.log_cpd_ = np.log(pcsp_counts) - np.log(parent_counts[self.support_.pcsp_parent])
        self.taxa_ = taxa
        return self

    def log_prob(self, trees: Sequence[Tree] | TreeArrays) -> np.ndarray:
        """log P(T) of each rooted tree (−inf when a root split or PCSP is outside the support)."""
        check_is_fitted(self)
        if len(trees) == 0:
            return np.zeros(0)
        _, _, clades, children, sister = self._tables(trees, self.taxa_)
        support = self.support_
        clade_ids = lookup(support.clade_keys, row_keys(clades.reshape(-1, clades.shape[-1]))).reshape(clades.shape[:2])
        root_key, parent_key, child_half = _rooted_factor_keys(clade_ids, children, sister, support.n_clades)
        pcsp = _ids_kernel(support.pcsp_keys,
                           _pcsp_keys_kernel(_ids_kernel(support.parent_keys, parent_key), child_half, support.n_clades))
        root = _ids_kernel(support.root_splits, root_key)
        log_root = np.where(root >= 0, self.log_root_[np.maximum(root, 0)], -np.inf)
        log_factors = np.where(pcsp >= 0, self.log_cpd_[np.maximum(pcsp, 0)], np.where(pcsp == NO_FACTOR, 0.0, -np.inf))
        return log_root + log_factors.sum(axis=1)

    def _state_dict(self) -> dict:
        return {"support": self.support_.to_dict(), "log_root": self.log_root_.tolist(), "log_cpd": self.log_cpd_.tolist()}

    def _load_state(self, state: dict) -> None:
        self.support_ = SubsplitSupport.from_dict(state["support"])
        self.log_root_ = np.array(state["log_root"], dtype=np.float64)
        self.log_cpd_ = np.array(state["log_cpd"], dtype=np.float64)
