r"""Partition (split) table of MrBayes 3.2.7a ``sumt``: counts, branch lengths, IDs and files.

Every clade of every post-burn-in tree is recorded (sumpt.c ``DoSumtTree``,
``AddSumtPartition``; spec analyze.md §3.1): for each tree (run 1 first, then run 2, … in file
order) and each node in post-order (children as written, then the node, tips and root
included), the clade's bitset gets one more count in its run and its branch length is appended
to that run's list. In unrooted trees a clade holding the outgroup (taxon 0, MrBayes' default
``outgroup 1``) is stored by its complement, except the outgroup's own tip, so that trees
written with the outgroup elsewhere than at the root give MrBayes' splits. Unrooted trees
must have a root of degree three or more, as MrBayes writes them.

IDs reproduce MrBayes' order exactly (§3.2): an unbalanced binary search tree keyed by the
64-bit words in order of first appearance, walked in pre-order; splits below ``minpartfreq``
in every run swapped to the end; Hoare's quicksort by decreasing count
(``SortPartCtr``); the root and tips moved to IDs 0, 1..n (``SortTerminalPartCtr``). The
consensus walks the array sorted once more over its whole length.

Files (§3.3): :func:`format_parts`, :func:`format_tstat`, :func:`format_vstat` give the text of
MrBayes' ``.parts``, ``.tstat`` and ``.vstat`` without the ``[ID: …]`` stamp line.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Iterable, Iterator, Sequence

import numpy as np

from phylo_vi.diagnostics.branch_length_store import BranchLengthStore
from phylo_vi.diagnostics.mrbayes_statistics import (mrbayes_hpd, mrbayes_psrf, upper_median,
                                                     welford_mean_variance)
from phylo_vi.diagnostics.partition_kernels import CladeIndex, informative_splits
from phylo_vi.diagnostics.tree_split_store import TreeSplitStore
from phylo_vi.errors import EmptyInputError, PhyloVIError
from phylo_vi.io.tree_batches import TreeBatch
from phylo_vi.trees import bitset
from phylo_vi.trees.canonical_key import SPLIT_KEY_MAX_WORDS
from phylo_vi.trees.taxa import TaxonNamespace

DEFAULT_MIN_PARTITION_FREQUENCY = 0.10
SLICE_NODES = 1 << 18  # nodes of a batch processed at once (scratch arrays of ~40 bytes a node)


@dataclass
class PartitionTable:
    """Distinct clades of the sample in order of first appearance.

    ``partitions`` (n_parts, n_words) as MrBayes stores them; ``counts`` (n_parts, n_runs);
    ``branch_lengths`` the lengths of every clade in every run, in file order (see
    :meth:`run_lengths`); ``n_sampled`` (n_runs,) the trees per run; ``tree_splits`` the sorted
    ids of every tree's informative partitions, per run in file order (for tree-by-tree
    diagnostics: windows, RF distances, MCC scores; streamed by :meth:`tree_split_chunks`).
    Both per-tree stores live in a temporary file (:mod:`~phylo_vi.util.spill_file`), closed by :meth:`close`
    or when the table is garbage-collected.
    """

    taxa: TaxonNamespace
    n_taxa: int
    rooted: bool
    partitions: np.ndarray
    counts: np.ndarray
    branch_lengths: BranchLengthStore
    n_sampled: np.ndarray
    tree_splits: TreeSplitStore
    length_summaries: dict[int, tuple[float, float, float, float, float]] = field(default_factory=dict, repr=False)

    @property
    def n_runs(self) -> int:
        return len(self.n_sampled)

    @property
    def totals(self) -> np.ndarray:
        return self.counts.sum(axis=1)

    @property
    def bit_counts(self) -> np.ndarray:
        return bitset.popcount(self.partitions)

    def frequencies(self) -> np.ndarray:
        """``f_r = count_r / n_sampled_r`` (n_parts, n_runs)."""
        return self.counts / self.n_sampled

    def run_lengths(self, index: int) -> list[np.ndarray]:
        """Branch lengths of clade ``index``, one array per run, in file order."""
        return [self.branch_lengths.lengths(index, run) for run in range(self.n_runs)]

    def pooled_lengths(self, index: int) -> np.ndarray:
        """Branch lengths of clade ``index``, runs concatenated (MrBayes' pooled order)."""
        return np.concatenate(self.run_lengths(index))

    def tree_split_chunks(self, run: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """``(offsets, ids)`` for consecutive trees of ``run`` (file order), chunk by chunk: tree t of the
        chunk has the sorted informative partition ids ``ids[offsets[t]:offsets[t + 1]]``."""
        return self.tree_splits.chunks(run)

    def close(self) -> None:
        """Delete the per-tree data (branch lengths, tree splits): their temporary files are closed."""
        self.branch_lengths.close()
        self.tree_splits.close()

    def displayed(self, index: int) -> np.ndarray:
        """The bitset as ``.parts`` prints it: for unrooted trees, flipped when it holds the outgroup."""
        row = self.partitions[index]
        if not self.rooted and row[0] & np.uint64(1):
            return row ^ bitset.full_bitset(self.n_taxa)
        return row


def informative_sizes(sizes: np.ndarray, n_taxa: int, rooted: bool) -> np.ndarray:
    """Whether clades of ``sizes`` taxa are informative: 2 ≤ size ≤ n − 2 either side (unrooted),
    2 ≤ size ≤ n − 1 (rooted)."""
    if not rooted:
        return np.minimum(sizes, n_taxa - sizes) >= 2
    return (sizes >= 2) & (sizes <= n_taxa - 1)


class PartitionCounter:
    """Accumulates the partitions of the runs' :class:`TreeBatch` streams.

    Memory: the distinct clades and their counts, nothing per tree; the branch lengths (4 bytes of
    temporary disk per node for MrBayes files, :mod:`.branch_length_store`) and the informative
    split ids of every tree (4 bytes each, plus 4 a tree, :mod:`.tree_split_store`) are spilled
    to ``$TMPDIR``: about 600 bytes of disk a tree of 50 taxa.
    """

    def __init__(self, n_runs: int) -> None:
        self.n_runs = n_runs
        self._index: CladeIndex | None = None
        self._counts = np.zeros((0, n_runs), dtype=np.int64)
        self._sizes = np.zeros(0, dtype=np.int64)
        self._lengths = BranchLengthStore(n_runs)
        self._tree_splits = TreeSplitStore(n_runs)
        self.n_sampled = np.zeros(n_runs, dtype=np.int64)
        self.taxa: TaxonNamespace | None = None
        self.rooted: bool | None = None
        self.n_taxa = 0

    def add(self, batch: TreeBatch, run: int) -> None:
        """Record every node of every tree of ``batch`` (one run's trees in file order)."""
        if len(batch) == 0:
            return
        rooted = bool(batch.rooted[0])
        if self.rooted is None:
            self.taxa, self.rooted = batch.taxa, rooted
        elif rooted != self.rooted or np.any(batch.rooted != rooted):
            raise PhyloVIError(f"{batch.path}: rooted and unrooted trees cannot be summarised together")
        if batch.clades is None:
            raise PhyloVIError(f"{batch.path}: split tables are computed for trees of up to "
                               f"{64 * SPLIT_KEY_MAX_WORDS:,} taxa (their split bitsets grow as the square of "
                               f"the number of taxa); this sample has {len(batch.taxa):,}")
        n_taxa = int(bitset.popcount(batch.clades[batch.node_offsets[1:2] - 1])[0])
        self.n_taxa = max(self.n_taxa, n_taxa)
        first = 0
        while first < len(batch):  # slices of at most SLICE_NODES nodes (at least one tree): bounded scratch
            end = int(np.searchsorted(batch.node_offsets, batch.node_offsets[first] + SLICE_NODES, side="right"))
            last = max(first + 1, end - 1)
            self._add_trees(batch, run, first, last, n_taxa, rooted)
            first = last

    def _add_trees(self, batch: TreeBatch, run: int, first: int, last: int, n_taxa: int, rooted: bool) -> None:
        """Record trees ``first .. last - 1`` of ``batch``."""
        start, stop = batch.node_offsets[first], batch.node_offsets[last]
        node_offsets = batch.node_offsets[first:last + 1] - start
        sizes = np.diff(node_offsets)
        roots = node_offsets[1:] - 1
        clades = batch.clades[start:stop]
        if not rooted:
            full = np.repeat(clades[roots], sizes, axis=0)
            holds_outgroup = (clades[:, 0] & np.uint64(1)).astype(bool)
            bits = np.bitwise_count(clades)
            flip = holds_outgroup & ((bits[:, 0] if bits.shape[1] == 1 else bits.sum(axis=1)) > 1)
            flip[roots] = False
            clades = np.where(flip[:, None], clades ^ full, clades)
        if self._index is None:
            self._index = CladeIndex(clades.shape[1])
        elif clades.shape[1] != self._index.width:
            raise PhyloVIError(f"{batch.path}: the trees have another number of taxa than those before")
        ids = self._index.ids(clades)
        n_parts = self._index.n_rows
        if n_parts > len(self._counts):
            grown = np.zeros((max(n_parts, 2 * len(self._counts)), self.n_runs), dtype=np.int64)
            grown[:len(self._counts)] = self._counts
            self._counts = grown
        if n_parts > len(self._sizes):
            new = bitset.popcount(self._index.partitions[len(self._sizes):]).astype(np.int64)
            self._sizes = np.concatenate([self._sizes, new])
        self._counts[:n_parts, run] += np.bincount(ids, minlength=n_parts)
        informative = informative_sizes(self._sizes[:n_parts], n_taxa, rooted)
        offsets = np.empty(last - first + 1, dtype=np.int64)
        split_ids = np.empty(len(ids), dtype=np.int32)
        n_splits = informative_splits(ids, node_offsets, informative, offsets, split_ids)
        self._tree_splits.add(run, offsets, split_ids[:n_splits].copy())
        self._lengths.add(run, ids, batch.branch_length[start:stop], n_parts)
        self.n_sampled[run] += last - first

    def result(self) -> PartitionTable:
        if self.taxa is None or np.any(self.n_sampled == 0):
            raise EmptyInputError("every run needs at least one tree after the burn-in")
        self._lengths.finish()
        self._tree_splits.finish()
        n_parts = self._index.n_rows
        return PartitionTable(self.taxa, self.n_taxa, bool(self.rooted), self._index.partitions.copy(),
                              self._counts[:n_parts].copy(), self._lengths, self.n_sampled.copy(),
                              self._tree_splits)


def count_partitions(runs: Sequence[Iterable[TreeBatch]]) -> PartitionTable:
    """The :class:`PartitionTable` of several runs, each an iterable of :class:`TreeBatch`."""
    counter = PartitionCounter(len(runs))
    for run, batches in enumerate(runs):
        for batch in batches:
            counter.add(batch, run)
    return counter.result()


# ------------------------------------------------------------------------------ MrBayes order
def _bst_preorder(partitions: np.ndarray) -> list[int]:
    """Insert rows in order into MrBayes' unbalanced BST (left when node word < new word), walk pre-order."""
    n = len(partitions)
    left = [-1] * n
    right = [-1] * n
    rows = [tuple(int(w) for w in row) for row in partitions]
    for new in range(1, n):
        key = rows[new]
        node = 0
        while True:
            word = next(w for w in range(len(key)) if rows[node][w] != key[w])
            children = left if rows[node][word] < key[word] else right
            if children[node] < 0:
                children[node] = new
                break
            node = children[node]
    order: list[int] = []
    stack = [0] if n else []
    while stack:
        node = stack.pop()
        order.append(node)
        if right[node] >= 0:
            stack.append(right[node])
        if left[node] >= 0:
            stack.append(left[node])
    return order


def hoare_sort_by_count(items: list[int], totals: np.ndarray, left: int, right: int) -> None:
    """MrBayes ``SortPartCtr``: Hoare quicksort of ``items[left..right]`` by decreasing total (in place)."""
    stack = [(left, right)]
    while stack:
        lo, hi = stack.pop()
        i, j = lo, hi
        pivot = totals[items[(lo + hi) // 2]]
        while True:
            while totals[items[i]] > pivot and i < hi:
                i += 1
            while pivot > totals[items[j]] and j > lo:
                j -= 1
            if i <= j:
                items[i], items[j] = items[j], items[i]
                i += 1
                j -= 1
            if i > j:
                break
        if i < hi:
            stack.append((i, hi))
        if lo < j:
            stack.append((lo, j))


def _terminal_fixup(items: list[int], table: PartitionTable, length: int) -> None:
    """MrBayes ``SortTerminalPartCtr``: root to index 0, tip of taxon t-1 to index t (its quirks kept)."""
    totals, bits = table.totals, table.bit_counts
    maximum = totals[items[0]]
    i = 0
    while i < length and totals[items[i]] == maximum:
        if bits[items[i]] == table.n_taxa:
            break
        i += 1
    if i != 0 and i < length:
        items[0], items[i] = items[i], items[0]
    for t in range(1, table.n_taxa + 1):
        j = t
        while j < length and totals[items[j]] == maximum:
            row = table.partitions[items[j]]
            if bits[items[j]] == 1 and bitset.bitset_indices(row)[0] == t - 1:
                break
            j += 1
        if j != t and j < length and t < length:
            items[t], items[j] = items[j], items[t]


@dataclass(frozen=True)
class MrBayesOrder:
    """``ids[k]`` is the partition with MrBayes ID k (k < n_kept); ``consensus`` the order the consensus walks."""

    ids: list[int]
    n_kept: int
    consensus: list[int]


def mrbayes_order(table: PartitionTable, min_frequency: float = DEFAULT_MIN_PARTITION_FREQUENCY) -> MrBayesOrder:
    """MrBayes' partition IDs and consensus order (module docstring, spec §3.2)."""
    items = _bst_preorder(table.partitions)
    threshold = min_frequency * (int(table.n_sampled.sum()) // table.n_runs)
    k, i = len(items), 0
    while i < k:
        if not np.any(table.counts[items[i]] >= threshold):
            k -= 1
            items[i], items[k] = items[k], items[i]
        else:
            i += 1
    totals = table.totals
    if k > 0:
        hoare_sort_by_count(items, totals, 0, k - 1)
        _terminal_fixup(items, table, k)
    ids = list(items)
    consensus = list(items)
    hoare_sort_by_count(consensus, totals, 0, len(consensus) - 1)
    return MrBayesOrder(ids, k, consensus)


# ------------------------------------------------------------------------------------ files
def _num(value: float) -> str:
    return "%.6e" % value


def informative(table: PartitionTable, index: int) -> bool:
    """A ``.tstat`` row: 2 ≤ bits ≤ n−2 (unrooted, after the flip) or ≤ n−1 (rooted)."""
    bits = bitset.popcount(table.displayed(index)[None, :])[0]
    return 2 <= bits <= table.n_taxa - (1 if table.rooted else 2)


def format_parts(table: PartitionTable, order: MrBayesOrder) -> str:
    """``.parts``: ``ID\\tPartition`` then one ``*``/``.`` pattern per kept partition but the root."""
    lines = ["ID\tPartition"]
    for k in range(order.n_kept):
        row = table.displayed(order.ids[k])
        pattern = bitset.bitset_to_string(row, table.n_taxa)
        if "*" not in pattern or "." not in pattern:
            continue
        lines.append(f"{k}\t{pattern}")
    return "\n".join(lines) + "\n"


def split_sd(frequencies: np.ndarray) -> float:
    """``.tstat`` Stddev(s): ``sqrt(max(0, (Σf² − (Σf)²/m)/(m − 1)))``."""
    m = len(frequencies)
    value = (np.sum(frequencies ** 2) - np.sum(frequencies) ** 2 / m) / (m - 1)
    return math.sqrt(max(0.0, value))


def format_tstat(table: PartitionTable, order: MrBayesOrder) -> str:
    """``.tstat``: informative splits with #obs, probability, SD, min, max, Nruns (empty second field)."""
    several = table.n_runs > 1
    lines = ["ID\t#obs\tProbability(=s)\tStddev(s)\tMin(s)\tMax(s)\tNruns" if several else "ID\t#obs\tProbability(=s)"]
    n_total = int(table.n_sampled.sum())
    freqs = table.frequencies()
    for k in range(order.n_kept):
        index = order.ids[k]
        if not informative(table, index):
            continue
        total = int(table.totals[index])
        text = f"{k}\t\t{total}\t{_num(total / n_total)}"
        if several:
            f = freqs[index]
            text += (f"\t{_num(split_sd(f))}\t{_num(f.min())}\t{_num(f.max())}"
                     f"\t{int(np.sum(table.counts[index] > 0))}")
        lines.append(text)
    return "\n".join(lines) + "\n"


def average_sdsf(table: PartitionTable, order: MrBayesOrder) -> tuple[float, float]:
    """ASDSF and maximum SDSF as ``sumt`` prints them (mean of the ``.tstat`` SDs over k − n − 1 rows)."""
    sds = [split_sd(table.frequencies()[order.ids[k]]) for k in range(order.n_kept)
           if informative(table, order.ids[k])]
    denominator = order.n_kept - table.n_taxa - 1
    if not sds or denominator <= 0:
        return math.nan, math.nan
    return sum(sds) / denominator, max(sds)


def length_statistics(table: PartitionTable, index: int) -> tuple[float, float, float, float, float]:
    """Mean, variance, HPD lower/upper and median of the pooled branch lengths of a partition (§2); computed
    once per partition (the consensus, its ``.con.tre`` and the ``.vstat`` ask for the same ones), then kept in
    ``table.length_summaries``."""
    summary = table.length_summaries.get(index)
    if summary is None:
        pooled = table.pooled_lengths(index)
        ordered = np.sort(pooled)
        mean, variance = welford_mean_variance(pooled)
        lower, upper = mrbayes_hpd(ordered)
        summary = table.length_summaries[index] = (mean, variance, lower, upper, upper_median(ordered))
    return summary


def format_vstat(table: PartitionTable, order: MrBayesOrder, name: str = "length") -> str:
    """``.vstat``: branch-length rows ``length[i]``, i = 1..k−1 (HPD labels swapped, as 3.2.7a writes them)."""
    several = table.n_runs > 1
    header = "Parameter\tMean\tVariance\tCredInt_Lower\tCredInt_Upper\tMedian"
    lines = [header + ("\tPSRF\tNruns" if several else "")]
    for k in range(1, order.n_kept):
        index = order.ids[k]
        mean, variance, lower, upper, median = length_statistics(table, index)
        text = f"{name}[{k}]\t" + "\t".join(_num(v) for v in (mean, variance, lower, upper, median))
        if several:
            present = int(np.sum(table.counts[index] > 0))
            psrf = mrbayes_psrf(table.run_lengths(index)) if present == table.n_runs else math.nan
            text += "\tNA" if math.isnan(psrf) or psrf > 10.0 else f"\t{_num(psrf)}"
            text += f"\t{present}"
        lines.append(text)
    return "\n".join(lines) + "\n"
