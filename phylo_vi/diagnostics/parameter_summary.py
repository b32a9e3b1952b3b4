r"""Per-parameter posterior summaries and convergence diagnostics of several MCMC runs.

One row per parameter (every column of the traces that MrBayes ``sump`` summarises, see
:func:`phylo_vi.io.mrbayes_parameters.summarised_by_sump`; all columns of BEAST and RevBayes
logs but the generation), with:

- MrBayes ``sump`` columns (``.pstat``; :mod:`.mrbayes_statistics`): ``mean``, ``variance``,
  ``lower``/``upper`` (MrBayes' 95% HPD), ``median``, ``min_ess``/``avg_ess`` (per-run ESS,
  minimum and mean over runs), ``psrf_mrbayes`` (3.2.7a, accumulation bug included);
- ``psrf``: the same Gelman–Rubin formula without the bug;
- ArviZ (``arviz-stats``; Vehtari, Gelman, Simpson, Carpenter & Bürkner 2021, Bayesian
  Analysis 16:667): ``ess_bulk`` and ``ess_tail`` (rank-normalised split-chain ESS, eqs. in
  §3.2 and §4.3) and ``rhat_rank`` (max of bulk and folded split R-hat, §4.2), computed on the
  runs truncated to a common length (ArviZ needs a rectangular array); ArviZ's own code but for its
  Geyer lag loop, compiled (:mod:`.arviz_compiled`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from phylo_vi.diagnostics.mrbayes_statistics import (gelman_rubin_psrf, mrbayes_ess, mrbayes_hpd, mrbayes_psrf,
                                                     upper_median, welford_mean_variance)
from phylo_vi.errors import PhyloVIError

TAIL_PROBABILITY = 0.05  # tail ESS = min ESS of the 5% and 95% quantiles (Vehtari et al. 2021, §4.3)
COLUMNS = ("parameter", "mean", "variance", "lower", "upper", "median", "min_ess", "avg_ess", "psrf_mrbayes",
           "psrf", "ess_bulk", "ess_tail", "rhat_rank")


@dataclass(frozen=True)
class ParameterRow:
    """The summary of one parameter (fields as in the module docstring; NaN where undefined)."""

    parameter: str
    mean: float
    variance: float
    lower: float
    upper: float
    median: float
    min_ess: float
    avg_ess: float
    psrf_mrbayes: float
    psrf: float
    ess_bulk: float
    ess_tail: float
    rhat_rank: float
    run_ess: tuple[float, ...] = field(default=())

    def values(self) -> list:
        return [getattr(self, name) for name in COLUMNS]


def _arviz(runs: Sequence[np.ndarray]) -> tuple[float, float, float]:
    """ArviZ bulk ESS, tail ESS and rank R-hat of the runs truncated to the shortest."""
    from phylo_vi.diagnostics.arviz_compiled import array_stats

    length = min(len(run) for run in runs)
    draws = np.stack([np.asarray(run[:length], dtype=np.float64) for run in runs])
    if length < 4 or np.ptp(draws) == 0:
        return math.nan, math.nan, math.nan
    bulk = float(array_stats.ess(draws, method="bulk"))
    tail = float(array_stats.ess(draws, method="tail", prob=TAIL_PROBABILITY))
    rhat = float(array_stats.rhat(draws, method="rank")) if len(runs) > 1 else math.nan
    return bulk, tail, rhat


def summarize_parameter(name: str, runs: Sequence[np.ndarray]) -> ParameterRow:
    """The row of one parameter from its post-burn-in values, one array per run (file order)."""
    if not runs or any(len(run) == 0 for run in runs):
        raise PhyloVIError(f"parameter {name!r}: every run needs at least one sample after the burn-in")
    pooled = np.concatenate([np.asarray(run, dtype=np.float64) for run in runs])
    ordered = np.sort(pooled)
    mean, variance = welford_mean_variance(pooled)
    lower, upper = mrbayes_hpd(ordered)
    run_ess = tuple(mrbayes_ess(run) for run in runs)
    finite = [value for value in run_ess if not math.isnan(value)]
    min_ess = min(run_ess) if len(finite) == len(run_ess) else math.nan
    avg_ess = float(np.mean(run_ess)) if len(finite) == len(run_ess) else math.nan
    bulk, tail, rhat = _arviz(runs)
    return ParameterRow(name, mean, variance, lower, upper, upper_median(ordered), float(min_ess), avg_ess,
                        mrbayes_psrf(runs), gelman_rubin_psrf(runs), bulk, tail, rhat, run_ess)


def summarize_parameters(names: Sequence[str], runs: Sequence[np.ndarray]) -> list[ParameterRow]:
    """Rows for ``names``; ``runs[r]`` is run r's post-burn-in table (n_samples_r, len(names))."""
    return [summarize_parameter(name, [run[:, column] for run in runs]) for column, name in enumerate(names)]


def _mb_number(value: float) -> str:
    return "%.6e" % value


def format_pstat(rows: Sequence[ParameterRow], n_runs: int, mb_compat: bool = False) -> str:
    """The text of MrBayes' ``.pstat`` file for ``rows`` (sumpt.c ``PrintParamStats``).

    ``mb_compat`` reproduces 3.2.7a's writer bug: an ``NA`` field gets no leading tab
    (a constant column ends ``…<median>NANANA``). Otherwise every field is tab-separated.
    """
    several = n_runs > 1
    header = "Parameter\tMean\tVariance\tLower\tUpper\tMedian\t" + ("minESS\tavgESS\tPSRF" if several else "ESS")
    lines = [header]
    for row in rows:
        text = row.parameter + "".join("\t" + _mb_number(v) for v in (row.mean, row.variance, row.lower, row.upper,
                                                                        row.median))
        tail = [row.min_ess, row.avg_ess, row.psrf_mrbayes] if several else [row.min_ess]
        for value in tail:
            if math.isnan(value):
                text += "NA" if mb_compat else "\tNA"
            else:
                text += "\t" + _mb_number(value)
        lines.append(text)
    return "\n".join(lines) + "\n"
