r"""Summary statistics of one parameter with the conventions of MrBayes 3.2.7a ``sump``/``sumt``.

Every function reproduces ``NBISweden/MrBayes@v3.2.7a`` to the last printed digit, quirks
included (spec analyze.md §2; verified on the bundled example against ``mb`` 3.2.7a):

- :func:`welford_mean_variance` (utils.c ``MeanVariance``): running mean
  :math:`a_i = a_{i-1} + (x_i - a_{i-1})/i` and sum of squares
  :math:`s_i = s_{i-1} + (x_i - a_i)(x_i - a_{i-1})`, variance :math:`s_n/(n-1)`;
- :func:`upper_median`: :math:`v_{\lfloor n/2 \rfloor}` of the sorted values (no averaging);
- :func:`mrbayes_hpd` (``hpd=yes``, the default; utils.c ``LowerUpperMedianHPD``): the shortest window of
  :math:`w = \lfloor 0.95 n + 0.5 \rfloor` sorted values, with MrBayes' off-by-one (candidate
  windows are measured over :math:`w + 1` points and start ``n - w`` is never tried);
- :func:`mrbayes_ess` (utils.c ``EstimatedSampleSize``; also Tracer's estimator, BEAST
  ``TraceCorrelation``): :math:`\mathrm{ESS} = n \gamma_0 / (\gamma_0 + 2\sum_k \Gamma_k)`
  with autocovariances :math:`\gamma_t` (divisor :math:`n - t`), summed in pairs
  :math:`\Gamma_k = \gamma_{2k-1} + \gamma_{2k}` while positive (Geyer 1992, Stat. Sci. 7:473,
  initial positive sequence), at most 2000 lags;
- :func:`mrbayes_psrf` (utils.c ``PotentialScaleReduction``): Gelman & Rubin (1992, Stat. Sci.
  7:457) :math:`\hat R = \sqrt{(w-1)/w + (m+1)/m \cdot B/W}` with 3.2.7a's bug: the within-run
  sum of squares is never reset, so run :math:`j` adds the squares of runs :math:`1..j`;
  :func:`gelman_rubin_psrf` is the same formula without the bug.

A value MrBayes prints as ``NA`` (an ESS of a constant or one-sample run, a PSRF ≤ 0) is NaN here.
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np
from numba import njit

MAX_LAG = 2000
HPD_LEVEL = 0.95


@njit(cache=True, nogil=True)
def _welford_sums(values: np.ndarray, squares: float = 0.0) -> tuple[float, float]:
    """Running mean and sum of squared deviations, in order (MrBayes ``MeanVariance``), the
    squares added to ``squares`` one by one (as 3.2.7a's PSRF accumulates them across runs)."""
    mean = 0.0
    for i in range(values.shape[0]):
        previous = mean
        mean += (values[i] - previous) / (i + 1)
        squares += (values[i] - mean) * (values[i] - previous)
    return mean, squares


def _welford(values: np.ndarray) -> tuple[float, float]:
    mean, squares = _welford_sums(values)
    n = values.shape[0]
    return mean, squares / (n - 1) if n > 1 else 0.0


def welford_mean_variance(values: np.ndarray) -> tuple[float, float]:
    """Mean and sample variance in file order, MrBayes ``MeanVariance`` (0 variance for n ≤ 1)."""
    return _welford(np.ascontiguousarray(values, dtype=np.float64))


def upper_median(sorted_values: np.ndarray) -> float:
    """``v[n // 2]`` of sorted values: MrBayes' median (the upper one for even n)."""
    return float(sorted_values[len(sorted_values) // 2])


def mrbayes_hpd(sorted_values: np.ndarray, level: float = HPD_LEVEL) -> tuple[float, float]:
    """MrBayes' 95% HPD interval of sorted values, off-by-one included (see the module docstring)."""
    v = sorted_values
    n = len(v)
    width = int(level * n + 0.5)
    if width < 1:
        return float(v[0]), float(v[-1])
    start = 0
    if n - width > 1:
        spans = v[1 + width:n] - v[1:n - width]
        first_shortest = int(np.argmin(spans))
        if spans[first_shortest] < v[width - 1] - v[0]:
            start = first_shortest + 1
    return float(v[start]), float(v[start + width - 1])


_LAG_BLOCK = 8


@njit(cache=True, nogil=True)
def _lagged_sums(centred: np.ndarray, first: int, n_lags: int, out: np.ndarray) -> None:
    """``out[t] = Σ_{j < n - first - t} centred[j] · centred[j + first + t]`` for t < n_lags ≤ 8.

    The lags share one sweep (independent accumulators for the CPU to overlap), each sum still
    taken in increasing j, so every value is bit-identical to its own loop.
    """
    n = centred.shape[0]
    a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = 0.0
    common = n - first - (n_lags - 1)
    if n_lags == _LAG_BLOCK and common > 0:
        for j in range(common):
            x = centred[j]
            k = j + first
            a0 += x * centred[k]
            a1 += x * centred[k + 1]
            a2 += x * centred[k + 2]
            a3 += x * centred[k + 3]
            a4 += x * centred[k + 4]
            a5 += x * centred[k + 5]
            a6 += x * centred[k + 6]
            a7 += x * centred[k + 7]
        out[0], out[1], out[2], out[3], out[4], out[5], out[6], out[7] = a0, a1, a2, a3, a4, a5, a6, a7
        start = common
    else:
        out[:n_lags] = 0.0
        start = 0
    for t in range(n_lags):
        total = out[t]
        for j in range(start, n - first - t):
            total += centred[j] * centred[j + first + t]
        out[t] = total


@njit(cache=True, nogil=True)
def autocorrelation_variance(values: np.ndarray) -> tuple[float, float]:
    """``(γ0, γ0 + 2 Σ_k Γ_k)`` of the MrBayes/Tracer estimator (module docstring): the variance and the
    autocorrelation-corrected variance whose ratio gives the ESS (and Tracer's standard error of the mean)."""
    n = values.shape[0]
    mean = 0.0
    for i in range(n):
        mean += values[i]
    mean /= n
    centred = np.empty(n)
    for i in range(n):
        centred[i] = values[i] - mean
    max_lag = min(n - 1, MAX_LAG)
    gamma = np.zeros(max_lag + 1)
    block = np.zeros(_LAG_BLOCK)
    block_start = 0
    block_size = 0
    variance = 0.0
    lag = 0
    while lag < max_lag:
        if lag >= block_start + block_size:
            block_start = lag
            block_size = min(_LAG_BLOCK, max_lag - lag)
            _lagged_sums(centred, block_start, block_size, block)
        gamma[lag] = block[lag - block_start] / (n - lag)
        if lag == 0:
            variance = gamma[0]
        elif lag % 2 == 0:
            pair = gamma[lag - 1] + gamma[lag]
            if pair > 0:
                variance += 2.0 * pair
            else:
                max_lag = lag
        lag += 1
    return gamma[0], variance


@njit(cache=True, nogil=True)
def _ess(values: np.ndarray) -> float:
    gamma0, variance = autocorrelation_variance(values)
    if variance == 0.0:
        return np.nan
    return gamma0 * values.shape[0] / variance


def mrbayes_ess(values: np.ndarray) -> float:
    """Effective sample size of one run, MrBayes/Tracer estimator; NaN (MrBayes ``NA``) when undefined."""
    x = np.ascontiguousarray(values, dtype=np.float64)
    if len(x) < 2:
        return math.nan
    return float(_ess(x))


def mrbayes_psrf(runs: Sequence[np.ndarray]) -> float:
    """PSRF of MrBayes 3.2.7a, with its within-run accumulation bug; NaN where it prints ``NA``."""
    return _psrf(runs, reset_within=False)


def gelman_rubin_psrf(runs: Sequence[np.ndarray]) -> float:
    """Textbook Gelman–Rubin PSRF with MrBayes' formula and (m+1)/m factor, without its bug."""
    return _psrf(runs, reset_within=True)


def _psrf(runs: Sequence[np.ndarray], reset_within: bool) -> float:
    m = len(runs)
    if m < 2 or any(len(run) == 0 for run in runs):
        return math.nan
    within_squares = 0.0
    within = 0.0
    run_means = np.empty(m)
    total = 0
    with np.errstate(divide="ignore", invalid="ignore"):
        for j, run in enumerate(runs):
            x = np.ascontiguousarray(run, dtype=np.float64)
            # from a = x[0]: Welford's first step adds exactly 0 to the squares
            mean, within_squares = _welford_sums(x, 0.0 if reset_within else within_squares)
            within += np.float64(within_squares) / np.float64(len(x) - 1)
            run_means[j] = mean
            total += len(x)
        _, between = _welford(run_means)
        within /= m
        w = total / m
        if not within > 0:
            return math.nan
        value = math.sqrt((w - 1) / w + (m + 1) / m * between / within)
    return value if value > 0 else math.nan
