"""The KL table of the SBN paper: every method fitted to every training sample, scored on a truth.

Zhang & Matsen (NeurIPS 2018), Table 1 and ``zcrabbit/sbn:experiments/real-data.ipynb``: each
short-run replicate's topology frequencies (normalised) train SRF, CCD, SBN-SA, SBN-EM and
SBN-EM-α; KL(p_truth ‖ q) is computed against the pooled golden runs
(:func:`phylo_vi.sbn.kl.pooled_golden_run`), one row per replicate and their mean.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from phylo_vi.sbn.edges import unrooted_edge_tables
from phylo_vi.sbn.kl import kl_divergence
from phylo_vi.sbn.methods import DEFAULT_ALPHA, METHOD_LABELS, TABLE_METHODS, make_estimator
from phylo_vi.trees.arrays import TreeArrays
from phylo_vi.util.deprecation import renamed


@dataclass
class KLRow:
    """One training sample: KL and covered reference mass per method, EM iterations."""

    name: str
    n_topologies: int
    kl: dict[str, float] = field(default_factory=dict)
    covered_mass: dict[str, float] = field(default_factory=dict)
    n_iter: dict[str, int] = field(default_factory=dict)


@dataclass
class KLTable:
    """Rows of :class:`KLRow` and their mean KL per method."""

    methods: tuple[str, ...]
    alpha: float
    n_truth_topologies: int
    rows: list[KLRow]

    @property
    def mean(self) -> dict[str, float]:
        return {m: float(np.mean([row.kl[m] for row in self.rows])) for m in self.methods}

    def to_dict(self) -> dict:
        return {"methods": list(self.methods), "labels": [METHOD_LABELS[m] for m in self.methods],
                "alpha": self.alpha, "truth_topologies": self.n_truth_topologies,
                "rows": [{"train": row.name, "distinct_topologies": row.n_topologies, "kl": row.kl,
                          "covered_mass": row.covered_mass, "em_iterations": row.n_iter} for row in self.rows],
                "mean": self.mean}

    def to_markdown(self) -> str:
        header = "| training sample | distinct trees | " + " | ".join(METHOD_LABELS[m] for m in self.methods) + " |"
        lines = [header, "|" + "---|" * (2 + len(self.methods))]
        for row in self.rows:
            cells = [f"{row.kl[m]:.5f}" + (f" ({row.n_iter[m]})" if m in row.n_iter else "") for m in self.methods]
            lines.append(f"| {row.name} | {row.n_topologies} | " + " | ".join(cells) + " |")
        lines.append("| mean | | " + " | ".join(f"{self.mean[m]:.5f}" for m in self.methods) + " |")
        return "\n".join(lines)


def kl_table(truth: TreeArrays, truth_probabilities: np.ndarray, train: Sequence[TreeArrays], names: Sequence[str],
             *, methods: Sequence[str] = TABLE_METHODS, alpha: float = DEFAULT_ALPHA, n_threads: int = 1,
             progress: Callable[[], None] | None = None, n_jobs: int | None = None) -> KLTable:
    """Fit every method to every training sample and score it against the truth distribution.

    ``n_threads`` threads run each SBN's E-step (see :class:`~phylo_vi.sbn.SubsplitBayesianNetwork`);
    ``n_jobs`` is its deprecated spelling.
    """
    n_threads = renamed("kl_table", "n_jobs", "n_threads", n_jobs, n_threads, default=1)
    rows = []
    reference = unrooted_edge_tables(truth, truth_probabilities, normalize=False)
    for sample, name in zip(train, names):
        tables = unrooted_edge_tables(sample)
        row = KLRow(name=name, n_topologies=tables.n_trees)
        for method in methods:
            model = make_estimator(method, alpha=alpha, n_threads=n_threads).fit(tables)
            result = kl_divergence(model, reference)
            row.kl[method], row.covered_mass[method] = result.kl, result.covered_mass
            if hasattr(model, "n_iter_") and model.n_iter_:
                row.n_iter[method] = model.n_iter_
            if progress is not None:
                progress()
        rows.append(row)
    return KLTable(methods=tuple(methods), alpha=alpha, n_truth_topologies=len(truth), rows=rows)
