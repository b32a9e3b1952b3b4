"""Tab-separated outputs of a sample summary, named and laid out as MrBayes users expect.

- ``PREFIX.trprobs.tsv``: one row per distinct topology, most probable first, with ``p`` and
  cumulative ``P`` as in MrBayes ``.trprobs`` and a flag for the 95% credible set;
- ``PREFIX.splits.tsv``: the ``.tstat`` columns (``ID #obs Probab. Sd(s) Min(s) Max(s) Nruns``)
  plus the ``.parts`` bitstring and one frequency column per run.
"""
from __future__ import annotations

from pathlib import Path

from phylo_vi.diagnostics.asdsf import SplitTable
from phylo_vi.diagnostics.topologies import TopologyFrequencies
from phylo_vi.report.tables import write_tsv


def write_topology_table(path: str | Path, topologies: TopologyFrequencies, level: float = 0.95) -> Path:
    """Every distinct topology with its weight, probability, cumulative probability and Newick."""
    in_set = topologies.credible_set_size(level)
    probabilities, cumulative = topologies.probabilities, topologies.cumulative
    rows = ((rank + 1, float(topologies.weights[rank]), float(probabilities[rank]), float(cumulative[rank]),
             int(rank < in_set), topologies.newick(rank)) for rank in range(topologies.n_topologies))
    header = ["rank", "weight", "probability", "cumulative", f"in_{round(level * 100)}pct_set", "newick"]
    return write_tsv(path, header, rows)


def write_split_table(path: str | Path, table: SplitTable, run_names: list[str]) -> Path:
    """One row per non-trivial split, most frequent first (``ID`` = rank)."""
    bitstrings = table.bitstrings()
    sd, low, high, present = table.sd, table.min, table.max, table.n_runs_present
    rows = ([i + 1, bitstrings[i], float(table.counts[i]), float(table.pooled[i]), float(sd[i]), float(low[i]),
             float(high[i]), int(present[i])] + [float(f) for f in table.frequencies[i]]
            for i in range(table.n_splits))
    header = ["ID", "bitstring", "#obs", "Probab.", "Sd(s)", "Min(s)", "Max(s)", "Nruns"]
    header += [f"freq_{name}" for name in run_names]
    return write_tsv(path, header, rows)
