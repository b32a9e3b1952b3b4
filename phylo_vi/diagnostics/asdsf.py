r"""Split frequencies across runs and the average standard deviation of split frequencies.

For runs :math:`r = 1..R` with split frequencies :math:`f_{sr}` (each run's own weighted
fraction of trees holding split :math:`s`), the MrBayes convergence diagnostic is

.. math::

    \mathrm{SDSF}_s = \sqrt{\frac{1}{R - 1} \sum_r (f_{sr} - \bar f_s)^2}, \qquad
    \mathrm{ASDSF} = \frac{1}{|S|} \sum_{s \in S} \mathrm{SDSF}_s,

where :math:`S` holds the non-trivial splits whose frequency is at least ``min_frequency``
(MrBayes ``minpartfreq``, default 0.10) in at least one run. This is the convention of MrBayes
3.2 (Ronquist et al. 2012, Syst. Biol. 61:539; MrBayes 3.2 manual, section "When to stop the
analysis", and ``mcmc`` option ``Minpartfreq``; the sample standard deviation with
:math:`R - 1` as in ``NBISweden/MrBayes:src/sumt.c``). Trivial splits (one taxon against the
rest) are excluded: they are in every tree and would pull the average towards 0 (RWTY issue
#177). A split absent from a run has frequency 0 there.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from phylo_vi.diagnostics.split_frequencies import SplitFrequencies, split_names
from phylo_vi.errors import PhyloVIError
from phylo_vi.trees import bitset
from phylo_vi.trees.taxa import TaxonNamespace, common_namespace

DEFAULT_MIN_FREQUENCY = 0.10


@dataclass(frozen=True)
class SplitTable:
    """Union of the splits of several runs, most frequent (pooled) first.

    ``frequencies`` (n_splits, n_runs); ``counts`` (n_splits,) the pooled weighted number of
    trees holding each split (MrBayes ``#obs``); ``pooled`` the pooled frequency (``Probab.``);
    ``hashed``: ``splits`` are 128-bit hashes (:class:`SplitFrequencies`).
    """

    taxa: TaxonNamespace
    splits: np.ndarray
    frequencies: np.ndarray
    counts: np.ndarray
    pooled: np.ndarray
    n_trees: np.ndarray
    hashed: bool = False

    @property
    def n_runs(self) -> int:
        return self.frequencies.shape[1]

    @property
    def n_splits(self) -> int:
        return len(self.splits)

    @property
    def sd(self) -> np.ndarray:
        """Sample standard deviation across runs (NaN with one run)."""
        if self.n_runs < 2:
            return np.full(self.n_splits, np.nan)
        return self.frequencies.std(axis=1, ddof=1)

    @property
    def min(self) -> np.ndarray:
        return self.frequencies.min(axis=1)

    @property
    def max(self) -> np.ndarray:
        return self.frequencies.max(axis=1)

    @property
    def n_runs_present(self) -> np.ndarray:
        """Number of runs in which each split occurs (MrBayes ``Nruns``)."""
        return (self.frequencies > 0).sum(axis=1)

    def bitstrings(self) -> list[str]:
        return split_names(self.splits, len(self.taxa), self.hashed)


def split_table(runs: Sequence[SplitFrequencies]) -> SplitTable:
    """Align the splits of ``runs`` (sharing one taxon namespace) in one table."""
    if not runs:
        raise PhyloVIError("no runs to tabulate")
    taxa = common_namespace(runs, what="runs")
    hashed = runs[0].hashed
    if any(run.hashed != hashed for run in runs):
        raise PhyloVIError("runs with splits as bitsets and as hashes cannot be tabulated together")
    n_words = 2 if hashed else bitset.n_words(len(taxa))
    stacked = np.concatenate([run.splits for run in runs]) if any(r.n_splits for r in runs) else \
        np.zeros((0, n_words), dtype=np.uint64)
    splits, inverse = (np.unique(stacked, axis=0, return_inverse=True) if len(stacked)
                       else (stacked, np.zeros(0, dtype=np.int64)))
    inverse = inverse.ravel()
    weights = np.zeros((len(splits), len(runs)))
    start = 0
    for column, run in enumerate(runs):
        rows = inverse[start:start + run.n_splits]
        weights[rows, column] = run.weights
        start += run.n_splits
    totals = np.array([run.total_weight for run in runs])
    frequencies = weights / totals
    counts = weights.sum(axis=1)
    pooled = counts / totals.sum()
    # most frequent first, ties in the order of the bitstrings (first word of the order keys first),
    # of hashed splits in the order of the hashes
    order_words = splits if hashed else bitset.string_order_words(splits)
    order = np.lexsort([order_words[:, w] for w in range(order_words.shape[1] - 1, -1, -1)] + [-pooled])
    return SplitTable(taxa, splits[order], frequencies[order], counts[order], pooled[order],
                      np.array([run.n_trees for run in runs]), hashed)


def asdsf(runs: Sequence[SplitFrequencies] | SplitTable, min_frequency: float = DEFAULT_MIN_FREQUENCY,
          summary: str = "mean") -> float:
    """Average (``summary="mean"``) or maximum (``"max"``) standard deviation of split frequencies.

    See the module docstring for the formula. NaN when no split reaches ``min_frequency`` in
    any run (MrBayes prints -1 there).
    """
    table = runs if isinstance(runs, SplitTable) else split_table(runs)
    if table.n_runs < 2:
        raise PhyloVIError("ASDSF needs at least two runs")
    if not 0.0 <= min_frequency <= 1.0:
        raise PhyloVIError(f"min_frequency must be in [0, 1], got {min_frequency}")
    selected = table.max >= min_frequency
    if not np.any(selected):
        return float("nan")
    values = table.sd[selected]
    if summary == "mean":
        return float(values.mean())
    if summary == "max":
        return float(values.max())
    raise PhyloVIError(f"summary must be 'mean' or 'max', got {summary!r}")
