r"""Tree-space convergence as RWTY computes it: split frequencies over generations, ASDSF over
generations and the approximate topological ESS (spec analyze.md §4).

All functions work on a :class:`~.mrbayes_partitions.PartitionTable`, whose per-node partition
ids give each tree's splits; only informative splits (2 ≤ size ≤ n − 2, unrooted) count. The
trees' splits are streamed from the table's temporary file in chunks
(:meth:`~.mrbayes_partitions.PartitionTable.tree_split_chunks`), so memory does not grow with
the number of trees: the windows' counts, the RF sums per lag and a tail of the last K trees
are all that is carried from one chunk to the next.

**Windows** (RWTY ``slide.freq``, ``cumulative.freq``): non-overlapping blocks of
``window_size`` trees, the remainder dropped; the sliding frequency of a split in window w is
its fraction of trees in that block; the cumulative frequency is the mean of windows 1..w.

**ASDSF over generations** (RWTY ``get.asdsfs``): at every window, the standard deviation across
runs (n − 1 divisor) of the cumulative split frequencies, averaged over the splits above a
cut-off in some run. Two conventions, both reported: ``mrbayes`` (informative splits with
frequency ≥ 0.10 in some run, as ``sumt``/``mcmc``) and ``rwty`` (frequency > 0 in some run,
plus the all-tips clade with SD 0, as ape ``prop.part`` lists it).

**Approximate topological ESS** (Lanfear, Hua & Warren 2016, Genome Biol. Evol. 8:2319, eqs.
3–6; RWTY ``topological.approx.ess`` with ``use.all.samples=TRUE`` and ``treedist="RF"``): for lags
k = 1..K, :math:`d_k` is the mean squared Robinson–Foulds distance (Robinson & Foulds 1981,
Math. Biosci. 53:131) between trees i and i + k over all pairs; :math:`d_k \approx
a(1 - e^{-k/b})` is fitted by least squares (Nelder–Mead from (1, 1), as R ``optim``), m is the
first lag with :math:`d_k / a > 0.95` (else K + 1, and the ESS is an upper bound), and with
:math:`D = \max_k d_k`,

.. math::

    S = \frac{\sum_{k<m} (L - k) d_k + (L - m + 1)(L - m) D / 2}{2 L^2}, \qquad
    \mathrm{ESS} = \frac{1}{1 - 4 S / D}.

K = min(100, L − 100) (or ⌊0.9 L⌋ when L < 100), so at least 120 trees are needed.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit, prange

from phylo_vi.diagnostics.mrbayes_partitions import PartitionTable, informative_sizes
from phylo_vi.errors import PhyloVIError
from phylo_vi.trees import bitset

DEFAULT_WINDOW_SIZE = 20
MAX_WINDOWS = 200
MAX_SAMPLING_INTERVAL = 100
MIN_TREES_FOR_ESS = 120


def informative_partitions(table: PartitionTable) -> np.ndarray:
    """Boolean mask of the informative partitions (2 ≤ size ≤ n − 2; rooted: 2 ≤ size ≤ n − 1)."""
    return informative_sizes(bitset.popcount(table.partitions), table.n_taxa, table.rooted)


# ------------------------------------------------------------------------------------ windows
def window_size_for(n_trees: int, window_size: int = DEFAULT_WINDOW_SIZE, max_windows: int = MAX_WINDOWS) -> int:
    """``window_size``, enlarged so that ``n_trees`` make at most ``max_windows`` windows (memory, plots)."""
    return max(window_size, -(-n_trees // max_windows))


@dataclass(frozen=True)
class SplitWindows:
    """Sliding and cumulative frequencies (n_informative, n_windows) of the informative partitions
    ``partitions`` (indices into the table) of one run."""

    window_size: int
    partitions: np.ndarray
    generations: np.ndarray
    sliding: np.ndarray
    cumulative: np.ndarray


@njit(cache=True, nogil=True)
def _count_windows(offsets: np.ndarray, ids: np.ndarray, row_of: np.ndarray, first: int, window_size: int,
                   counts: np.ndarray) -> None:
    """Add the splits of trees ``first, first + 1, …`` (CSR ``offsets``, ``ids``) to ``counts[row, window]``
    (trees past the last full window are dropped, and splits without a row)."""
    n_windows = counts.shape[1]
    for t in range(offsets.shape[0] - 1):
        window = (first + t) // window_size
        if window >= n_windows:
            return
        for k in range(offsets[t], offsets[t + 1]):
            row = row_of[ids[k]]
            if row >= 0:
                counts[row, window] += 1


def split_windows(table: PartitionTable, run: int, window_size: int = DEFAULT_WINDOW_SIZE,
                  generations: np.ndarray | None = None) -> SplitWindows:
    """Per-window split frequencies of ``run`` (RWTY conventions, module docstring).

    ``generations`` (n_trees,) labels each window by the generation of its first tree (RWTY
    labels it one sample later); the window index is used when None.
    """
    n_trees = int(table.n_sampled[run])
    n_windows = n_trees // window_size
    if n_windows < 2:
        raise PhyloVIError(f"split frequencies over windows need at least {2 * window_size} trees per run "
                           f"(window size {window_size}); run {run + 1} has {n_trees}")
    partitions = np.flatnonzero(informative_partitions(table))
    row_of = np.full(len(table.partitions), -1, dtype=np.int64)
    row_of[partitions] = np.arange(len(partitions))
    counts = np.zeros((len(partitions), n_windows), dtype=np.int64)
    first = 0
    for offsets, ids in table.tree_split_chunks(run):
        _count_windows(offsets, ids, row_of, first, window_size, counts)
        first += len(offsets) - 1
    sliding = counts / window_size
    cumulative = np.cumsum(sliding, axis=1) / np.arange(1, n_windows + 1)
    starts = np.arange(n_windows) * window_size
    labels = starts if generations is None else np.asarray(generations)[starts]
    return SplitWindows(window_size, partitions, labels, sliding, cumulative)


def asdsf_over_generations(windows: list[SplitWindows], table: PartitionTable,
                           convention: str = "mrbayes") -> np.ndarray:
    """ASDSF of the cumulative frequencies at every window (module docstring; two conventions)."""
    if len(windows) < 2:
        raise PhyloVIError("ASDSF needs at least two runs")
    n_windows = min(w.cumulative.shape[1] for w in windows)
    stacked = np.stack([w.cumulative[:, :n_windows] for w in windows])  # (runs, informative parts, windows)
    sd = stacked.std(axis=0, ddof=1)
    highest = stacked.max(axis=0)
    out = np.empty(n_windows)
    for w in range(n_windows):
        if convention == "mrbayes":
            keep = highest[:, w] >= 0.10
            out[w] = sd[keep, w].mean() if np.any(keep) else math.nan
        elif convention == "rwty":
            keep = highest[:, w] > 0.0
            out[w] = sd[keep, w].sum() / (np.count_nonzero(keep) + 1)
        else:
            raise PhyloVIError(f"unknown ASDSF convention {convention!r}; choose mrbayes or rwty")
    return out


# ------------------------------------------------------------------------------ topological ESS
@njit(cache=True, nogil=True)
def _symmetric_difference(x: np.ndarray, i: int, i_end: int, y: np.ndarray, j: int, j_end: int) -> int:
    """Size of the symmetric difference of the sorted ids ``x[i:i_end]`` and ``y[j:j_end]``."""
    size = (i_end - i) + (j_end - j)
    while i < i_end and j < j_end:
        if x[i] == y[j]:
            size -= 2
            i += 1
            j += 1
        elif x[i] < y[j]:
            i += 1
        else:
            j += 1
    return size


@njit(cache=True, nogil=True)
def _rf(offsets: np.ndarray, ids: np.ndarray, a: int, b: int) -> int:
    """Robinson–Foulds distance of trees ``a`` and ``b``: size of the symmetric difference of their split ids."""
    return _symmetric_difference(ids, offsets[a], offsets[a + 1], ids, offsets[b], offsets[b + 1])


@njit(cache=True, nogil=True)
def _same_splits(offsets: np.ndarray, ids: np.ndarray, a: int, b: int) -> bool:
    if offsets[a + 1] - offsets[a] != offsets[b + 1] - offsets[b]:
        return False
    for k in range(offsets[a + 1] - offsets[a]):
        if ids[offsets[a] + k] != ids[offsets[b] + k]:
            return False
    return True


@njit(cache=True, nogil=True)
def _topology_runs(offsets: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Start of every run of consecutive trees with the same splits, and n_trees at the end."""
    n_trees = offsets.shape[0] - 1
    starts = np.empty(n_trees + 1, dtype=np.int64)
    n_runs = 0
    for i in range(n_trees):
        if i == 0 or not _same_splits(offsets, ids, i - 1, i):
            starts[n_runs] = i
            n_runs += 1
    starts[n_runs] = n_trees
    return starts[:n_runs + 1]


@njit(cache=True, nogil=True, parallel=True)
def _add_lagged_squared_rf(offsets: np.ndarray, ids: np.ndarray, first_later: int, totals: np.ndarray) -> None:
    """``totals[k-1]`` += Σ RF(tree i, tree i + k)² over the pairs with i + k ≥ ``first_later``, k = 1..K.

    MCMC samples repeat their topology for many generations: over runs of identical trees the
    pairs (i, i + k) fall into blocks sharing one distance, counted at once (exact: integer sums).
    """
    n_trees = offsets.shape[0] - 1
    starts = _topology_runs(offsets, ids)
    for lag in prange(1, totals.shape[0] + 1):
        total = 0
        i, a, b = max(0, first_later - lag), 0, 0
        while i < n_trees - lag:
            while starts[a + 1] <= i:
                a += 1
            while starts[b + 1] <= i + lag:
                b += 1
            block = min(starts[a + 1] - i, starts[b + 1] - (i + lag), n_trees - lag - i)
            d = 0 if a == b else _rf(offsets, ids, starts[a], starts[b])
            total += block * d * d
            i += block
        totals[lag - 1] += total


def lagged_squared_rf(offsets: np.ndarray, ids: np.ndarray, max_lag: int) -> np.ndarray:
    """``d[k-1]`` = mean over i of RF(tree i, tree i + k)², k = 1..max_lag (all pairs), of the trees
    in CSR ``(offsets, ids)``."""
    totals = np.zeros(max_lag, dtype=np.int64)
    _add_lagged_squared_rf(offsets, ids, 0, totals)
    return totals / (offsets.shape[0] - 1 - np.arange(1, max_lag + 1))


def streamed_lagged_squared_rf(table: PartitionTable, run: int, max_lag: int) -> np.ndarray:
    """:func:`lagged_squared_rf` of ``run``'s trees, streamed: each chunk is joined to the last
    ``max_lag`` trees before it, and only the pairs ending in the chunk are added."""
    totals = np.zeros(max_lag, dtype=np.int64)
    tail_offsets, tail_ids = np.zeros(1, dtype=np.int64), np.zeros(0, dtype=np.int32)
    n_trees = 0
    for offsets, ids in table.tree_split_chunks(run):
        joined_offsets = np.concatenate([tail_offsets, offsets[1:] + tail_offsets[-1]])
        joined_ids = np.concatenate([tail_ids, ids])
        _add_lagged_squared_rf(joined_offsets, joined_ids, len(tail_offsets) - 1, totals)
        n_trees += len(offsets) - 1
        first = max(0, len(joined_offsets) - 1 - max_lag)
        tail_offsets = joined_offsets[first:] - joined_offsets[first]
        tail_ids = joined_ids[joined_offsets[first]:]
    return totals / (n_trees - np.arange(1, max_lag + 1))


@njit(cache=True, nogil=True)
def _rf_to(offsets: np.ndarray, ids: np.ndarray, target: np.ndarray) -> np.ndarray:
    """RF distance of every tree of CSR ``(offsets, ids)`` to the sorted split ids ``target``."""
    out = np.empty(offsets.shape[0] - 1)
    for t in range(offsets.shape[0] - 1):
        out[t] = _symmetric_difference(ids, offsets[t], offsets[t + 1], target, 0, target.shape[0])
    return out


def rf_distances_to(table: PartitionTable, run: int, focal: int) -> np.ndarray:
    """RF distance of every tree of ``run`` to its tree ``focal`` (a trace for plots and pseudo-ESS):
    one streamed pass finds the focal tree's splits, a second the distances."""
    target, first = None, 0
    for offsets, ids in table.tree_split_chunks(run):
        if first <= focal < first + len(offsets) - 1:
            t = focal - first
            target = ids[offsets[t]:offsets[t + 1]].copy()
            break
        first += len(offsets) - 1
    if target is None:
        raise PhyloVIError(f"run {run + 1} has no tree {focal} (it has {int(table.n_sampled[run])})")
    return np.concatenate([_rf_to(offsets, ids, target) for offsets, ids in table.tree_split_chunks(run)])


@dataclass(frozen=True)
class TopologicalESS:
    """Approximate topological ESS of one run; ``upper_bound`` when no lag reached 0.95 of the asymptote."""

    ess: float
    upper_bound: bool
    lags: np.ndarray
    distances: np.ndarray
    asymptote: float
    scale: float


def _fit_exponential(lags: np.ndarray, distances: np.ndarray) -> tuple[float, float]:
    from scipy.optimize import minimize

    def loss(theta: np.ndarray) -> float:
        a, b = theta
        if b <= 0:
            return float("inf")
        return float(np.sum((distances - a * (1.0 - np.exp(-lags / b))) ** 2))

    fit = minimize(loss, np.array([1.0, 1.0]), method="Nelder-Mead",
                   options={"xatol": 1e-8, "fatol": 1e-10, "maxiter": 20_000, "maxfev": 40_000})
    return float(fit.x[0]), float(fit.x[1])


def approximate_topological_ess(table: PartitionTable, run: int) -> TopologicalESS:
    """Lanfear et al. (2016) approximate ESS of ``run``'s topologies (module docstring)."""
    n = int(table.n_sampled[run])
    interval = MAX_SAMPLING_INTERVAL if n >= MAX_SAMPLING_INTERVAL else int(0.9 * n)
    max_lag = min(interval, n - 100)
    if max_lag < 20:
        raise PhyloVIError(f"the approximate topological ESS needs at least {MIN_TREES_FOR_ESS} trees per run; "
                           f"run {run + 1} has {n}")
    distances = streamed_lagged_squared_rf(table, run, max_lag)
    lags = np.arange(1, max_lag + 1, dtype=np.float64)
    peak = float(distances.max())
    if peak == 0.0:  # one topology throughout: no topological autocorrelation to measure
        return TopologicalESS(math.nan, False, lags, distances, 0.0, 0.0)
    asymptote, scale = _fit_exponential(lags, distances)
    above = np.flatnonzero(distances / asymptote > 0.95) if asymptote > 0 else np.zeros(0, dtype=np.int64)
    upper_bound = len(above) == 0
    m = max_lag + 1 if upper_bound else int(above[0]) + 1
    k = np.arange(1, m)
    s = (np.sum((n - k) * distances[:m - 1]) + (n - m + 1) * (n - m) * peak / 2.0) / (2.0 * n * n)
    return TopologicalESS(float(1.0 / (1.0 - 4.0 * s / peak)), upper_bound, lags, distances, asymptote, scale)
