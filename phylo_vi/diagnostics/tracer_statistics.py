r"""Parameter summaries with the conventions of Tracer (BEAST ``trace.jar``; spec analyze.md §5).

Tracer users read these numbers; they differ from MrBayes ``sump`` (:mod:`.mrbayes_statistics`):

- **runs combined by concatenation** (Tracer ``CombinedTraces.analyseTrace``): the post-burn-in
  values of every run, run 1 first, analysed as one chain (neither MrBayes' minESS nor its avgESS);
- **ESS** (BEAST ``TraceCorrelation.analyseCorrelationNumeric``): MrBayes' estimator, the same code
  (at most 2000 lags, divisor n − lag, pairs of autocovariances summed while positive), the
  autocovariances of the (long) combined chain taken by FFT;
  :math:`\mathrm{ESS} = n\gamma_0/\sigma^2_{\mathrm{ac}}`, NaN for a constant trace;
- **standard error of the mean**: :math:`\sqrt{\sigma^2_{\mathrm{ac}}/n}`, with
  :math:`\sigma^2_{\mathrm{ac}} = \gamma_0 + 2\sum_k \Gamma_k` the autocorrelation-corrected variance;
- **mean** skipping NaN values;
- **quantiles** (``DiscreteStatistics.quantile``): :math:`x_{(\lceil qn \rceil - 1)}` of the sorted
  values (0-based), so the median is the *lower* median;
- **95% HPD** (``DiscreteStatistics.HPDInterval``): :math:`d = \mathrm{Math.round}(0.95 n)` (half
  up), windows :math:`[x_i, x_{i+d-1}]` for every start :math:`i = 0..n-d`, the first shortest
  (MrBayes' interval has an off-by-one, Tracer's has none);
- **default burn-in** (``LogFileTraces.loadTraces``): 10% of the last state, in states (integer
  division), i.e. ``burnIn / stepSize`` samples with ``stepSize`` = 3rd state − 2nd state
  (:func:`tracer_burnin`; ``analyze`` applies its own burn-in to every table, so that they agree).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from phylo_vi.diagnostics.mrbayes_statistics import MAX_LAG

HPD_PROPORTION = 0.95
TRACER_COLUMNS = ("parameter", "mean", "stderr_of_mean", "median", "hpd_lower", "hpd_upper", "ess")


def java_round(value: float) -> int:
    """Java ``Math.round``: floor(x + 0.5), halves rounded up (Python's ``round`` rounds them to even)."""
    return math.floor(value + 0.5)


def tracer_quantile(sorted_values: np.ndarray, q: float) -> float:
    """``x[ceil(q n) - 1]`` of sorted values (``q = 0.5``: the lower median)."""
    n = len(sorted_values)
    return float(sorted_values[max(0, math.ceil(q * n) - 1)])


def tracer_hpd(sorted_values: np.ndarray, proportion: float = HPD_PROPORTION) -> tuple[float, float]:
    """Tracer's HPD interval of sorted values: the first shortest window of ``Math.round(proportion n)`` values."""
    v = sorted_values
    n = len(v)
    width = java_round(proportion * n)
    if width < 1:
        return math.nan, math.nan
    spans = v[width - 1:] - v[:n - width + 1]  # start i = 0..n - width
    start = int(np.argmin(spans))
    return float(v[start]), float(v[start + width - 1])


def tracer_burnin(generations: np.ndarray) -> int:
    """Samples Tracer drops by default: (last state // 10) // step, step = 3rd state − 2nd state."""
    generations = np.asarray(generations, dtype=np.int64)
    if len(generations) < 3:
        return 0
    step = int(generations[2] - generations[1])
    return int(generations[-1]) // 10 // step if step > 0 else 0


def _lagged_sums_fft(x: np.ndarray, max_lag: int) -> np.ndarray:
    """``Σ_{j < n - t} c_j c_{j+t}``, t = 0..max_lag, of the centred values c, by FFT (Wiener–Khinchin;
    the direct sums to about 1e-13 relative, where the loop of :mod:`.mrbayes_statistics` costs O(n · 2000))."""
    n = len(x)
    size = 1 << int(2 * n - 1).bit_length()
    spectrum = np.fft.rfft(x - x.mean(), size)
    return np.fft.irfft(spectrum * np.conj(spectrum), size)[:max_lag + 1]


def tracer_ess_and_sem(values: np.ndarray) -> tuple[float, float]:
    """ESS and standard error of the mean of one (combined) trace (BEAST ``TraceCorrelation``: at most 2000
    lags, divisor n − lag, pairs summed while positive); NaN for fewer than 2 values or a constant trace."""
    x = np.ascontiguousarray(values, dtype=np.float64)
    n = len(x)
    if n < 2:
        return math.nan, math.nan
    max_lag = min(n - 1, MAX_LAG)
    gamma = _lagged_sums_fft(x, max_lag) / (n - np.arange(max_lag + 1))
    variance = gamma[0]
    for lag in range(2, max_lag, 2):
        pair = gamma[lag - 1] + gamma[lag]
        if not pair > 0:
            break
        variance += 2.0 * pair
    if not variance > 0.0:
        return math.nan, math.nan
    return float(gamma[0] * n / variance), math.sqrt(variance / n)


@dataclass(frozen=True)
class TracerRow:
    """One parameter as Tracer shows it for the runs combined (module docstring)."""

    parameter: str
    mean: float
    stderr_of_mean: float
    median: float
    hpd_lower: float
    hpd_upper: float
    ess: float

    def values(self) -> list:
        return [getattr(self, name) for name in TRACER_COLUMNS]


def summarize_tracer(name: str, runs: Sequence[np.ndarray]) -> TracerRow:
    """Tracer's summary of one parameter from its post-burn-in values, one array per run (concatenated)."""
    combined = np.concatenate([np.asarray(run, dtype=np.float64) for run in runs])
    finite = combined[~np.isnan(combined)]
    ordered = np.sort(finite)
    ess, sem = tracer_ess_and_sem(combined)
    lower, upper = tracer_hpd(ordered)
    mean = float(finite.mean()) if len(finite) else math.nan
    median = tracer_quantile(ordered, 0.5) if len(ordered) else math.nan
    return TracerRow(name, mean, sem, median, lower, upper, ess)


def summarize_tracer_parameters(names: Sequence[str], runs: Sequence[np.ndarray]) -> list[TracerRow]:
    """Rows for ``names``; ``runs[r]`` is run r's post-burn-in table (n_samples_r, len(names))."""
    return [summarize_tracer(name, [run[:, column] for run in runs]) for column, name in enumerate(names)]
