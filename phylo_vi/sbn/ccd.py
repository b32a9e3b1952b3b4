"""Conditional clade distribution (CCD; Larget 2013, Syst. Biol. 62:501, eq. 3–4).

As in the baseline of Zhang & Matsen (NeurIPS 2018, §5; ``zcrabbit/sbn:models.py``
``ccd_dict_update``/``ccd_estimate``): every training tree adds w_T/(2n − 3) to the weight
c(s) of each of its splits and to the weight c(C → s) of each oriented clade C (both sides of
every edge) with its subsplit s. Rooting every tree on the pendant edge of the first taxon,

    q(Tᵘ) = Π_{clades C of the rooted tree, |C| ≥ 2, C ≠ all taxa} c(C → s_C) / c(split of C),

the product of conditional clade probabilities P(s_C | C) (the root clade's pendant split has
c = 1/(2n − 3), which gives the factor 2n − 3 of ``ccd_estimate``). The value does not depend on
the edge chosen as root; the authors' code roots at the first child of the stored root.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
from numba import njit

from phylo_vi.base import SAMPLE_SIZE, check_is_fitted, check_parameter
from phylo_vi.sbn.base import TreeDistribution
from phylo_vi.sbn.bitkeys import keys_to_rows, lookup, row_keys
from phylo_vi.sbn.edges import EdgeTables, unrooted_edge_tables
from phylo_vi.sbn.sampling import arrays_from_preorder
from phylo_vi.sbn.support import _factor_keys_kernel
from phylo_vi.trees import bitset
from phylo_vi.trees.arrays import TreeArrays
from phylo_vi.trees.tree import Tree
from phylo_vi.util.random import check_random_state


def _clade_factors(tables: EdgeTables, clade_keys: np.ndarray):
    """Clade ids (−1 unseen), split keys and child-half ids of every directed edge."""
    flat = row_keys(tables.clades.reshape(-1, tables.clades.shape[-1]))
    clade_ids = lookup(clade_keys, flat).reshape(tables.clades.shape[:2])
    split_key, _, child_half, _, _ = _factor_keys_kernel(clade_ids, tables.children, len(clade_keys))
    return clade_ids, np.concatenate([split_key, split_key], axis=1), child_half


class ConditionalCladeDistribution(TreeDistribution):
    """Larget's CCD for unrooted trees (module docstring).

    Parameters
    ----------
    None: the estimate is determined by the weighted sample.

    Attributes
    ----------
    taxa_ : TaxonNamespace
        Taxa of the training trees.
    clade_keys_ : ndarray of shape (n_clades,)
        Sorted keys of the clade bitsets (:func:`~phylo_vi.sbn.bitkeys.row_keys`); a clade's id
        is its position here.
    n_words_ : int
        uint64 words per clade bitset.
    split_keys_, split_weights_ : ndarray of shape (n_splits,)
        c(s) of every split, keyed by the smaller clade id of its two sides.
    subsplit_keys_, subsplit_weights_ : ndarray of shape (n_subsplits,)
        c(C → s) of every clade and subsplit, keyed by ``clade id * n_clades + smaller child
        half id``.
    """

    def __init__(self) -> None:
        """No hyperparameters: the estimate is determined by the weighted sample."""

    def fit(self, trees: Sequence[Tree] | TreeArrays, sample_weight: Sequence[float] | None = None
            ) -> "ConditionalCladeDistribution":
        """Fit to unrooted trees; ``sample_weight`` defaults to each tree's ``weight``."""
        tables = unrooted_edge_tables(trees, sample_weight)
        flat = row_keys(tables.clades.reshape(-1, tables.clades.shape[-1]))
        self.clade_keys_ = np.unique(flat)
        self.n_words_ = tables.clades.shape[-1]
        clade_ids, split_key, child_half = _clade_factors(tables, self.clade_keys_)
        share = np.broadcast_to((tables.weights / tables.n_edges)[:, None], split_key.shape)
        down = slice(0, tables.n_edges)
        self.split_keys_ = np.unique(split_key[:, down])
        self.split_weights_ = np.bincount(lookup(self.split_keys_, split_key[:, down].ravel()),
                                          weights=share[:, down].ravel(), minlength=len(self.split_keys_))
        internal = child_half >= 0
        subsplit = clade_ids * len(self.clade_keys_) + child_half
        self.subsplit_keys_ = np.unique(subsplit[internal])
        self.subsplit_weights_ = np.bincount(lookup(self.subsplit_keys_, subsplit[internal]), weights=share[internal],
                                             minlength=len(self.subsplit_keys_))
        self.taxa_ = tables.taxa
        return self

    def log_prob(self, trees: Sequence[Tree] | TreeArrays) -> np.ndarray:
        """log q(Tᵘ): sum of log conditional clade probabilities (−inf for unseen subsplits)."""
        check_is_fitted(self)
        trees = self._check_taxa(trees)
        if len(trees) == 0:
            return np.zeros(0)
        tables = unrooted_edge_tables(trees, np.ones(len(trees)), normalize=False, deduplicate=False)
        clade_ids, split_key, child_half = _clade_factors(tables, self.clade_keys_)
        away_from_first = (tables.clades[..., 0] & np.uint64(1)) == 0
        factor = away_from_first & (child_half != -2)
        subsplit = np.where((clade_ids >= 0) & (child_half >= 0), clade_ids * len(self.clade_keys_) + child_half, -1)
        numerator = np.where(subsplit >= 0, lookup(self.subsplit_keys_, subsplit), -1)
        denominator = np.where(split_key >= 0, lookup(self.split_keys_, split_key), -1)
        seen = numerator >= 0
        with np.errstate(divide="ignore"):
            log_ratio = np.where(seen, np.log(self.subsplit_weights_[np.maximum(numerator, 0)])
                                 - np.log(self.split_weights_[np.maximum(denominator, 0)]), -np.inf)
        return np.where(factor, log_ratio, 0.0).sum(axis=1)

    def sample_arrays(self, n: int, random_state=None) -> TreeArrays:
        """Draw ``n`` topologies: from the clade of all taxa but the first, split clades top-down."""
        check_is_fitted(self)
        check_parameter("number of samples", n, SAMPLE_SIZE)
        n_taxa = len(self.taxa_)
        n_clades = len(self.clade_keys_)
        clades = keys_to_rows(self.clade_keys_, self.n_words_)
        parent_clade = self.subsplit_keys_ // n_clades
        half = self.subsplit_keys_ % n_clades
        other = lookup(self.clade_keys_, row_keys(clades[parent_clade] ^ clades[half]))
        offsets = np.searchsorted(parent_clade, np.arange(n_clades + 1)).astype(np.int64)
        sizes = bitset.popcount(clades)
        clade_taxon = np.full(n_clades, -1, dtype=np.int64)
        for index in np.flatnonzero(sizes == 1):
            clade_taxon[index] = bitset.bitset_indices(clades[index])[0]
        start = int(lookup(self.clade_keys_, row_keys(bitset.full_bitset(n_taxa)[None, :]
                                                      ^ bitset.bitset_from_indices([0], n_taxa)[None, :]))[0])
        uniforms = check_random_state(random_state).random((n, n_taxa - 2))
        parent, taxon = _ccd_sample_kernel(uniforms, start, offsets, self.subsplit_weights_, half, other, clade_taxon)
        return arrays_from_preorder(parent, taxon, self.taxa_, False)

    def _state_dict(self) -> dict:
        return {"clades": keys_to_rows(self.clade_keys_, self.n_words_).tolist(),
                "split_keys": self.split_keys_.tolist(), "split_weights": self.split_weights_.tolist(),
                "subsplit_keys": self.subsplit_keys_.tolist(), "subsplit_weights": self.subsplit_weights_.tolist()}

    def _load_state(self, state: dict) -> None:
        clades = np.array(state["clades"], dtype=np.uint64)
        self.n_words_ = clades.shape[1]
        self.clade_keys_ = row_keys(clades)
        self.split_keys_ = np.array(state["split_keys"], dtype=np.int64)
        self.split_weights_ = np.array(state["split_weights"], dtype=np.float64)
        self.subsplit_keys_ = np.array(state["subsplit_keys"], dtype=np.int64)
        self.subsplit_weights_ = np.array(state["subsplit_weights"], dtype=np.float64)


@njit(cache=True, nogil=True)
def _ccd_sample_kernel(uniforms, start, offsets, weights, half, other, clade_taxon):
    n_samples, n_draws = uniforms.shape
    n_taxa = n_draws + 2
    n_nodes = 2 * n_taxa - 2
    parent_out = np.full((n_samples, n_nodes), -1, dtype=np.int32)
    taxon_out = np.full((n_samples, n_nodes), -1, dtype=np.int32)
    stack = np.empty((2 * n_taxa, 3), dtype=np.int64)
    for t in range(n_samples):
        taxon_out[t, 1] = 0
        parent_out[t, 1] = 0
        stack[0, 0], stack[0, 1], stack[0, 2] = start, 0, 1
        top, n_used, draw = 1, 2, 0
        while top > 0:
            top -= 1
            clade, up, merge = stack[top, 0], stack[top, 1], stack[top, 2]
            if merge:
                node = up
            else:
                node = n_used
                n_used += 1
                parent_out[t, node] = up
            if clade_taxon[clade] >= 0:
                taxon_out[t, node] = clade_taxon[clade]
                continue
            lo, hi = offsets[clade], offsets[clade + 1]
            target = uniforms[t, draw] * weights[lo:hi].sum()
            draw += 1
            s = lo
            acc = weights[lo]
            while acc <= target and s < hi - 1:
                s += 1
                acc += weights[s]
            stack[top, 0], stack[top, 1], stack[top, 2] = other[s], node, 0
            stack[top + 1, 0], stack[top + 1, 1], stack[top + 1, 2] = half[s], node, 0
            top += 2
    return parent_out, taxon_out
