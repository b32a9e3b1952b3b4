"""Site patterns: the distinct columns of an alignment and how often each occurs.

The likelihood of an alignment is a product over sites, and identical columns have identical
likelihoods, so pruning runs once per distinct column and each pattern's log-likelihood is
multiplied by its count (Felsenstein 2004, *Inferring Phylogenies*, ch. 16). Shapes: taxa T,
patterns P, sites N.
"""
from __future__ import annotations

import numpy as np

from phylo_vi.alignment.encoding import tip_partials
from phylo_vi.errors import PhyloVIError, TaxonMismatchError
from phylo_vi.trees.taxa import TaxonNamespace, describe_taxon_difference


def compress_columns(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct columns of ``codes`` (T, N) in order of first appearance.

    Returns ``(pattern_codes (T, P), weights (P,) float64, site_pattern (N,) int64)`` with
    ``codes[:, i] == pattern_codes[:, site_pattern[i]]`` for every site ``i``.
    """
    n_taxa, n_sites = codes.shape
    if n_sites == 0:
        return codes.copy(), np.zeros(0), np.zeros(0, dtype=np.int64)
    columns = np.ascontiguousarray(codes.T).view(np.dtype((np.void, n_taxa))).ravel()
    _, first, inverse, counts = np.unique(columns, return_index=True, return_inverse=True,
                                          return_counts=True)
    order = np.argsort(first, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    pattern_codes = np.ascontiguousarray(codes[:, first[order]])
    return pattern_codes, counts[order].astype(np.float64), rank[inverse.ravel()].astype(np.int64)


class SitePatterns:
    """Compressed alignment: distinct columns (``codes``, T x P) with their ``weights`` (P,).

    ``site_pattern`` (N,) maps every original site to its pattern, so per-site values are
    ``per_pattern[site_pattern]``. ``weights`` sums to ``n_sites``. ``path`` is the alignment
    file they come from (named in errors), when known.
    """

    def __init__(self, taxa: TaxonNamespace, codes: np.ndarray, weights: np.ndarray,
                 site_pattern: np.ndarray | None = None, path: str | None = None):
        codes = np.ascontiguousarray(codes, dtype=np.uint8)
        weights = np.ascontiguousarray(weights, dtype=np.float64)
        if codes.ndim != 2 or codes.shape[0] != len(taxa) or weights.shape != (codes.shape[1],):
            raise PhyloVIError(f"codes {codes.shape} and weights {weights.shape} do not fit {len(taxa)} taxa")
        if np.any(weights < 0):
            raise PhyloVIError("pattern weights must be non-negative")
        self.taxa = taxa
        self.codes = codes
        self.weights = weights
        self.site_pattern = None if site_pattern is None else np.asarray(site_pattern, dtype=np.int64)
        self.path = None if path is None else str(path)

    @property
    def n_taxa(self) -> int:
        return self.codes.shape[0]

    @property
    def n_patterns(self) -> int:
        return self.codes.shape[1]

    @property
    def n_sites(self) -> int:
        """Number of alignment columns (the sum of the weights)."""
        return int(round(float(self.weights.sum())))

    def tip_partials(self) -> np.ndarray:
        """``(T, P, 4)`` float64: 1.0 where the state (A, C, G, T) is allowed at the tip."""
        return tip_partials(self.codes)

    def match_taxa(self, taxa: TaxonNamespace) -> "SitePatterns":
        """These patterns with rows in the order of ``taxa`` (for example a tree's namespace).

        Raises :class:`~phylo_vi.errors.TaxonMismatchError` naming the taxa of ``taxa`` missing
        from the alignment and the alignment's taxa that ``taxa`` lacks.
        """
        if set(taxa) != set(self.taxa):
            difference = describe_taxon_difference(self.taxa, taxa, have_name="the alignment", want_name="the tree")
            where = f"{self.path}: " if self.path is not None else ""
            raise TaxonMismatchError(f"{where}taxa do not match ({difference})")
        rows = np.array([self.taxa.index(name) for name in taxa], dtype=np.int64)
        return SitePatterns(taxa, self.codes[rows], self.weights.copy(), self.site_pattern, self.path)

    def __repr__(self) -> str:
        return f"SitePatterns({self.n_taxa} taxa, {self.n_patterns} patterns, {self.n_sites} sites)"
