"""The summary of a tree sample as a document (the JSON schema of ``phylo-vi trees summary``) and
as the two MrBayes-style tables.

Document keys: ``phylo_vi_version``; ``files`` (per run: ``path``, ``format``, ``trees_read``,
``n_burnin``, ``thin``, ``trees_kept``, ``total_weight``, ``distinct_topologies``);
``trees_read``, ``trees_kept``, ``n_taxa``, ``taxa``, ``distinct_topologies``,
``probability_sum``, ``credible_set_size`` (level → number of topologies), ``top_topologies``
(``rank``, ``probability``, ``cumulative``, ``newick``), ``splits`` (the ``.tstat`` columns:
``id``, ``bitstring``, ``count``, ``probability``, ``run_frequencies``, ``sd``, ``min``, ``max``,
``n_runs``; over more than 1,024 taxa ``bitstring`` is ``h`` and the split's 128-bit hash in
hexadecimal, :mod:`phylo_vi.trees.split_hashes`, as ``split_names`` says: ``"bitstring"`` or
``"hash128"``), ``asdsf``, ``max_sdsf`` (null for one run) and ``asdsf_min_frequency``.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from phylo_vi.diagnostics.asdsf import DEFAULT_MIN_FREQUENCY
from phylo_vi.diagnostics.summary import SampleSummary, summarize_runs
from phylo_vi.diagnostics.tables import write_split_table, write_topology_table

DEFAULT_TOP = 10
TABLE_SUFFIXES = {"trprobs": ".trprobs.tsv", "splits": ".splits.tsv"}


def _finite(value: float | None) -> float | None:
    return None if value is None or math.isnan(value) else float(value)


def summarize_sample(sample, *, min_frequency: float = DEFAULT_MIN_FREQUENCY,
                     progress: Callable[[int], None] | None = None) -> SampleSummary:
    """Summarize every run of a :class:`~phylo_vi.io.trees.TreeSample` in one streaming pass.

    ``progress`` is called with 1 after each tree read (e.g. ``tqdm.update``).
    """
    def counted(run) -> Iterator:
        for tree in run:
            yield tree
            progress(1)

    streams: list[Iterable] = [counted(run) if progress is not None else run for run in sample.runs]
    return summarize_runs(streams, [str(run.path) for run in sample.runs], min_frequency=min_frequency)


def summary_document(sample, summary: SampleSummary, top: int = DEFAULT_TOP) -> dict[str, Any]:
    """The summary as a JSON-ready document (keys in the module docstring)."""
    from phylo_vi import __version__

    topologies, table = summary.topologies, summary.split_table
    probabilities, cumulative = topologies.probabilities, topologies.cumulative
    bitstrings = table.bitstrings()
    sd, low, high, present = table.sd, table.min, table.max, table.n_runs_present  # once: each is a pass
    return {
        "phylo_vi_version": __version__,
        "files": [{"path": str(run.path), "format": run.format, "trees_read": run.n_trees,
                   "n_burnin": run.n_burnin, "thin": run.thin, "trees_kept": result.n_trees,
                   "total_weight": result.splits.total_weight,
                   "distinct_topologies": result.topologies.n_topologies}
                  for run, result in zip(sample.runs, summary.runs)],
        "trees_read": sample.n_trees,
        "trees_kept": summary.n_trees,
        "n_taxa": summary.n_taxa,
        "taxa": list(summary.taxa.names),
        "distinct_topologies": topologies.n_topologies,
        "probability_sum": float(probabilities.sum()),
        "credible_set_size": {f"{level:g}": size for level, size in summary.credible_set_sizes().items()},
        "top_topologies": [{"rank": i + 1, "probability": float(probabilities[i]),
                            "cumulative": float(cumulative[i]), "newick": topologies.newick(i)}
                           for i in range(min(top, topologies.n_topologies))],
        "split_names": "hash128" if table.hashed else "bitstring",
        "splits": [{"id": i + 1, "bitstring": bitstrings[i], "count": float(table.counts[i]),
                    "probability": float(table.pooled[i]),
                    "run_frequencies": [float(f) for f in table.frequencies[i]],
                    "sd": _finite(sd[i]), "min": float(low[i]), "max": float(high[i]),
                    "n_runs": int(present[i])} for i in range(table.n_splits)],
        "asdsf": _finite(summary.asdsf),
        "max_sdsf": _finite(summary.max_sdsf),
        "asdsf_min_frequency": summary.min_frequency,
    }


def summary_table_paths(prefix: str | Path) -> dict[str, Path]:
    """``{"trprobs": PREFIX.trprobs.tsv, "splits": PREFIX.splits.tsv}``."""
    return {key: Path(f"{prefix}{suffix}") for key, suffix in TABLE_SUFFIXES.items()}


def write_summary_tables(summary: SampleSummary, paths: dict[str, Path]) -> list[Path]:
    """Write the topology table and the split table (one frequency column per run) to ``paths``
    (keys of :func:`summary_table_paths`); run columns are named by file, or run1, run2, ... when
    two runs share a file name."""
    names = [Path(run.name).name for run in summary.runs]
    if len(set(names)) < len(names):
        names = [f"run{i + 1}" for i in range(len(names))]
    return [write_topology_table(paths["trprobs"], summary.topologies),
            write_split_table(paths["splits"], summary.split_table, names)]
