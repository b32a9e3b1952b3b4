"""The :class:`Analysis` result: tables, JSON document, pandas views, plots and the report folder."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from phylo_vi.diagnostics.verdict import Verdict
from phylo_vi.errors import PhyloVIError
from phylo_vi.io.runs import RunSet
from phylo_vi.io.newick import format_newick

CREDIBLE_LEVELS = (0.5, 0.9, 0.95, 0.99)
MAX_TOPOLOGIES_LISTED = 1000  # the topology table lists the most probable ones (a long run has ~1 per tree)


@dataclass(frozen=True)
class RunInfo:
    """Files and burn-in of one run."""

    name: str
    trees: Path | None
    parameters: Path | None
    trees_read: int
    trees_burnin: int
    trees_kept: int
    samples_read: int
    samples_burnin: int

    @property
    def samples_kept(self) -> int:
        return self.samples_read - self.samples_burnin


def _finite(value: float) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)


@dataclass
class Analysis:
    """Everything :func:`phylo_vi.analyze` computed (fields are None / empty where a run had no such file)."""

    runs: RunSet
    run_info: list[RunInfo]
    settings: dict[str, Any]
    parameter_traces: list
    parameter_burnin: list[int]
    parameter_rows: list
    partitions: Any
    order: Any
    consensus: Any
    topologies: Any
    topology_run_counts: np.ndarray | None
    mcc_tree: Any
    mcc_log_credibility: float
    asdsf: float
    max_sdsf: float
    windows: list
    asdsf_generations: dict[str, np.ndarray]
    topological_ess: list
    tree_generations: list[np.ndarray]
    verdict: Verdict
    notes: list[str] = field(default_factory=list)
    bayes_factors: list = field(default_factory=list)
    bayes_factor_model: str | None = None
    topology_model: Any = None
    tree_topologies: list[np.ndarray] = field(default_factory=list)
    tracer_rows: list = field(default_factory=list)
    figure_images: dict[str, bytes] = field(default_factory=dict, repr=False)

    # ---------------------------------------------------------------------------------- tables
    def tables(self) -> dict[str, tuple[list[str], list[list[Any]]]]:
        """Every table as ``name: (header, rows)``."""
        from phylo_vi.diagnostics.parameter_summary import COLUMNS

        out: dict[str, tuple[list[str], list[list[Any]]]] = {
            "runs": (["run", "trees", "parameters", "trees_read", "trees_burnin", "trees_kept", "samples_read",
                      "samples_burnin", "samples_kept"],
                     [[r.name, str(r.trees or ""), str(r.parameters or ""), r.trees_read, r.trees_burnin,
                       r.trees_kept, r.samples_read, r.samples_burnin, r.samples_kept] for r in self.run_info]),
            "parameters": (list(COLUMNS), [row.values() for row in self.parameter_rows]),
        }
        if self.tracer_rows:
            from phylo_vi.diagnostics.tracer_statistics import TRACER_COLUMNS

            out["tracer"] = (list(TRACER_COLUMNS), [row.values() for row in self.tracer_rows])
        if self.bayes_factors:
            from phylo_vi.analysis.bayes_factors import COLUMNS as BF_COLUMNS, row_values

            out["bayes_factors"] = (list(BF_COLUMNS), [row_values(row) for row in self.bayes_factors])
        if self.partitions is not None:
            out["splits"] = self._split_rows()
            out["topologies"] = self._topology_rows
            out["topological_ess"] = (["run", "approx_topological_ess", "upper_bound"],
                                      [[self.run_info[i].name, e.ess if e else math.nan, bool(e.upper_bound) if e
                                        else False] for i, e in enumerate(self.topological_ess)])
            if self.asdsf_generations:
                generations = self.windows[0].generations[:len(self.asdsf_generations["mrbayes"])]
                out["asdsf_generations"] = (["generation", "asdsf_mrbayes", "asdsf_rwty"],
                                            [[int(g), float(a), float(b)] for g, a, b in
                                             zip(generations, self.asdsf_generations["mrbayes"],
                                                 self.asdsf_generations["rwty"])])
        return out

    def _split_rows(self):
        from phylo_vi.diagnostics.mrbayes_partitions import informative, split_sd
        from phylo_vi.trees import bitset

        table, order = self.partitions, self.order
        frequencies = table.frequencies()
        header = ["id", "partition", "count", "probability", "sd", "min", "max", "n_runs"]
        header += [f"freq_{info.name}" for info in self.run_info if info.trees is not None]
        rows = []
        for k in range(order.n_kept):
            index = order.ids[k]
            if not informative(table, index):
                continue
            f = frequencies[index]
            rows.append([k, bitset.bitset_to_string(table.displayed(index), table.n_taxa), int(table.totals[index]),
                         float(table.totals[index] / table.n_sampled.sum()),
                         split_sd(f) if table.n_runs > 1 else math.nan, float(f.min()), float(f.max()),
                         int(np.sum(table.counts[index] > 0))] + [float(x) for x in f])
        return header, rows

    @cached_property
    def _topology_rows(self):
        """The topology table (computed once: its Newick strings are the slow part of every table write)."""
        topologies = self.topologies
        probabilities, cumulative = topologies.probabilities, topologies.cumulative
        sbn = (self.topology_model.probabilities if self.topology_model is not None
               else np.full(topologies.n_topologies, np.nan))
        header = ["rank", "count", "probability", "cumulative", "sbn_probability"]
        header += [f"count_{info.name}" for info in self.run_info if info.trees is not None] + ["newick"]
        rows = [[rank + 1, int(topologies.weights[rank]), float(probabilities[rank]), float(cumulative[rank]),
                 float(sbn[rank])] + [int(c) for c in self.topology_run_counts[rank]] + [topologies.newick(rank)]
                for rank in range(min(topologies.n_topologies, MAX_TOPOLOGIES_LISTED))]
        return header, rows

    def credible_set_sizes(self) -> dict[float, int]:
        if self.topologies is None:
            return {}
        return {level: self.topologies.credible_set_size(level) for level in CREDIBLE_LEVELS}

    # ------------------------------------------------------------------------------- documents
    def to_json(self) -> dict[str, Any]:
        """The JSON document (``phylo-vi analyze --json``)."""
        from phylo_vi import __version__

        tables = self.tables()
        document: dict[str, Any] = {
            "phylo_vi_version": __version__,
            "basename": self.runs.basename,
            "converged": self.verdict.converged,
            "verdict": self.verdict.line(),
            "checks": [{"name": c.name, "value": _finite(c.value), "threshold": c.threshold,
                        "at_least": c.at_least, "where": c.where, "passed": c.passed} for c in self.verdict.checks],
            "settings": self.settings,
            "runs": [dict(zip(*[tables["runs"][0], row])) for row in tables["runs"][1]],
            "parameters": [{key: (_finite(v) if isinstance(v, float) else v) for key, v in zip(*[
                tables["parameters"][0], row])} for row in tables["parameters"][1]],
            "tracer": [{key: (_finite(v) if isinstance(v, float) else v) for key, v in zip(*[
                tables["tracer"][0], row])} for row in tables["tracer"][1]] if "tracer" in tables else [],
            "notes": self.notes,
        }
        if self.bayes_factors:
            header, rows = tables["bayes_factors"]
            document["bayes_factor_model"] = self.bayes_factor_model
            document["bayes_factors"] = [{key: (_finite(v) if isinstance(v, float) else v)
                                          for key, v in zip(header, row)} for row in rows]
        if self.partitions is not None:
            document.update({
                "n_taxa": int(self.partitions.n_taxa),
                "taxa": list(self.partitions.taxa.names[:self.partitions.n_taxa]),
                "trees_kept": int(self.partitions.n_sampled.sum()),
                "asdsf": _finite(self.asdsf), "max_sdsf": _finite(self.max_sdsf),
                "consensus_newick": self.consensus.newick(),
                "map_topology": {"newick": self.topologies.newick(0),
                                 "probability": float(self.topologies.probabilities[0])},
                "mcc_tree": {"newick": format_newick(self.mcc_tree), "log_clade_credibility": self.mcc_log_credibility},
                "distinct_topologies": self.topologies.n_topologies,
                "sbn": None if self.topology_model is None else {
                    "method": "SBN-EM-alpha (alpha 1e-4)", "mass_unsampled": self.topology_model.mass_unsampled,
                    "held_out_mean_log_prob_sbn": _finite(self.topology_model.held_out_sbn),
                    "held_out_mean_log_prob_srf": _finite(self.topology_model.held_out_srf),
                    "held_out_unseen_srf": _finite(self.topology_model.unseen_srf),
                    "held_out_unseen_sbn": _finite(self.topology_model.unseen_sbn)},
                "credible_set_size": {f"{level:g}": size for level, size in self.credible_set_sizes().items()},
                "topological_ess": [{"run": self.run_info[i].name, "ess": _finite(e.ess) if e else None,
                                     "upper_bound": bool(e.upper_bound) if e else None}
                                    for i, e in enumerate(self.topological_ess)],
            })
        return document

    def to_pandas(self) -> dict[str, Any]:
        """Every table as a pandas DataFrame (pandas comes with the Dask dependency)."""
        try:
            import pandas as pd
        except ModuleNotFoundError:
            raise PhyloVIError("to_pandas() needs pandas (pip install pandas)") from None
        return {name: pd.DataFrame(rows, columns=header) for name, (header, rows) in self.tables().items()}

    def figures(self) -> dict[str, Any]:
        """The report's matplotlib figures by name (see :mod:`phylo_vi.report.analysis_plots`)."""
        from phylo_vi.report.analysis_plots import analysis_figures

        return analysis_figures(self)

    def prepare_report(self) -> None:
        """The work of :meth:`write_report` that does not need the SBN fit: the figures drawn
        (:meth:`render_figures`) and the branch-length statistics of every partition the ``.vstat`` lists (kept
        in the partition table)."""
        self.render_figures()
        if self.partitions is not None:
            from phylo_vi.diagnostics.mrbayes_partitions import length_statistics

            for index in self.order.ids[1:self.order.n_kept]:
                length_statistics(self.partitions, int(index))

    def render_figures(self) -> dict[str, bytes]:
        """The report's figures drawn as PNG, by name (drawn once, then kept in ``figure_images``)."""
        if not self.figure_images:
            from phylo_vi.report.html import png_bytes

            self.figure_images = {name: png_bytes(figure, tight=False) for name, figure in self.figures().items()}
        return self.figure_images

    def write_report(self, directory: str | Path, mb_compat: bool = False) -> list[Path]:
        """Write the HTML page, JSON, TSV tables and tree files into ``directory``; returns the paths."""
        from phylo_vi.report.analysis_files import write_analysis_files

        return write_analysis_files(self, Path(directory), mb_compat=mb_compat)
