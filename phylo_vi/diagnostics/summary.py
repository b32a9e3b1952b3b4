"""One-pass summary of one or more tree samples (runs): topologies, splits, ASDSF."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

from phylo_vi.diagnostics.asdsf import DEFAULT_MIN_FREQUENCY, SplitTable, asdsf, split_table
from phylo_vi.diagnostics.split_frequencies import SplitCounter, SplitFrequencies
from phylo_vi.diagnostics.topologies import TopologyCounter, TopologyFrequencies
from phylo_vi.diagnostics.tree_keys import topology_key
from phylo_vi.errors import EmptyInputError
from phylo_vi.trees.taxa import TaxonNamespace, common_namespace
from phylo_vi.trees.tree import Tree

CREDIBLE_LEVELS = (0.5, 0.9, 0.95, 0.99)


@dataclass(frozen=True)
class RunSummary:
    """Split and topology frequencies of one run."""

    name: str
    splits: SplitFrequencies
    topologies: TopologyFrequencies

    @property
    def n_trees(self) -> int:
        return self.splits.n_trees


@dataclass(frozen=True)
class SampleSummary:
    """Per-run summaries, the pooled topologies and split table, and the ASDSF (NaN for one run)."""

    taxa: TaxonNamespace
    runs: list[RunSummary]
    topologies: TopologyFrequencies
    split_table: SplitTable
    asdsf: float
    max_sdsf: float
    min_frequency: float

    @property
    def n_trees(self) -> int:
        return sum(run.n_trees for run in self.runs)

    @property
    def n_taxa(self) -> int:
        return len(self.taxa)

    def credible_set_sizes(self) -> dict[float, int]:
        return {level: self.topologies.credible_set_size(level) for level in CREDIBLE_LEVELS}


def summarize_runs(runs: Sequence[Iterable[Tree]], names: Sequence[str] | None = None, *,
                   min_frequency: float = DEFAULT_MIN_FREQUENCY, hashed_splits: bool | None = None) -> SampleSummary:
    """Stream every run once, counting splits and topologies per run, then pool them.

    ``runs`` are iterables of trees sharing one taxon namespace (read them with one
    namespace). A run that yields no tree raises :class:`~phylo_vi.errors.EmptyInputError`.
    ``hashed_splits``: count splits as 128-bit hashes (memory linear in the number of taxa per
    tree, :mod:`phylo_vi.trees.split_hashes`) or as bitsets; None: hashes above 1,024 taxa.
    """
    names = [f"run{i + 1}" for i in range(len(runs))] if names is None else list(names)
    summaries: list[RunSummary] = []
    pooled = TopologyCounter()
    for name, trees in zip(names, runs):
        split_counter, topology_counter = SplitCounter(hashed=hashed_splits), TopologyCounter()
        for tree in trees:
            splits = split_counter.splits_of(tree)
            split_counter.add(tree, splits)
            topology_counter.add(tree, tree.topology_key() if split_counter.hashed else topology_key(tree, splits))
        if split_counter.n_trees == 0:
            raise EmptyInputError(f"run {name!r} has no trees left to summarize")
        summaries.append(RunSummary(name, split_counter.result(), topology_counter.result()))
        pooled.merge(topology_counter)
    if not summaries:
        raise EmptyInputError("no runs to summarize")
    taxa = common_namespace([run.splits for run in summaries], what="runs")
    table = split_table([run.splits for run in summaries])
    several = len(summaries) > 1
    return SampleSummary(
        taxa, summaries, pooled.result(), table,
        asdsf(table, min_frequency) if several else float("nan"),
        asdsf(table, min_frequency, summary="max") if several else float("nan"),
        min_frequency)
