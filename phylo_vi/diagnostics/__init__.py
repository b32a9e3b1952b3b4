"""MCMC tree-sample diagnostics: split and topology frequencies, credible sets, ASDSF."""
from phylo_vi.diagnostics.report import summarize_sample, summary_document, summary_table_paths, write_summary_tables
from phylo_vi.diagnostics.asdsf import DEFAULT_MIN_FREQUENCY, SplitTable, asdsf, split_table
from phylo_vi.diagnostics.split_frequencies import SplitCounter, SplitFrequencies, split_frequencies
from phylo_vi.diagnostics.summary import CREDIBLE_LEVELS, RunSummary, SampleSummary, summarize_runs
from phylo_vi.diagnostics.tables import write_split_table, write_topology_table
from phylo_vi.diagnostics.topologies import TopologyCounter, TopologyFrequencies, topology_frequencies

__all__ = [
    "SplitCounter", "SplitFrequencies", "split_frequencies",
    "TopologyCounter", "TopologyFrequencies", "topology_frequencies",
    "SplitTable", "split_table", "asdsf", "DEFAULT_MIN_FREQUENCY",
    "RunSummary", "SampleSummary", "summarize_runs", "CREDIBLE_LEVELS",
    "write_topology_table", "write_split_table",
    "summarize_sample", "summary_document", "summary_table_paths", "write_summary_tables",
]
