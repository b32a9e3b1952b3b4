"""``analyze()``: from MCMC run files to an :class:`~phylo_vi.analysis.result.Analysis`.

One pass over the trees of every run (streamed in batches) fills the MrBayes partition table,
the topology counts and the tree generations; the parameter traces are read beside them.
Everything else (``sump``/``sumt`` tables, consensus, MAP and MCC trees, credible sets, RWTY
windows, ASDSF over generations, topological ESS, verdict) is computed from those tables.

Memory per tree is 12 bytes (its topology index and generation); what else each tree brings
(every node's branch length, the tree's split ids) and the first tree of each topology go to
anonymous temporary files in ``$TMPDIR`` (:mod:`~phylo_vi.util.spill_file`), about
4 bytes a node plus 4 a split (≈ 600 bytes a tree of 50 taxa), deleted with the partition table,
and are streamed back in chunks; so do the parameter values (8 bytes each,
:mod:`~phylo_vi.io.spilled_columns`), read back one column at a time. What stays in memory grows
with the distinct topologies only (their keys and shapes, ≈ 1.5 KB each for 50 taxa, and the SBN
fit's tables, ≈ 2.5 KB each).

Burn-in is MrBayes' (``int(burnin * n)`` samples of each run, or ``n_burnin``), applied to
trees and parameters separately; when the two files of a run do not start their kept samples
at the same generation, the parameter burn-in is aligned to the trees' first kept generation
and a warning says so (MrBayes pairs rows and trees by count, spec analyze.md §1).
"""
from __future__ import annotations

import math
import re
import sys
import warnings
from array import array
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np

from phylo_vi.analysis.bayes_factors import (DEFAULT_METHODS, DEFAULT_REPLICATES, DEFAULT_SBN_REPLICATES,
                                             DEFAULT_TOP, topology_bayes_factors)
from phylo_vi.analysis.result import Analysis, RunInfo
from phylo_vi.analysis.topology_model import TopologyModel, start_topology_model
from phylo_vi.diagnostics.consensus import MAJORITY_RULE, consensus_tree
from phylo_vi.diagnostics.mrbayes_partitions import (DEFAULT_MIN_PARTITION_FREQUENCY, PartitionCounter,
                                                     PartitionTable,
                                                     average_sdsf, mrbayes_order)
from phylo_vi.diagnostics.parameter_summary import summarize_parameter
from phylo_vi.diagnostics.tracer_statistics import summarize_tracer
from phylo_vi.diagnostics.topologies import TopologyFrequencies
from phylo_vi.diagnostics.tree_convergence import (DEFAULT_WINDOW_SIZE, MIN_TREES_FOR_ESS, approximate_topological_ess,
                                                   asdsf_over_generations, informative_partitions, split_windows,
                                                   window_size_for)
from phylo_vi.diagnostics.verdict import Check, Thresholds, Verdict, worst
from phylo_vi.errors import PhyloVIError
from phylo_vi.io.mrbayes_parameters import summarised_by_sump
from phylo_vi.io.parameter_trace import ParameterTrace, burnin_count
from phylo_vi.io.runs import RunSet, discover_runs, read_parameters
from phylo_vi.io.tree_batches import TreeBatch
from phylo_vi.io.trees import TreeSample, read_trees
from phylo_vi.trees.tree import Tree
from phylo_vi.util.spill_file import SpillFile
from phylo_vi.util.tasks import Tasks, available_cores

#: The interpreter's thread switch interval while steps run side by side: a step between two Numba kernels
#: (an SBN-EM iteration) waits for the GIL up to this long while another thread draws figures (Python's
#: default, 5 ms, made the SBN fits 1.5-2x slower beside the figures; the thread switch costs ~µs).
SWITCH_INTERVAL_S = 0.0005

_GENERATION = re.compile(r"(\d+)\s*$")
_GENERATIONS = re.compile(r"(\d+)[ \t\r]*$", re.MULTILINE)


class AlignmentWarning(UserWarning):
    """The tree and parameter files of a run do not start their kept samples at the same generation."""


def _generations(names: list[str | None]) -> np.ndarray:
    """The generation of each tree from its name (``gen.5000`` → 5000; −1 when the name has none)."""
    if all(isinstance(name, str) and "\n" not in name for name in names):
        found = _GENERATIONS.findall("\n".join(names))  # one C-level scan when every name ends in digits
        if len(found) == len(names):
            return np.array(found, dtype=np.int64) if found else np.zeros(0, dtype=np.int64)
    matches = [_GENERATION.search(name or "") for name in names]
    return np.array([int(match.group(1)) if match else -1 for match in matches], dtype=np.int64)


class _FirstTrees:
    """The branch lengths and name of the first tree of each topology (for the MCC tree), in a temporary
    file (:mod:`~phylo_vi.util.spill_file`): 8 bytes a node and the name on disk, 8 bytes a topology
    in memory."""

    def __init__(self) -> None:
        self._spill = SpillFile()
        self._starts = array("q")

    def add(self, lengths: np.ndarray, name: str | None) -> None:
        label = b"\0" if name is None else b"\1" + name.encode("utf-8", "surrogatepass")
        record = np.ascontiguousarray(lengths, dtype=np.float64).tobytes() + label
        self._starts.append(self._spill.append(np.frombuffer(record, dtype=np.uint8)))

    def get(self, topology: int, n_nodes: int) -> tuple[np.ndarray, str | None]:
        """``(branch lengths, name)`` of the first tree of ``topology``, which has ``n_nodes`` nodes."""
        start = self._starts[topology]
        end = self._starts[topology + 1] if topology + 1 < len(self._starts) else self._spill.size
        record = self._spill.read(start, end - start, np.dtype(np.uint8))
        label = record[8 * n_nodes:].tobytes()
        name = label[1:].decode("utf-8", "surrogatepass") if label[:1] == b"\1" else None
        return record[:8 * n_nodes].view(np.float64), name


@dataclass
class _TreeCounts:
    """What one pass over the trees keeps: the partition table, the distinct topologies (first tree of each,
    its branch lengths and name on disk), every tree's topology (index in order of first appearance) and
    generation."""

    table: PartitionTable
    keys: list[bytes]
    run_counts: np.ndarray
    shapes: list[tuple[np.ndarray, np.ndarray, bool]]
    first_trees: _FirstTrees
    tree_topologies: list[np.ndarray]
    generations: list[np.ndarray]


def _run_batches(sample: TreeSample) -> Iterator[tuple[int, TreeBatch | None]]:
    """``(run, batch)`` for every batch of every run in file order, and ``(run, None)`` after each run's last."""
    for run_index, run in enumerate(sample.runs):
        for batch in run.batches():
            yield run_index, batch
        yield run_index, None


def _count_trees(sample: TreeSample, progress: bool, tasks: Tasks) -> _TreeCounts:
    """One pass: partitions, topology counts and first trees, each tree's topology and generation, per run
    (the batches parsed ahead on ``tasks`` while this thread counts the ones before)."""
    from tqdm import tqdm

    counter = PartitionCounter(len(sample.runs))
    index: dict[bytes, int] = {}
    shapes: list[tuple[np.ndarray, np.ndarray, bool]] = []
    first_trees = _FirstTrees()
    tree_topologies: list[np.ndarray] = []
    generations: list[np.ndarray] = []
    bar = tqdm(total=len(sample), unit="tree", file=sys.stderr, desc="reading trees", leave=False,
               disable=not progress or not sys.stderr.isatty())
    topologies: list[np.ndarray] = []
    batch_generations: list[np.ndarray] = []
    for run_index, batch in tasks.ahead(_run_batches(sample)):
        if batch is None:  # the run's last batch is counted
            tree_topologies.append(np.concatenate(topologies) if topologies else np.zeros(0, dtype=np.int32))
            generations.append(np.concatenate(batch_generations) if batch_generations
                               else np.zeros(0, dtype=np.int64))
            topologies, batch_generations = [], []
            continue
        counter.add(batch, run_index)
        offsets = batch.node_offsets
        keys = batch.topology_keys()
        ids = np.empty(len(keys), dtype=np.int32)
        previous, previous_id = None, -1
        for i, key in enumerate(keys):
            if key != previous:  # consecutive samples mostly share a topology
                previous, previous_id = key, index.get(key, -1)
                if previous_id < 0:
                    previous_id = index[key] = len(shapes)
                    a, b = offsets[i], offsets[i + 1]  # the tree's arrays, no Tree object per new topology
                    shapes.append((batch.parent[a:b].copy(), batch.taxon[a:b].copy(), bool(batch.rooted[i])))
                    first_trees.add(batch.branch_length[a:b], batch.names[i])
            ids[i] = previous_id
        topologies.append(ids)
        batch_generations.append(_generations(batch.names[:len(batch)]))
        bar.update(len(batch))
    bar.close()
    run_counts = np.zeros((len(shapes), len(sample.runs)))
    for run, ids in enumerate(tree_topologies):
        run_counts[:, run] = np.bincount(ids, minlength=len(shapes))
    return _TreeCounts(counter.result(), list(index), run_counts, shapes, first_trees, tree_topologies,
                       generations)


def _topologies(sample: TreeSample, counts: _TreeCounts) -> tuple[TopologyFrequencies, np.ndarray,
                                                                   list[np.ndarray]]:
    """Topologies by decreasing count, their counts per run, and each tree's topology rank."""
    totals = counts.run_counts.sum(axis=1)
    order = np.argsort(-totals, kind="stable")
    frequencies = TopologyFrequencies(sample.taxa, [counts.keys[i] for i in order],
                                      [counts.shapes[i] for i in order], totals[order], float(totals.sum()),
                                      int(totals.sum()))
    rank = np.empty(len(order), dtype=np.int32)
    rank[order] = np.arange(len(order), dtype=np.int32)
    return frequencies, counts.run_counts[order], [rank[ids] for ids in counts.tree_topologies]


def _mcc(sample: TreeSample, counts: _TreeCounts) -> tuple[Tree, float]:
    """The sampled tree with the largest product of its clade probabilities (maximum clade credibility).

    Ties go to the earliest tree (run 1 first); that is the first tree of its topology, whose
    branch lengths and name the pass kept. The trees' splits are streamed chunk by chunk.
    """
    table = counts.table
    log_p = np.log(np.maximum(table.totals / table.n_sampled.sum(), 1e-300))
    best = (-math.inf, 0)
    for run in range(table.n_runs):
        first = 0
        for offsets, ids in table.tree_split_chunks(run):
            scores = np.zeros(len(offsets) - 1)
            splits = np.diff(offsets) > 0  # a tree without informative splits scores 0
            if np.any(splits):
                scores[splits] = np.add.reduceat(log_p[ids], offsets[:-1][splits])
            index = int(np.argmax(scores))
            if scores[index] > best[0]:
                best = (float(scores[index]), int(counts.tree_topologies[run][first + index]))
            first += len(scores)
    score, topology = best
    parent, taxon, rooted = counts.shapes[topology]
    lengths, name = counts.first_trees.get(topology, len(parent))
    return Tree(parent.copy(), lengths, taxon.copy(), sample.taxa, rooted=rooted, name=name), score


def _parameters(traces: list[ParameterTrace], burnin: float, n_burnin: int | None,
                tree_generations: list[np.ndarray], notes: list[str]) -> tuple[list[ParameterTrace], list[int],
                                                                               list[str]]:
    if not traces:
        return [], [], []
    columns = traces[0].columns
    for trace in traces[1:]:
        if trace.columns != columns:
            raise PhyloVIError(f"{trace.path}: columns differ from those of {traces[0].path}")
    names = [name for name in columns if trace_summarised(traces[0], name)]
    cuts = []
    for index, trace in enumerate(traces):
        cut = burnin_count(trace.n_samples, burnin, n_burnin)
        if index < len(tree_generations) and len(tree_generations[index]) and tree_generations[index][0] >= 0:
            first_tree = int(tree_generations[index][0])
            if cut >= trace.n_samples or trace.generations[cut] != first_tree:
                aligned = int(np.searchsorted(trace.generations, first_tree))
                message = (f"{trace.path}: the kept trees start at generation {first_tree} but the parameter "
                           f"burn-in of {cut} rows starts at generation "
                           f"{trace.generations[min(cut, trace.n_samples - 1)]}; aligned to {aligned} rows "
                           "(not MrBayes-comparable)")
                warnings.warn(message, AlignmentWarning, stacklevel=3)
                notes.append(message)
                cut = aligned
        if cut >= trace.n_samples:
            raise PhyloVIError(f"{trace.path}: a burn-in of {cut} rows leaves none of {trace.n_samples}")
        cuts.append(cut)
    kept = [trace.n_samples - cut for trace, cut in zip(traces, cuts)]
    if len(set(kept)) > 1:
        notes.append(f"runs keep unequal numbers of samples {kept}: MrBayes sump would refuse them; "
                     "ArviZ columns use the shortest")
    return traces, cuts, names


def _summarize_column(summarize: Callable[[str, list[np.ndarray]], object], name: str,
                      traces: list[ParameterTrace]) -> object:
    """``summarize(name, runs)`` on column ``name`` of each trace, read in the step: only the columns of
    the steps running are in memory."""
    return summarize(name, [trace.column(name) for trace in traces])


def trace_summarised(trace: ParameterTrace, name: str) -> bool:
    """MrBayes ``.p``: the columns ``sump`` summarises; BEAST/RevBayes logs: every column."""
    return summarised_by_sump(name) if trace.format == "mrbayes" else True


def _verdict(rows, topological_ess: list, asdsf: float, n_runs: int, thresholds: Thresholds) -> Verdict:
    checks = []
    if rows:
        value, where = worst({row.parameter: row.min_ess for row in rows}, largest=False)
        checks.append(Check("min parameter ESS", value, thresholds.min_ess, True, where))
        psrf = {row.parameter: max(row.psrf_mrbayes, row.psrf) for row in rows
                if not (math.isnan(row.psrf_mrbayes) or math.isnan(row.psrf))}
        value, where = worst(psrf, largest=True) if n_runs > 1 else (math.nan, "one run")
        if where in {row.parameter for row in rows}:
            row = next(row for row in rows if row.parameter == where)
            where = f"{where}: textbook {row.psrf:.4g}, MrBayes 3.2.7a {row.psrf_mrbayes:.4g}"
        checks.append(Check("max PSRF", value, thresholds.max_psrf, False, where))
    if topological_ess:
        value, where = worst({f"run {i + 1}": e.ess if e is not None else math.nan
                              for i, e in enumerate(topological_ess)}, largest=False)
        checks.append(Check("min topological ESS", value, thresholds.min_ess, True, where))
    checks.append(Check("ASDSF", asdsf, thresholds.max_asdsf, False,
                        "MrBayes convention" if n_runs > 1 else "one run"))
    return Verdict(tuple(checks))


@dataclass
class _Summaries:
    """The tables of :func:`analyze` before the Bayes factors (None or empty where the runs have no trees or
    no parameter traces)."""

    notes: list[str] = field(default_factory=list)
    sample: TreeSample | None = None
    table: PartitionTable | None = None
    order: np.ndarray | None = None
    consensus: Tree | None = None
    topologies: TopologyFrequencies | None = None
    per_run_topologies: np.ndarray | None = None
    tree_topologies: list[np.ndarray] = field(default_factory=list)
    tree_generations: list[np.ndarray] = field(default_factory=list)
    finish_topology_model: Callable[[], TopologyModel] | None = None
    mcc: tuple[Tree, float] | None = None
    asdsf: float = math.nan
    max_sdsf: float = math.nan
    window_size: int = DEFAULT_WINDOW_SIZE
    windows: list = field(default_factory=list)
    asdsf_generations: dict = field(default_factory=dict)
    topological_ess: list = field(default_factory=list)
    traces: list[ParameterTrace] = field(default_factory=list)
    cuts: list[int] = field(default_factory=list)
    rows: list = field(default_factory=list)
    tracer_rows: list = field(default_factory=list)


def _summaries(runs: RunSet, trace_reads: list[Future], tasks: Tasks, *, burnin: float, n_burnin: int | None,
               min_clade_freq: float, min_partition_freq: float, window_size: int, progress: bool) -> _Summaries:
    """Every table of :func:`analyze` but the Bayes factors: the tree pass on this thread, beside it the
    parameter traces (``trace_reads``); then each parameter's summaries on ``tasks`` beside the tree
    diagnostics; last the SBN fits, started on ``tasks`` and left running (``finish_topology_model`` waits
    for them) so that the caller's thread may draw the figures meanwhile."""
    out = _Summaries(window_size=window_size)
    if runs.tree_files:
        out.sample = read_trees(runs.tree_files, burnin=burnin, n_burnin=n_burnin)
        for run in out.sample.runs:
            if run.format == "trprobs":
                raise PhyloVIError(f"{run.path}: a MrBayes .trprobs file is a summary, not an MCMC chain; "
                                   "analyze the .t files (phylo-vi trees summary reads .trprobs)")
        counts = _count_trees(out.sample, progress, tasks)
        out.table, out.tree_generations = counts.table, counts.generations
        out.order = mrbayes_order(out.table, min_partition_freq)
        out.consensus = consensus_tree(out.table, out.order, min_clade_freq)
        out.topologies, out.per_run_topologies, out.tree_topologies = _topologies(out.sample, counts)
    out.traces, out.cuts, names = _parameters([tasks.result(read) for read in trace_reads], burnin, n_burnin,
                                              out.tree_generations, out.notes)
    row_steps, tracer_steps = [], []
    if out.traces:
        kept = [trace.after_burnin(cut) for trace, cut in zip(out.traces, out.cuts)]
        for name in names:
            row_steps.append(tasks.submit(_summarize_column, summarize_parameter, name, kept))
            tracer_steps.append(tasks.submit(_summarize_column, summarize_tracer, name, kept))
    table = out.table
    if table is not None:
        out.mcc = _mcc(out.sample, counts)
        if table.n_runs > 1:
            out.asdsf, out.max_sdsf = average_sdsf(table, out.order)
        out.window_size = window_size_for(int(table.n_sampled.min()), window_size)
        for run in range(table.n_runs):
            n_trees = int(table.n_sampled[run])
            if n_trees >= 2 * out.window_size:
                generations = out.tree_generations[run]
                labels = generations if np.all(generations >= 0) else None
                out.windows.append(split_windows(table, run, out.window_size, labels))
            out.topological_ess.append(approximate_topological_ess(table, run) if n_trees >= MIN_TREES_FOR_ESS
                                       and np.any(informative_partitions(table)) else None)
        if len(out.windows) == table.n_runs > 1:
            out.asdsf_generations = {convention: asdsf_over_generations(out.windows, table, convention)
                                     for convention in ("mrbayes", "rwty")}
    out.rows = [tasks.result(step) for step in row_steps]
    out.tracer_rows = [tasks.result(step) for step in tracer_steps]
    if table is not None and not table.rooted and table.n_taxa >= 4:
        out.finish_topology_model = start_topology_model(out.topologies, out.per_run_topologies, tasks)
    return out


def _analysis(runs: RunSet, parts: _Summaries, burnin: float, n_burnin: int | None, min_clade_freq: float,
              min_partition_freq: float, thresholds: Thresholds) -> Analysis:
    """The :class:`Analysis` of ``parts``, without the SBN fit (``topology_model``), which may still be running."""
    infos = []
    for run in runs.runs:
        tree_run = parts.sample.runs[runs.tree_files.index(run.trees)] if run.trees is not None else None
        parameter_index = runs.parameter_files.index(run.parameters) if run.parameters is not None else None
        infos.append(RunInfo(run.name, run.trees, run.parameters,
                             tree_run.n_trees if tree_run else 0, tree_run.n_burnin if tree_run else 0,
                             len(tree_run) if tree_run else 0,
                             parts.traces[parameter_index].n_samples if parameter_index is not None else 0,
                             parts.cuts[parameter_index] if parameter_index is not None else 0))
    analysis_verdict = _verdict(parts.rows, parts.topological_ess, parts.asdsf,
                                max(len(runs.tree_files), len(parts.traces)), thresholds)
    mcc = parts.mcc
    return Analysis(runs=runs, run_info=infos, settings={
        "burnin": burnin, "n_burnin": n_burnin, "min_clade_freq": min_clade_freq,
        "min_partition_freq": min_partition_freq, "window_size": parts.window_size,
        "min_ess": thresholds.min_ess, "max_psrf": thresholds.max_psrf, "max_asdsf": thresholds.max_asdsf},
        parameter_traces=parts.traces, parameter_burnin=parts.cuts, parameter_rows=parts.rows,
        partitions=parts.table, order=parts.order, consensus=parts.consensus, topologies=parts.topologies,
        topology_run_counts=parts.per_run_topologies, mcc_tree=mcc[0] if mcc else None,
        mcc_log_credibility=mcc[1] if mcc else math.nan, asdsf=parts.asdsf, max_sdsf=parts.max_sdsf,
        windows=parts.windows, asdsf_generations=parts.asdsf_generations, topological_ess=parts.topological_ess,
        tree_generations=parts.tree_generations, verdict=analysis_verdict, notes=parts.notes,
        tree_topologies=parts.tree_topologies, tracer_rows=parts.tracer_rows)


def analyze(paths: str | Path | Sequence[str | Path], *, burnin: float = 0.25, n_burnin: int | None = None,
            min_clade_freq: float = MAJORITY_RULE, min_partition_freq: float = DEFAULT_MIN_PARTITION_FREQUENCY,
            window_size: int = DEFAULT_WINDOW_SIZE, thresholds: Thresholds = Thresholds(),
            threads: int | None = None, progress: bool = False, alignment: str | Path | None = None,
            top: int = DEFAULT_TOP, methods: Sequence[str] = DEFAULT_METHODS, replicates: int = DEFAULT_REPLICATES,
            sbn_replicates: int = DEFAULT_SBN_REPLICATES,
            preset: str = "fast", model: str | None = None, seed: int = 0, client=None,
            prepare_report: bool = False) -> Analysis:
    """Analyse the MCMC runs named by ``paths`` (run files, basenames or folders; see :mod:`phylo_vi.io.runs`).

    Parameters
    ----------
    burnin : fraction of each run's samples discarded (MrBayes ``burninfrac``, default 0.25).
    n_burnin : number of samples discarded instead (overrides ``burnin``).
    min_clade_freq : consensus cut-off: 0.5 the majority-rule tree, lower values the extended
        majority rule (0: every compatible split, MrBayes ``contype=allcompat``).
    min_partition_freq : MrBayes ``minpartfreq``: splits listed and used for the ASDSF.
    window_size : trees per window for split frequencies over generations (RWTY).
    thresholds : verdict thresholds (ESS, PSRF, ASDSF).
    threads : threads of this process (None: every core ``os.sched_getaffinity`` allows): independent
        steps side by side (each run's parameter trace read, the two SBN-EM fits, each parameter's
        summaries, with the tree steps) and the Numba threads of the RF kernel; the results do not
        depend on it (:mod:`phylo_vi.util.tasks`).
    progress : progress bars on stderr (reading trees, marginal likelihoods).
    alignment : with an alignment, marginal likelihoods of the ``top`` most probable topologies by
        ``methods`` (``replicates`` each, ``preset``, ``model``, ``seed``; on ``client`` when it is a
        Dask client), their log Bayes factors and the posterior-odds check
        (:mod:`phylo_vi.analysis.bayes_factors`); the SBN odds' standard errors from ``sbn_replicates``
        block-bootstrap refits (:func:`phylo_vi.analysis.topology_model.sbn_odds_bootstrap`).
    prepare_report : do the report's work that needs no SBN (:meth:`Analysis.prepare_report`: the figures,
        the ``.vstat`` statistics) while the SBN fits run on the other threads, for a caller that writes the
        report next.
    """
    import numba

    threads = int(threads) if threads is not None else available_cores()
    numba.set_num_threads(max(1, min(threads, numba.config.NUMBA_NUM_THREADS)))
    runs = discover_runs(paths)
    switch_interval = sys.getswitchinterval()
    if threads > 1:
        sys.setswitchinterval(min(switch_interval, SWITCH_INTERVAL_S))
    try:
        with Tasks(threads) as tasks:
            trace_reads = [tasks.submit(read_parameters, path) for path in runs.parameter_files]
            parts = _summaries(runs, trace_reads, tasks, burnin=burnin, n_burnin=n_burnin,
                               min_clade_freq=min_clade_freq, min_partition_freq=min_partition_freq,
                               window_size=window_size, progress=progress)
            result = _analysis(runs, parts, burnin, n_burnin, min_clade_freq, min_partition_freq, thresholds)
            if prepare_report:
                result.prepare_report()
            if parts.finish_topology_model is not None:
                result.topology_model = parts.finish_topology_model()
    finally:
        sys.setswitchinterval(switch_interval)
    if alignment is not None:
        from tqdm import tqdm

        n_cells = min(top, result.topologies.n_topologies if result.topologies else 0) * len(methods) * replicates
        with tqdm(total=n_cells, unit="estimate", unit_scale=True, desc="marginal likelihoods", file=sys.stderr,
                  leave=False, disable=not progress or not sys.stderr.isatty()) as bar:
            result.bayes_factors, result.bayes_factor_model = topology_bayes_factors(
                result, alignment, top=top, methods=methods, replicates=replicates, preset=preset, model=model,
                seed=seed, client=client, progress=bar.update,
                sbn_replicates=sbn_replicates)
        result.settings.update({"alignment": str(alignment), "top": top, "methods": list(methods),
                                "replicates": replicates, "sbn_replicates": sbn_replicates, "preset": preset,
                                "model": result.bayes_factor_model,
                                "seed": seed})
    return result
