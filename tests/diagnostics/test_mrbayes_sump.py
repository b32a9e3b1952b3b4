"""Parameter summaries against MrBayes 3.2.7a ``sump`` (mrbayes_reference/README.md says how they were made)."""
from pathlib import Path

import numpy as np
import pytest

from phylo_vi.diagnostics.mrbayes_statistics import (gelman_rubin_psrf, mrbayes_ess, mrbayes_hpd, mrbayes_psrf,
                                                     upper_median)
from phylo_vi.diagnostics.parameter_summary import format_pstat, summarize_parameters
from phylo_vi.io.mrbayes_parameters import read_mrbayes_parameters, summarised_by_sump
from phylo_vi.io.parameter_trace import burnin_count

REFERENCE = Path(__file__).parent / "mrbayes_reference"
DATA = Path(__file__).resolve().parents[2] / "data" / "mrbayes"


def _example_rows():
    traces = [read_mrbayes_parameters(DATA / f"example.nex.run{i}.p") for i in (1, 2)]
    kept = [trace.after_burnin(burnin_count(trace.n_samples, 0.25)) for trace in traces]
    names = [name for name in kept[0].columns if summarised_by_sump(name)]
    columns = [kept[0].columns.index(name) for name in names]
    return summarize_parameters(names, [trace.values[:, columns] for trace in kept])


def test_pstat_is_byte_identical_to_mrbayes_sump():
    # mb 3.2.7a: sump filename=example.nex relburnin=yes burninfrac=0.25 nruns=2 hpd=yes
    assert format_pstat(_example_rows(), n_runs=2) == (REFERENCE / "example.nex.pstat").read_text()


def test_example_is_not_converged_by_sump_numbers():
    rows = {row.parameter: row for row in _example_rows()}
    assert min(row.min_ess for row in rows.values()) == pytest.approx(10.29964, abs=5e-5)  # r(A<->G), .pstat
    assert rows["r(A<->G)"].min_ess == pytest.approx(1.029964e01, rel=1e-6)
    assert rows["pi(A)"].psrf_mrbayes == pytest.approx(1.075286, abs=5e-7)
    # the textbook value differs from 3.2.7a's (accumulated within-run sum of squares)
    assert rows["pi(A)"].psrf > rows["pi(A)"].psrf_mrbayes + 0.01


def test_psrf_bug_only_affects_runs_after_the_first():
    rng = np.random.default_rng(3)
    runs = [rng.normal(size=200), rng.normal(0.5, 2.0, size=200)]
    m, n = 2, 200
    within = np.mean([run.var(ddof=1) for run in runs])
    between = np.var([run.mean() for run in runs], ddof=1)
    w = n  # N_total / m
    textbook = np.sqrt((w - 1) / w + (m + 1) / m * between / within)
    assert gelman_rubin_psrf(runs) == pytest.approx(textbook, rel=1e-12)
    # 3.2.7a: run 2's within term adds run 1's sum of squares too
    ss = [run.var(ddof=1) * (n - 1) for run in runs]
    buggy_within = (ss[0] / (n - 1) + (ss[0] + ss[1]) / (n - 1)) / m
    assert mrbayes_psrf(runs) == pytest.approx(np.sqrt((w - 1) / w + (m + 1) / m * between / buggy_within), rel=1e-12)


def test_ess_of_white_noise_and_edge_cases():
    # exact: for n = 2 or 3 MrBayes' estimator returns n (spec §2.5); constant -> NA
    assert mrbayes_ess(np.array([1.0, 2.0])) == pytest.approx(2.0)
    assert mrbayes_ess(np.array([1.0, 3.0, 2.0])) == pytest.approx(3.0)
    assert np.isnan(mrbayes_ess(np.ones(10)))
    # AR(1) with phi = 0.5: ESS / n -> (1 - phi) / (1 + phi) = 1/3 (Geyer 1992)
    rng = np.random.default_rng(0)
    x = np.empty(200_000)
    x[0] = 0.0
    noise = rng.normal(size=len(x))
    for i in range(1, len(x)):
        x[i] = 0.5 * x[i - 1] + noise[i]
    assert mrbayes_ess(x) / len(x) == pytest.approx(1 / 3, rel=0.03)


def test_hpd_off_by_one_and_median():
    values = np.arange(100, dtype=float) ** 2  # widening gaps: the shortest window starts at 0
    assert mrbayes_hpd(values) == (0.0, 94.0 ** 2)  # w = int(95 + 0.5) = 95 points
    values = np.sort(np.concatenate([np.arange(20.0) * 10, np.linspace(200, 201, 80)]))
    lower, upper = mrbayes_hpd(values)
    assert upper - lower <= values[94] - values[0]
    assert upper_median(np.array([1.0, 2.0, 3.0, 4.0])) == 3.0


def test_mb_compat_writer_drops_the_tab_before_na():
    rows = summarize_parameters(["c"], [np.ones((5, 1)), np.ones((5, 1))])
    text = format_pstat(rows, n_runs=2, mb_compat=True)
    assert text.splitlines()[1].endswith("1.000000e+00NANANA")
    assert format_pstat(rows, n_runs=2).splitlines()[1].endswith("\tNA\tNA\tNA")
