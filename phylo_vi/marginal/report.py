"""Comparison reports of a marginal-likelihood grid: long TSV, JSON summary, HTML with plots.

The plots follow Fourment et al. 2020 (DS.Rmd): log Z of every method with its spread over
replicates; wall time against error on log-log axes (error = SD of log Z over replicates, and
when a reference topology posterior is given, KL(P‖Q) and split RMSD); the implied topology
posterior and split probabilities against the reference (replicate 1).
"""
from __future__ import annotations

import math
from collections import defaultdict
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from phylo_vi.marginal.grid import CellResult
from phylo_vi.marginal.methods import METHODS
from phylo_vi.marginal.metrics import (hellinger_distance, implied_posterior, kl_divergence, split_membership,
                                       split_probabilities, split_rmsd)
from phylo_vi.report import HtmlReport, write_tsv
from phylo_vi.trees import Tree

TSV_HEADER = ("replicate", "tree", "tree_name", "method", "label", "log_marginal", "standard_error", "seconds",
              "evaluations", "seed")


def write_results_tsv(path: str | Path, results: Sequence[CellResult]) -> Path:
    """The long table: one row per replicate × tree × method."""
    return write_tsv(path, TSV_HEADER, ([getattr(r, column) for column in TSV_HEADER] for r in results))


def _log_marginal_matrix(results: Sequence[CellResult], method: str, replicate: int, n_trees: int) -> np.ndarray:
    values = np.full(n_trees, np.nan)
    for r in results:
        if r.method == method and r.replicate == replicate:
            values[r.tree] = r.log_marginal
    return values


def _finite(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def summarize(results: Sequence[CellResult], trees: Sequence[Tree], reference: np.ndarray | None = None,
              **meta: Any) -> dict:
    """JSON-ready summary: per tree × method statistics, and accuracy metrics per method × replicate."""
    methods = list(dict.fromkeys(r.method for r in results))
    replicates = sorted({r.replicate for r in results})
    groups: dict[tuple[int, str], list[CellResult]] = defaultdict(list)
    for r in results:
        groups[(r.tree, r.method)].append(r)
    per_cell = []
    for (tree, method), rows in sorted(groups.items(), key=lambda item: (item[0][0], methods.index(item[0][1]))):
        values = np.array([r.log_marginal for r in rows])
        per_cell.append({
            "tree": tree, "tree_name": rows[0].tree_name, "method": method, "label": rows[0].label,
            "mean_log_marginal": _finite(float(np.mean(values))),
            "sd_log_marginal": _finite(float(np.std(values, ddof=1))) if len(values) > 1 else None,
            "mean_standard_error": _finite(float(np.nanmean([r.standard_error for r in rows])))
            if any(math.isfinite(r.standard_error) for r in rows) else None,
            "error_of_mean": _finite(float(np.std(values, ddof=1) / math.sqrt(len(values)))) if len(values) > 1
            else _finite(float(rows[0].standard_error)),
            "mean_seconds": float(np.mean([r.seconds for r in rows])),
            "mean_evaluations": float(np.mean([r.evaluations for r in rows])),
        })
    summary: dict[str, Any] = dict(meta)
    summary.update({"n_trees": len(trees), "methods": methods, "replicates": len(replicates), "cells": per_cell})
    summary["log_bayes_factors"] = log_bayes_factors(per_cell)
    if reference is not None:
        _, membership = split_membership(trees)
        metrics = []
        for method in methods:
            for replicate in replicates:
                log_z = _log_marginal_matrix(results, method, replicate, len(trees))
                if not np.all(np.isfinite(log_z)):
                    continue
                metrics.append({"method": method, "replicate": replicate,
                                "kl": kl_divergence(reference, log_z),
                                "hellinger": hellinger_distance(reference, log_z),
                                "split_rmsd": split_rmsd(reference, log_z, membership),
                                "posterior": implied_posterior(log_z).tolist()})
        summary["reference_posterior"] = (np.asarray(reference) / np.sum(reference)).tolist()
        summary["metrics"] = metrics
    return summary


def _cell_error(cell: dict) -> float:
    """Error of one tree × method cell: the spread over replicates, else the mean reported s.e."""
    for key in ("sd_log_marginal", "mean_standard_error"):
        if cell[key] is not None and math.isfinite(cell[key]):
            return float(cell[key])
    return math.inf


def best_determined_cells(cells: Sequence[dict]) -> dict[int, dict]:
    """Per tree, the cell whose log Z is best determined (smallest spread over replicates, else smallest
    reported standard error; the first listed method on ties). Estimates are read relative to it."""
    best: dict[int, dict] = {}
    for cell in cells:
        if cell["mean_log_marginal"] is None:
            continue
        current = best.get(cell["tree"])
        if current is None or _cell_error(cell) < _cell_error(current):
            best[cell["tree"]] = cell
    return best


def log_bayes_factors(cells: Sequence[dict]) -> list[dict]:
    """log Bayes factors log Z_k − log Z_ref of every tree k against a reference tree, per method.

    The reference tree is the one with the highest mean log Z under the method whose estimates have
    the smallest total error. Under the uniform topology prior these are log posterior odds
    (Kass & Raftery 1995, J. Am. Stat. Assoc. 90:773, eq. 1). Standard error: the two cells' errors
    of the mean (SD over replicates / sqrt(n), or the reported s.e. of a single replicate) added in
    quadrature, or null where either is unknown.
    """
    by_method: dict[str, dict[int, dict]] = defaultdict(dict)
    for cell in cells:
        if cell["mean_log_marginal"] is not None:
            by_method[cell["method"]][cell["tree"]] = cell
    if not by_method:
        return []
    anchor = min(by_method, key=lambda m: sum(_cell_error(c) for c in by_method[m].values()))
    reference_tree = max(by_method[anchor].values(), key=lambda c: c["mean_log_marginal"])["tree"]
    rows = []
    for method, trees in by_method.items():
        reference = trees.get(reference_tree)
        if reference is None:
            continue
        for tree, cell in sorted(trees.items()):
            if tree == reference_tree:
                continue
            errors = (cell["error_of_mean"], reference["error_of_mean"])
            rows.append({"method": method, "label": cell["label"], "tree": tree, "tree_name": cell["tree_name"],
                         "reference_tree": reference_tree, "reference_tree_name": reference["tree_name"],
                         "log_bayes_factor": cell["mean_log_marginal"] - reference["mean_log_marginal"],
                         "standard_error": math.hypot(*errors) if None not in errors else None})
    return rows


# ------------------------------------------------------------------------------------ HTML
def _per_method_time(summary: dict) -> dict[str, float]:
    times: dict[str, list[float]] = defaultdict(list)
    for cell in summary["cells"]:
        times[cell["method"]].append(cell["mean_seconds"])
    return {m: float(np.mean(v)) for m, v in times.items()}


def shared_axis_limits(deltas: np.ndarray, floor: float = 1.0) -> tuple[float, float]:
    """Limits of the shared "log Z relative to the best-determined estimate" axis.

    Wide enough for every estimate within 5 times the median absolute deviation from the reference
    (at least ±``floor`` nats), so that one far-off estimator (NMC thousands of nats below, say)
    does not flatten the others: those are drawn at the edge, marked and labelled.
    """
    finite = np.abs(deltas[np.isfinite(deltas)])
    half = max(floor, 5.0 * float(np.median(finite))) if finite.size else floor
    inside = finite[finite <= half]
    half = max(half, float(inside.max()) if inside.size else 0.0) * 1.1
    return -half, half


def _plot_log_marginals(report: HtmlReport, results: Sequence[CellResult], summary: dict, max_trees: int = 4) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    methods = summary["methods"]
    labels = {r.method: r.label for r in results}
    best = best_determined_cells(summary["cells"])
    trees = [tree for tree in range(min(summary["n_trees"], max_trees)) if tree in best]
    if not trees:
        return
    deltas = np.array([r.log_marginal - best[r.tree]["mean_log_marginal"] for r in results if r.tree in trees])
    low, high = shared_axis_limits(deltas)
    figure, axes = plt.subplots(len(trees), 1, figsize=(max(6.0, 0.5 * len(methods) + 2), 2.6 * len(trees)),
                                sharex=True, sharey=True, squeeze=False)
    for axis, tree in zip(axes[:, 0], trees):
        reference = best[tree]
        for x, method in enumerate(methods):
            rows = [r for r in results if r.tree == tree and r.method == method]
            offsets = np.linspace(-0.15, 0.15, len(rows)) if len(rows) > 1 else np.zeros(1)
            for offset, row in zip(offsets, rows):
                delta = row.log_marginal - reference["mean_log_marginal"]
                if low <= delta <= high:
                    error = 2 * row.standard_error if math.isfinite(row.standard_error) else 0.0
                    axis.errorbar(x + offset, delta, yerr=error, fmt="o", ms=4, capsize=2, color=f"C{x % 10}")
                else:
                    edge = high if delta > high else low
                    axis.plot(x + offset, edge, marker="^" if delta > high else "v", ms=8, color="crimson")
                    axis.annotate(f"{delta:+.4g}", (x + offset, edge), fontsize=7, color="crimson",
                                  xytext=(3, -10 if delta > high else 4), textcoords="offset points")
        axis.axhline(0.0, color="grey", lw=0.8)
        axis.set_ylim(low, high)
        axis.set_ylabel("Δ log Z (nats)")
        axis.set_title(f"{reference['tree_name']}: relative to {reference['label']} "
                       f"(log Z = {reference['mean_log_marginal']:.2f})", fontsize=9)
    axes[-1, 0].set_xticks(range(len(methods)), [labels[m] for m in methods], rotation=45)
    figure.tight_layout()
    report.figure(figure, caption="log Z of every method and replicate relative to the best-determined estimate "
                                  "of each tree (bars: ±2 s.e.; red triangles: off the shared scale, value shown)")


def _whole_decades(values: Sequence[float]) -> tuple[float, float]:
    """Log-axis limits at whole powers of ten around the positive ``values``, so that at least two
    labelled major ticks are always shown (a range inside one decade has none otherwise)."""
    positive = [v for v in values if v > 0 and math.isfinite(v)] or [1.0]
    low = math.floor(math.log10(min(positive)))
    high = max(math.ceil(math.log10(max(positive))), low + 1)
    return 10.0 ** low, 10.0 ** high


def _plot_time_error(report: HtmlReport, summary: dict) -> None:
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullFormatter

    times = _per_method_time(summary)
    label_of = {c["method"]: c["label"] for c in summary["cells"]}
    panels: list[tuple[str, dict[str, float]]] = []
    spread: dict[str, list[float]] = defaultdict(list)
    for cell in summary["cells"]:
        if cell["sd_log_marginal"] is not None:
            spread[cell["method"]].append(cell["sd_log_marginal"])
    if spread:
        panels.append(("SD of log Z over replicates", {m: float(np.mean(v)) for m, v in spread.items()}))
    if "metrics" in summary:
        for key, title in (("kl", "KL(P‖Q)"), ("split_rmsd", "split RMSD")):
            values: dict[str, list[float]] = defaultdict(list)
            for row in summary["metrics"]:
                values[row["method"]].append(row[key])
            panels.append((title, {m: float(np.mean(v)) for m, v in values.items()}))
    if not panels:
        report.paragraph("Time against error needs replicates (--replicates ≥ 2) or a reference posterior.")
        return
    figure, axes = plt.subplots(1, len(panels), figsize=(5.0 * len(panels), 4.0), squeeze=False)
    for axis, (title, errors) in zip(axes[0], panels):
        for method, error in errors.items():
            if error > 0 and times.get(method, 0) > 0:
                axis.scatter(times[method], error)
                axis.annotate(label_of[method], (times[method], error), fontsize=8, xytext=(3, 3),
                              textcoords="offset points")
        if title == "split RMSD":  # reference lines of the paper's figures
            for level in (0.01, 0.05):
                axis.axhline(level, color="grey", lw=0.8, ls="--")
        axis.set_xscale("log")
        axis.set_yscale("log")
        axis.set_xlim(*_whole_decades(list(times.values())))
        axis.set_ylim(*_whole_decades(list(errors.values())))
        axis.xaxis.set_minor_formatter(NullFormatter())
        axis.yaxis.set_minor_formatter(NullFormatter())
        axis.set_xlabel("mean wall time per tree (s)")
        axis.set_ylabel(title)
    report.figure(figure, caption="Time against error (log-log), mean over trees and replicates")


def _plot_against_reference(report: HtmlReport, summary: dict, trees: Sequence[Tree]) -> None:
    import matplotlib.pyplot as plt

    reference = np.array(summary["reference_posterior"])
    _, membership = split_membership(trees)
    reference_splits = split_probabilities(membership, reference)
    first = [row for row in summary["metrics"] if row["replicate"] == 0]
    if not first:
        return
    columns = min(4, len(first))
    rows = math.ceil(len(first) / columns)
    for kind in ("topology", "split"):
        figure, axes = plt.subplots(rows, columns, figsize=(3.2 * columns, 3.0 * rows), squeeze=False)
        for axis, row in zip(axes.ravel(), first):
            q = np.array(row["posterior"])
            x, y = (reference, q) if kind == "topology" else (reference_splits, split_probabilities(membership, q))
            axis.scatter(x, y, s=10)
            axis.plot([0, 1], [0, 1], color="grey", lw=0.8)
            axis.set_title(f"{METHODS[row['method']].label}  KL={row['kl']:.3g}", fontsize=9)
            axis.set_xlabel("reference (SRF)", fontsize=8)
            axis.set_ylabel("implied", fontsize=8)
        for axis in axes.ravel()[len(first):]:
            axis.set_visible(False)
        figure.tight_layout()
        report.figure(figure, caption=f"Implied {kind} posterior against the reference (replicate 1)")


def write_html_report(path: str | Path, results: Sequence[CellResult], summary: dict, trees: Sequence[Tree]) -> Path:
    """Self-contained HTML report (plots embedded as PNG)."""
    report = HtmlReport("Marginal likelihood of fixed topologies")
    meta = ", ".join(f"{k}={summary[k]}" for k in ("alignment", "tree_file", "preset", "seed", "model", "prior_rate",
                                                   "workers") if k in summary)
    report.paragraph(meta, css_class="meta")
    report.heading("log Z per method")
    _plot_log_marginals(report, results, summary)
    report.table(["tree", "method", "mean log Z", "SD", "mean s.e.", "seconds", "evaluations"],
                 [[c["tree_name"], c["label"], c["mean_log_marginal"], c["sd_log_marginal"] or float("nan"),
                   c["mean_standard_error"] or float("nan"), c["mean_seconds"], c["mean_evaluations"]]
                  for c in summary["cells"]])
    if summary["log_bayes_factors"]:
        report.heading("log Bayes factors")
        report.paragraph("log Z of each tree minus log Z of the reference tree, per method (mean over replicates); "
                         "under the uniform topology prior these are log posterior odds.")
        report.table(["method", "tree", "against", "log BF", "s.e."],
                     [[row["label"], row["tree_name"], row["reference_tree_name"], row["log_bayes_factor"],
                       row["standard_error"] if row["standard_error"] is not None else float("nan")]
                      for row in summary["log_bayes_factors"]], float_format="{:.4g}")
    report.heading("Time against error")
    _plot_time_error(report, summary)
    if "metrics" in summary:
        report.heading("Implied topology posterior against the reference")
        by_method: dict[str, list[dict]] = defaultdict(list)
        for row in summary["metrics"]:
            by_method[row["method"]].append(row)
        report.table(["method", "mean KL", "mean Hellinger", "mean split RMSD", "replicates"],
                     [[METHODS[m].label, float(np.mean([r["kl"] for r in rows])),
                       float(np.mean([r["hellinger"] for r in rows])),
                       float(np.mean([r["split_rmsd"] for r in rows])), len(rows)] for m, rows in by_method.items()])
        _plot_against_reference(report, summary, trees)
    return report.write(path)
