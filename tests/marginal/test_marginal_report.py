"""The marginal comparison report: estimates read relative to the best-determined one, off-scale values
marked, log Bayes factors with standard errors. References are exact computations on hand-made cells."""
from __future__ import annotations

import math

import numpy as np
import pytest

from phylo_vi.marginal.grid import CellResult
from phylo_vi.marginal.report import (best_determined_cells, log_bayes_factors, shared_axis_limits, summarize,
                                      write_html_report)
from phylo_vi.io.newick import parse_newick
from phylo_vi.trees import TaxonNamespace, Tree

# tree -> method -> log Z of replicates 0, 1 (NMC far off, as on DS1: -10,080 against about -7,036)
LOG_Z = {
    0: {"gss": (-7036.1, -7036.3), "ss": (-7036.0, -7036.8), "nmc": (-10080.0, -10090.0)},
    1: {"gss": (-7039.2, -7039.4), "ss": (-7039.9, -7038.7), "nmc": (-10100.0, -10110.0)},
}


def _results() -> list[CellResult]:
    return [CellResult(replicate=rep, tree=tree, tree_name=f"tree{tree}", method=method, label=method.upper(),
                       log_marginal=value, standard_error=0.05, seconds=1.0 + rep, evaluations=100, seed=rep)
            for tree, methods in LOG_Z.items() for method, values in methods.items()
            for rep, value in enumerate(values)]


def _trees() -> list[Tree]:
    taxa = TaxonNamespace(["A", "B", "C", "D"])
    return [parse_newick(text, taxa) for text in ("((A,B),C,D);", "((A,C),B,D);")]


def test_best_determined_cell_has_the_smallest_spread_over_replicates():
    summary = summarize(_results(), _trees())
    best = best_determined_cells(summary["cells"])
    assert {tree: cell["method"] for tree, cell in best.items()} == {0: "gss", 1: "gss"}


def test_log_bayes_factors_are_differences_of_means_with_errors_in_quadrature():
    summary = summarize(_results(), _trees())
    rows = {(row["method"], row["tree"]): row for row in summary["log_bayes_factors"]}
    assert set(rows) == {("gss", 1), ("ss", 1), ("nmc", 1)}   # reference: tree 0, highest log Z under GSS
    gss = rows[("gss", 1)]
    assert gss["log_bayes_factor"] == pytest.approx(-7039.3 - (-7036.2), abs=1e-9)
    # error of a mean of two replicates: SD/sqrt(2) = |a - b| / 2
    assert gss["standard_error"] == pytest.approx(math.hypot(0.1, 0.1), rel=1e-9)
    assert rows[("ss", 1)]["standard_error"] == pytest.approx(math.hypot(0.6, 0.4), rel=1e-9)
    assert rows[("nmc", 1)]["log_bayes_factor"] == pytest.approx(-20.0, abs=1e-9)
    assert log_bayes_factors(summary["cells"]) == summary["log_bayes_factors"]


def test_one_far_off_estimator_does_not_flatten_the_shared_axis():
    summary = summarize(_results(), _trees())
    best = best_determined_cells(summary["cells"])
    deltas = np.array([r.log_marginal - best[r.tree]["mean_log_marginal"] for r in _results()])
    low, high = shared_axis_limits(deltas)
    assert low == -high
    # median |Δ| is 0.6 nats (SS): the scale is 5 × 0.6 nats plus a 10% margin
    assert high == pytest.approx(3.3, abs=1e-9)
    assert np.sum((deltas < low) | (deltas > high)) == 4   # the four NMC values are marked off-scale


def test_html_report_has_the_relative_panels_and_the_bayes_factor_table(tmp_path):
    results, trees = _results(), _trees()
    summary = summarize(results, trees)
    html = write_html_report(tmp_path / "report.html", results, summary, trees).read_text()
    assert "log Bayes factors" in html
    assert "relative to the best-determined estimate" in html
    assert html.count("<img") == 2   # log Z panels, time against error
