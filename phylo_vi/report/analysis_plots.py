"""Figures of an :class:`~phylo_vi.analysis.result.Analysis` (matplotlib, Agg backend).

Every function returns a figure; :func:`analysis_figures` returns them all by name. Colours
identify runs consistently across figures; the burn-in is shaded grey in the traces.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

RUN_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf")
N_CLADES_SHOWN = 12
MAX_TRACE_POINTS = 2000


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def _colour(run: int) -> str:
    return RUN_COLOURS[run % len(RUN_COLOURS)]


def _grid(n_panels: int, n_columns: int = 3, height: float = 2.3):
    plt = _pyplot()
    n_rows = max(1, math.ceil(n_panels / n_columns))
    figure, axes = plt.subplots(n_rows, n_columns, figsize=(12, height * n_rows), squeeze=False)
    for ax in axes.ravel()[n_panels:]:
        ax.set_visible(False)
    return figure, axes.ravel()


def _margins(figure, left: float = 0.8, right: float = 0.2, bottom: float = 0.55, top: float = 0.2,
             wspace: float = 0.3, hspace: float = 0.3) -> None:
    """Fixed margins in inches. The figures are saved at their full size (``tight=False`` in
    :meth:`~phylo_vi.report.html.HtmlReport.figure`): a tight bounding box draws every figure twice and
    ``tight_layout`` measures every text of every panel, most of the report's time."""
    width, height = figure.get_size_inches()
    figure.subplots_adjust(left=left / width, right=1.0 - right / width, bottom=bottom / height,
                           top=1.0 - top / height, wspace=wspace, hspace=hspace)


def _space_grid(figure, n_rows: int, gap: float = 0.65) -> None:
    """Fixed spacing for a grid of panels (inches: ``gap`` between rows for tick labels, axis label and
    title; see :func:`_margins`)."""
    height = figure.get_figheight()
    bottom, top = 0.5, 0.3
    panel = (height - bottom - top - gap * (n_rows - 1)) / n_rows
    _margins(figure, left=0.7, right=0.15, bottom=bottom, top=top, wspace=0.25, hspace=gap / panel)


def _generation_axis(ax) -> None:
    """Readable generation ticks: at most 5, in engineering notation."""
    from matplotlib.ticker import EngFormatter, MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(5))
    ax.xaxis.set_major_formatter(EngFormatter())
    ax.tick_params(labelsize=8)
    ax.set_xlabel("generation", fontsize=8)


def _trace_columns(analysis) -> list[str]:
    traces = analysis.parameter_traces
    names = [row.parameter for row in analysis.parameter_rows]
    extra = [name for name in ("LnL", "LnPr") if traces and name in traces[0].columns and name not in names]
    return extra + names


def trace_figure(analysis):
    """One panel per parameter: every run's full trace, burn-in shaded."""
    names = _trace_columns(analysis)
    figure, axes = _grid(len(names))
    for ax, name in zip(axes, names):
        kept = []
        for run, (trace, cut) in enumerate(zip(analysis.parameter_traces, analysis.parameter_burnin)):
            values = trace.column(name)
            step = max(1, trace.n_samples // MAX_TRACE_POINTS)  # every step-th sample: the picture, not the data
            # a copy, so that the figure's line does not keep the whole column in memory
            ax.plot(trace.generations[::step], values[::step].copy(), lw=0.7, color=_colour(run),
                    label=f"run {run + 1}")
            if run == 0 and cut > 0:
                ax.axvspan(trace.generations[0], trace.generations[cut], color="0.88", zorder=0)
            kept.append(values[cut:])
        kept = np.concatenate(kept)
        low, high = np.nanmin(kept), np.nanmax(kept)
        if high > low:  # the post-burn-in range, so that the early climb does not flatten the trace
            pad = 0.15 * (high - low)
            ax.set_ylim(low - pad, high + pad)
        ax.set_title(name, fontsize=10)
        _generation_axis(ax)
    axes[0].legend(fontsize=8, loc="best")
    _space_grid(figure, math.ceil(len(names) / 3))
    return figure


def density_figure(analysis):
    """One panel per parameter: post-burn-in histogram of every run, MrBayes 95% HPD dashed."""
    rows = {row.parameter: row for row in analysis.parameter_rows}
    names = _trace_columns(analysis)
    figure, axes = _grid(len(names))
    for ax, name in zip(axes, names):
        values = [trace.column(name)[cut:] for trace, cut in zip(analysis.parameter_traces, analysis.parameter_burnin)]
        pooled = np.concatenate(values)
        bins = np.histogram_bin_edges(pooled, bins=30) if np.ptp(pooled) > 0 else 10
        for run, v in enumerate(values):
            ax.hist(v, bins=bins, density=True, histtype="step", lw=1.3, color=_colour(run), label=f"run {run + 1}")
        if name in rows and not math.isnan(rows[name].lower):
            for x in (rows[name].lower, rows[name].upper):
                ax.axvline(x, ls="--", lw=0.8, color="0.3")
        ax.set_title(name, fontsize=10)
        ax.tick_params(labelsize=8)
    axes[0].legend(fontsize=8)
    _space_grid(figure, math.ceil(len(names) / 3), gap=0.5)
    return figure


def _shown_clades(analysis) -> np.ndarray:
    """Rows of the windows' tables whose sliding frequency varies most (largest SD over windows and runs)."""
    spread = np.max([w.sliding.std(axis=1) for w in analysis.windows], axis=0)
    candidates = np.flatnonzero(spread > 0)
    return candidates[np.argsort(-spread[candidates], kind="stable")][:N_CLADES_SHOWN]


def _clade_label(analysis, index: int) -> str:
    order = analysis.order
    ids = {partition: k for k, partition in enumerate(order.ids[:order.n_kept])}
    return f"split {ids[index]}" if index in ids else f"clade #{index}"


def split_frequency_figure(analysis):
    """Sliding (left) and cumulative (right) split frequencies over generations, one row per run."""
    plt = _pyplot()
    clades = _shown_clades(analysis)
    n_runs = len(analysis.windows)
    figure, axes = plt.subplots(n_runs, 2, figsize=(12, 2.8 * n_runs), squeeze=False)
    cmap = plt.get_cmap("tab20")
    for run, windows in enumerate(analysis.windows):
        for panel, (values, title) in enumerate(((windows.sliding, "sliding window"),
                                                 (windows.cumulative, "cumulative"))):
            ax = axes[run, panel]
            for c, row in enumerate(clades):
                ax.plot(windows.generations, values[row], lw=1.0, color=cmap(c % 20),
                        label=_clade_label(analysis, int(windows.partitions[row])))
            ax.set_ylim(-0.03, 1.03)
            ax.set_title(f"run {run + 1}: {title} split frequencies (window {windows.window_size} trees)",
                         fontsize=10)
            _generation_axis(ax)
    if len(clades):
        axes[0, 1].legend(fontsize=7, ncol=2, loc="lower right")
    _space_grid(figure, n_runs, gap=0.75)
    return figure


def asdsf_figure(analysis):
    """ASDSF of cumulative split frequencies over generations (both conventions), threshold dashed."""
    plt = _pyplot()
    figure, ax = plt.subplots(figsize=(7, 3.2))
    generations = analysis.windows[0].generations[:len(analysis.asdsf_generations["mrbayes"])]
    ax.plot(generations, analysis.asdsf_generations["mrbayes"], marker="o", ms=3, label="MrBayes (≥ 0.10)")
    ax.plot(generations, analysis.asdsf_generations["rwty"], marker="s", ms=3, label="RWTY (> 0, all-tips clade)")
    ax.axhline(analysis.settings["max_asdsf"], ls="--", color="0.3", lw=0.8, label="threshold")
    ax.set_xlabel("generation")
    ax.set_ylabel("ASDSF")
    ax.set_yscale("log")
    ax.legend(fontsize=8)
    _margins(figure)
    return figure


def split_scatter_figure(analysis):
    """Split frequency in run 1 against every other run (informative splits)."""
    from phylo_vi.diagnostics.tree_convergence import informative_partitions

    plt = _pyplot()
    table = analysis.partitions
    frequencies = table.frequencies()[informative_partitions(table)]
    n_pairs = table.n_runs - 1
    figure, axes = plt.subplots(1, n_pairs, figsize=(4.2 * n_pairs, 4), squeeze=False)
    for other, ax in zip(range(1, table.n_runs), axes.ravel()):
        ax.plot([0, 1], [0, 1], color="0.6", lw=0.8)
        ax.scatter(frequencies[:, 0], frequencies[:, other], s=14, alpha=0.7, color=_colour(other))
        ax.set_xlabel("run 1 split frequency")
        ax.set_ylabel(f"run {other + 1} split frequency")
        ax.set_xlim(-0.02, 1.02)
        ax.set_ylim(-0.02, 1.02)
        ax.set_aspect("equal")
    _margins(figure, left=0.7, wspace=0.35)
    return figure


def topological_ess_figure(analysis):
    """Mean squared RF distance against lag with the fitted a(1 − exp(−k/b)) per run."""
    plt = _pyplot()
    figure, ax = plt.subplots(figsize=(7, 3.2))
    for run, ess in enumerate(analysis.topological_ess):
        if ess is None:
            continue
        ax.plot(ess.lags, ess.distances, ".", ms=3, color=_colour(run),
                label=f"run {run + 1}: ESS {'<' if ess.upper_bound else '≈'} {ess.ess:.0f}")
        if ess.asymptote > 0:
            ax.plot(ess.lags, ess.asymptote * (1 - np.exp(-ess.lags / ess.scale)), color=_colour(run), lw=1)
    ax.set_xlabel("lag (trees)")
    ax.set_ylabel("mean squared RF distance")
    ax.legend(fontsize=8)
    _margins(figure)
    return figure


def consensus_figure(analysis):
    """The consensus tree as a phylogram (median branch lengths), clade probabilities at the nodes."""
    plt = _pyplot()
    tree = analysis.consensus
    table = tree.table
    n_tips = table.n_taxa
    figure, ax = plt.subplots(figsize=(10, max(3.0, 0.32 * n_tips + 1)))
    positions: dict[int, tuple[float, float]] = {}
    next_tip = [0]

    def place(node, x: float) -> float:
        x_here = x + (0.0 if node is tree.root or math.isnan(node.length) else node.length)
        if node.taxon >= 0:
            y = float(next_tip[0])
            next_tip[0] += 1
        else:
            ys = [place(child, x_here) for child in node.children]
            y = (min(ys) + max(ys)) / 2
            ax.plot([x_here, x_here], [min(ys), max(ys)], color="k", lw=1)
        positions[id(node)] = (x_here, y)
        ax.plot([x, x_here], [y, y], color="k", lw=1)
        if node.taxon >= 0:
            ax.text(x_here, y, "  " + table.taxa[node.taxon], va="center", fontsize=9)
        elif node is not tree.root and node.partition >= 0:
            ax.text(x_here, y, f"{tree.probability(node):.2f}", va="bottom", ha="right", fontsize=8,
                    color="#b22222", bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.5, "alpha": 0.85})
        return y

    place(tree.root, 0.0)
    xs = [p[0] for p in positions.values()]
    ax.set_xlim(-0.01 * max(xs), max(xs) * 1.3)
    ax.set_ylim(n_tips, -1)
    ax.set_yticks([])
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    ax.set_xlabel("expected substitutions per site (median branch lengths)")
    _margins(figure, left=0.2, top=0.1)
    return figure


def analysis_figures(analysis) -> dict[str, Any]:
    """Every figure the analysis supports, by name."""
    figures: dict[str, Any] = {}
    if analysis.parameter_traces:
        figures["traces"] = trace_figure(analysis)
        figures["densities"] = density_figure(analysis)
    if analysis.partitions is not None:
        figures["consensus"] = consensus_figure(analysis)
        if analysis.windows:
            figures["split_frequencies"] = split_frequency_figure(analysis)
        if analysis.asdsf_generations:
            figures["asdsf"] = asdsf_figure(analysis)
        if analysis.partitions.n_runs > 1:
            figures["split_scatter"] = split_scatter_figure(analysis)
        if any(e is not None for e in analysis.topological_ess):
            figures["topological_ess"] = topological_ess_figure(analysis)
    return figures
