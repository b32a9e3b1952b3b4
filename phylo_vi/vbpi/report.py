"""The HTML report of a VBPI run: summary, bound and KL traces, q_φ against the golden run.

One self-contained file (:class:`phylo_vi.report.html.HtmlReport`): the evaluation numbers and
settings, the training bound (running mean over 100 iterations) with β, KL(golden ‖ q_φ) over
the iterations where it was computed, and the probabilities q_φ gives the golden-run topologies
against their golden frequencies (log-log, the 50 most frequent listed).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from phylo_vi.report.html import HtmlReport
from phylo_vi.trees.arrays import TreeArrays
from phylo_vi.sbn.unrooted import SubsplitBayesianNetwork

RUNNING_WINDOW = 100
LISTED_TOPOLOGIES = 50


def running_mean(values: np.ndarray, window: int = RUNNING_WINDOW) -> np.ndarray:
    """Mean of the last ``window`` values at every position (fewer at the start)."""
    sums = np.cumsum(np.concatenate([[0.0], values]))
    ends = np.arange(1, len(values) + 1)
    starts = np.maximum(0, ends - window)
    return (sums[ends] - sums[starts]) / (ends - starts)


def write_report(path: str | Path, document: dict, trace: dict[str, np.ndarray],
                 distribution: SubsplitBayesianNetwork, golden: tuple[TreeArrays, np.ndarray] | None) -> Path:
    """Write the report of one run (``document``: the JSON summary; ``trace``: the training trace)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    report = HtmlReport("VBPI run")
    report.paragraph(f"seed {document.get('seed')}, {document.get('iterations')} iterations, "
                     f"estimator {document.get('estimator')}, K = {document.get('n_particles')}", css_class="meta")
    keys = ("elbo", "elbo_sd", "bound_10", "bound_10_sd", "log_marginal", "log_marginal_sd", "kl",
            "golden_mass_in_support",
            "seconds_per_1000_iterations", "cpu_seconds_per_1000_iterations")
    report.table(["quantity", "value"], [(key, document[key]) for key in keys if document.get(key) is not None])
    if len(trace["iteration"]):
        figure, axis = plt.subplots(figsize=(8, 3.5))
        axis.plot(trace["iteration"], running_mean(trace["bound"]), lw=1)
        axis.set_xlabel("iteration")
        axis.set_ylabel(f"bound (running mean of {RUNNING_WINDOW})")
        beta_axis = axis.twinx()
        beta_axis.plot(trace["iteration"], trace["beta"], color="grey", lw=0.8, ls="--")
        beta_axis.set_ylabel("β")
        report.figure(figure, "Training bound at β = 1 (particles of the annealed objective) and β.")
        finite = np.isfinite(trace["kl"])
        if finite.any():
            figure, axis = plt.subplots(figsize=(8, 3.5))
            axis.semilogy(trace["iteration"][finite], trace["kl"][finite], marker="o", ms=3)
            axis.set_xlabel("iteration")
            axis.set_ylabel("KL(golden ‖ q)")
            report.figure(figure, "KL divergence from the golden-run topology distribution.")
    if golden is not None:
        trees, probabilities = golden
        log_q = distribution.log_prob(trees)
        figure, axis = plt.subplots(figsize=(4.5, 4.5))
        axis.loglog(probabilities, np.exp(log_q), ".", ms=4)
        low = max(min(probabilities.min(), 1e-6), 1e-12)
        axis.plot([low, 1], [low, 1], color="grey", lw=0.8)
        axis.set_xlabel("golden-run frequency")
        axis.set_ylabel("q_φ(τ)")
        report.figure(figure, "Topology probabilities: q_φ against the golden run.")
        order = np.argsort(-probabilities)[:LISTED_TOPOLOGIES]
        report.table(["rank", "golden", "q_φ"], [(rank + 1, float(probabilities[i]), float(np.exp(log_q[i])))
                                                 for rank, i in enumerate(order)])
    return report.write(path)
