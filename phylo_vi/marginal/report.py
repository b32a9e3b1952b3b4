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
            "mean_seconds": float(np.mean([r.seconds for r in rows])),
            "mean_evaluations": float(np.mean([r.evaluations for r in rows])),
        })
    summary: dict[str, Any] = dict(meta)
    summary.update({"n_trees": len(trees), "methods": methods, "replicates": len(replicates), "cells": per_cell})
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


# ------------------------------------------------------------------------------------ HTML
def _per_method_time(summary: dict) -> dict[str, float]:
    times: dict[str, list[float]] = defaultdict(list)
    for cell in summary["cells"]:
        times[cell["method"]].append(cell["mean_seconds"])
    return {m: float(np.mean(v)) for m, v in times.items()}


def _plot_log_marginals(report: HtmlReport, results: Sequence[CellResult], summary: dict, max_trees: int = 4) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    methods = summary["methods"]
    labels = {r.method: r.label for r in results}
    for tree in range(min(summary["n_trees"], max_trees)):
        rows = [r for r in results if r.tree == tree]
        figure, axis = plt.subplots(figsize=(max(6.0, 0.5 * len(methods) + 2), 3.8))
        for x, method in enumerate(methods):
            values = [r for r in rows if r.method == method]
            y = np.array([r.log_marginal for r in values])
            se = np.array([r.standard_error for r in values])
            offsets = np.linspace(-0.15, 0.15, len(values)) if len(values) > 1 else np.zeros(1)
            axis.errorbar(x + offsets, y, yerr=np.where(np.isfinite(se), 2 * se, 0.0), fmt="o", ms=4, capsize=2)
        axis.set_xticks(range(len(methods)), [labels[m] for m in methods], rotation=45)
        axis.set_ylabel("log Z")
        axis.set_title(f"{rows[0].tree_name if rows else tree}: log Z per method (bars: ±2 s.e.)")
        report.figure(figure, caption=f"log Z of every method and replicate, tree {tree}")


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
        axis.xaxis.set_minor_formatter(NullFormatter())  # short ranges label every minor tick otherwise
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
