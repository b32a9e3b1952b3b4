"""Tracer's conventions (spec analyze.md §5) against exact computations written from the spec's rules
in plain Python: concatenated runs, the lower median ``x[ceil(qn) - 1]``, the HPD over every start
``0..n-d`` with ``d = Math.round(0.95 n)`` (half up), the ESS loop (2000 lags, n − lag divisor,
positive pairs) and ``SE = sqrt(var_ac / n)``, Tracer's default burn-in (10% of the states)."""
import math

import numpy as np
import pytest

from phylo_vi.diagnostics.tracer_statistics import (java_round, summarize_tracer, tracer_burnin, tracer_hpd,
                                                     tracer_quantile)


def _spec_ess_and_var(x: list[float]) -> tuple[float, float]:
    n = len(x)
    mean = sum(x) / n
    max_lag, lag, var = min(n - 1, 2000), 0, 0.0
    g = [0.0] * (max_lag + 1)
    while lag < max_lag:
        g[lag] = sum((x[j] - mean) * (x[j + lag] - mean) for j in range(n - lag)) / (n - lag)
        if lag == 0:
            var = g[0]
        elif lag % 2 == 0:
            if g[lag - 1] + g[lag] > 0:
                var += 2 * (g[lag - 1] + g[lag])
            else:
                max_lag = lag
        lag += 1
    return g[0] * n / var, var


def _spec_hpd(values: list[float]) -> tuple[float, float]:
    v = sorted(values)
    d = math.floor(0.95 * len(v) + 0.5)
    best = min(range(len(v) - d + 1), key=lambda i: (v[i + d - 1] - v[i], i))
    return v[best], v[best + d - 1]


def _chains(seed: int, n: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    runs = []
    for offset in (0.0, 0.3):
        x = np.zeros(n)
        for i in range(1, n):
            x[i] = 0.8 * x[i - 1] + rng.normal()
        runs.append(x + offset)
    return runs


@pytest.mark.parametrize("n", [30, 117, 400])
def test_tracer_row_equals_the_spec_rules(n):
    runs = _chains(n, n)
    combined = list(np.concatenate(runs))
    row = summarize_tracer("x", runs)
    ess, var = _spec_ess_and_var(combined)
    assert row.ess == pytest.approx(ess, rel=1e-12)
    assert row.stderr_of_mean == pytest.approx(math.sqrt(var / len(combined)), rel=1e-12)
    assert row.mean == pytest.approx(sum(combined) / len(combined), rel=1e-12)
    assert row.median == sorted(combined)[math.ceil(0.5 * len(combined)) - 1]  # lower median (even count)
    assert (row.hpd_lower, row.hpd_upper) == _spec_hpd(combined)


def test_combined_ess_is_not_a_per_run_summary():
    runs = _chains(7, 300)
    from phylo_vi.diagnostics.mrbayes_statistics import mrbayes_ess

    per_run = [mrbayes_ess(run) for run in runs]
    combined = summarize_tracer("x", runs).ess
    assert combined == pytest.approx(_spec_ess_and_var(list(np.concatenate(runs)))[0], rel=1e-12)
    assert combined not in (min(per_run), float(np.mean(per_run)))


def test_round_half_up_and_quantiles():
    assert java_round(28.5) == 29 and round(28.5) == 28  # n = 30: 0.95 n = 28.5 windows of 29 values
    values = np.arange(30, dtype=float) ** 2
    assert tracer_hpd(values) == (0.0, 28.0 ** 2)
    assert tracer_quantile(np.array([1.0, 2.0, 3.0, 4.0]), 0.5) == 2.0
    assert tracer_quantile(np.array([1.0, 2.0, 3.0]), 0.5) == 2.0


def test_constant_trace_and_nan_values():
    row = summarize_tracer("c", [np.full(50, 2.0), np.full(50, 2.0)])
    assert math.isnan(row.ess) and math.isnan(row.stderr_of_mean) and row.mean == 2.0
    assert summarize_tracer("n", [np.array([1.0, np.nan, 3.0, 5.0])]).mean == 3.0


def test_default_burnin_is_ten_percent_of_the_states():
    # spec §5: a MrBayes .p with generations 0..20000 every 40 -> 50 samples dropped (MrBayes drops 125)
    assert tracer_burnin(np.arange(0, 20001, 40)) == 50
    assert tracer_burnin(np.arange(1000, 11001, 1000)) == 1  # 11000 // 10 = 1100 states, step 1000
