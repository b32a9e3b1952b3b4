"""Reading tree samples: format detection, burn-in, thinning, several runs, one taxon namespace.

:func:`read_trees` is the entry point for every tree file phylo_vi reads (MrBayes ``.t`` and
``.trprobs``, BEAST 1/2 ``.trees``, RevBayes traces, NEXUS, Newick, ``.trprobs.tsv`` tables and
credible sets). It returns a
:class:`TreeSample`: one :class:`TreeRun` per file, all sharing one
:class:`~phylo_vi.trees.TaxonNamespace`. Nothing is held in memory but the tree being read:
iterating a run re-reads its file, so memory does not grow with the number of trees.

Burn-in follows MrBayes (``relburnin=yes burninfrac=0.25``): ``floor(burnin * n_trees)`` trees
are discarded at the start of *each* file, which needs ``n_trees`` first; it is counted by a
byte scanner (:mod:`phylo_vi.io.counting`) without parsing. ``n_burnin`` discards a fixed
number instead. Thinning keeps every ``thin``-th tree after the burn-in, the first one
included. Burn-in and thinning apply only to MCMC chains (MrBayes ``.t``, BEAST ``.trees``,
RevBayes traces; :data:`~phylo_vi.io.detect.CHAIN_FORMATS`): a Newick or NEXUS list, an SBN
sample, a ``.trprobs``, a ``.trprobs.tsv`` or a credible set is read whole, with a
:class:`BurninSkippedWarning` when the options asked to drop trees from it (``chain=True``
treats every file as a chain).

Rooting, unless ``rooted`` forces it: ``[&R]`` / ``[&U]`` comments, else the format's default
(MrBayes, NEXUS, Newick: unrooted; BEAST: rooted; RevBayes: rooted when the root has two
children), see :mod:`phylo_vi.io.detect`.

Every tree of a sample must hold the same taxa (TaxonMismatchError otherwise, naming file and
line); reading no tree, or keeping none, raises EmptyInputError.
"""
from __future__ import annotations

import itertools
import math
import numbers
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

import numpy as np

from phylo_vi.errors import EmptyInputError, PhyloVIError, TaxonMismatchError, TreeFormatError
from phylo_vi.io.counting import count_trees
from phylo_vi.io.detect import DEFAULT_ROOTED, NEXUS_FORMATS, TREE_FORMATS, detect_format, is_chain
from phylo_vi.io.newick import iter_newick_file
from phylo_vi.io.nexus import iter_nexus_file
from phylo_vi.io.revbayes import count_version_lines, iter_revbayes_trees
from phylo_vi.io.text import require_file
from phylo_vi.io.tree_batches import TreeBatch, iter_tree_batches
from phylo_vi.io.tree_tables import TABLE_FORMATS, count_table_trees, iter_table_trees
from phylo_vi.trees.bitset import bitset_indices, n_words
from phylo_vi.trees.taxa import TaxonNamespace, describe_taxon_difference
from phylo_vi.trees.tree import Tree
from phylo_vi.util.deprecation import renamed

PathLike = str | Path


class BurninSkippedWarning(UserWarning):
    """Burn-in or thinning was asked for a file that is not an MCMC chain; all its trees were kept."""


def numbered_trees(path: Path, format: str, taxa: TaxonNamespace, *, rooted: bool | None = None,
                   keep_annotations: bool = False,
                   keep: Callable[[int], bool] | None = None) -> Iterator[tuple[int, int, Tree | None]]:
    """``(index, line, tree)`` per tree of a file of a resolved format, from that format's reader;
    ``tree`` is None where ``keep(index)`` is False."""
    options = dict(rooted=rooted, keep_annotations=keep_annotations, keep=keep)
    if format in TABLE_FORMATS:
        return iter_table_trees(path, taxa, format=format, **options)
    if format == "revbayes":
        return iter_revbayes_trees(path, taxa, **options)
    if format in NEXUS_FORMATS:
        return iter_nexus_file(path, taxa, default_rooted=DEFAULT_ROOTED[format], **options)
    return iter_newick_file(path, taxa, default_rooted=DEFAULT_ROOTED[format], **options)


@dataclass
class TreeRun:
    """The trees of one file after burn-in and thinning; iterate it to stream them.

    ``n_trees`` counts the trees in the file, ``n_burnin`` those discarded at its start, and
    ``len(run)`` those kept (every ``thin``-th after the burn-in).
    """

    path: Path
    format: str
    n_trees: int
    n_burnin: int
    thin: int
    taxa: TaxonNamespace
    rooted: bool | None = None
    keep_annotations: bool = False
    leaf_set: np.ndarray | None = None

    def __len__(self) -> int:
        return max(0, -(-(self.n_trees - self.n_burnin) // self.thin))

    @property
    def n_kept(self) -> int:
        return len(self)

    def keeps(self, index: int) -> bool:
        """Whether the tree at 0-based position ``index`` of the file is kept."""
        return index >= self.n_burnin and (index - self.n_burnin) % self.thin == 0

    def _read(self, keep: Callable[[int], bool] | None) -> Iterator[tuple[int, int, Tree | None]]:
        return numbered_trees(self.path, self.format, self.taxa, rooted=self.rooted,
                              keep_annotations=self.keep_annotations, keep=keep)

    def __iter__(self) -> Iterator[Tree]:
        if self.keep_annotations:
            for _, line, tree in self._read(self.keeps):
                if tree is not None:
                    _check_leaf_set(tree, self.leaf_set, self.path, line)
                    yield tree
            return
        for batch in self.batches():
            yield from batch

    def batches(self, batch_size: int = 4096) -> Iterator[TreeBatch]:
        """The kept trees as :class:`~phylo_vi.io.tree_batches.TreeBatch` arrays (fast path, no annotations)."""
        for batch in iter_tree_batches(self.path, format=self.format, taxa=self.taxa, rooted=self.rooted,
                                       n_burnin=self.n_burnin, thin=self.thin, batch_size=batch_size):
            _check_batch(batch, self.leaf_set, self.path)
            yield batch


def _check_batch(batch: TreeBatch, reference: np.ndarray | None, path: Path) -> None:
    """The checks of the reference readers on a batch from the fast parser: TreeFormatError for an
    infinite branch length or a negative or non-finite ``[&W]`` weight, TaxonMismatchError for other taxa."""
    infinite = np.isinf(batch.branch_length)
    if np.any(infinite):
        tree = int(np.searchsorted(batch.node_offsets, int(np.argmax(infinite)), side="right")) - 1
        raise TreeFormatError("bad branch length: not a finite number", path, int(batch.lines[tree]))
    bad = ~(np.isfinite(batch.weight) & (batch.weight >= 0))
    if np.any(bad):
        raise TreeFormatError("bad tree weight: not a finite non-negative number", path,
                              int(batch.lines[int(np.argmax(bad))]))
    if reference is None or len(batch) == 0:
        return
    leaf_sets = batch.leaf_sets
    if leaf_sets.shape[1] == len(reference) and np.all(leaf_sets == reference):
        return
    for i in range(len(batch)):
        _check_leaf_set(batch.tree(i), reference, path, int(batch.lines[i]))


def _padded(bits: np.ndarray, size: int) -> np.ndarray:
    out = np.zeros(max(size, len(bits)), dtype=np.uint64)
    out[: len(bits)] = bits
    return out


def _check_leaf_set(tree: Tree, reference: np.ndarray | None, path: Path, line: int | None = None) -> None:
    """TaxonMismatchError when ``tree`` does not hold exactly the taxa of ``reference``."""
    if reference is None:
        return
    have = tree.leaf_set
    if len(have) == len(reference) and np.array_equal(have, reference):
        return
    size = max(len(have), len(reference))
    have_set = set(bitset_indices(_padded(have, size)))
    want_set = set(bitset_indices(_padded(reference, size)))
    if have_set == want_set:
        return
    where = f"{path}, line {line}" if line else str(path)
    name = f"tree {tree.name}" if tree.name else "the tree"
    difference = describe_taxon_difference([tree.taxa[i] for i in have_set], [tree.taxa[i] for i in want_set],
                                           have_name=name, want_name="the first tree of the sample")
    raise TaxonMismatchError(f"{where}: {name} has taxa that differ from the first tree of the sample "
                             f"({difference})")


@dataclass
class TreeSample:
    """Trees of one or more runs (one :class:`TreeRun` per file) over one taxon namespace.

    Iterating the sample streams the kept trees of every run in file order; ``runs`` gives
    them per run (for split tables and ASDSF across runs).
    """

    runs: list[TreeRun]
    taxa: TaxonNamespace

    def __len__(self) -> int:
        return sum(len(run) for run in self.runs)

    @property
    def n_kept(self) -> int:
        return len(self)

    @property
    def n_trees(self) -> int:
        """Trees read from the files, burn-in included."""
        return sum(run.n_trees for run in self.runs)

    @property
    def n_burnin(self) -> int:
        return sum(run.n_burnin for run in self.runs)

    def __iter__(self) -> Iterator[Tree]:
        return itertools.chain.from_iterable(self.runs)

    def batches(self, batch_size: int = 4096) -> Iterator[TreeBatch]:
        """The kept trees of every run, in file order, as :class:`TreeBatch` arrays."""
        return itertools.chain.from_iterable(run.batches(batch_size) for run in self.runs)


def _as_paths(paths: PathLike | Iterable[PathLike]) -> list[Path]:
    if isinstance(paths, (str, os.PathLike)):
        return [Path(paths)]
    try:
        found = [Path(path) for path in paths]
    except TypeError:
        raise PhyloVIError(f"expected a path or a sequence of paths, got {paths!r}") from None
    if not found:
        raise EmptyInputError("no tree file given")
    return found


def _check_options(burnin: float, n_burnin: int | None, thin: int, format: str) -> None:
    if not (isinstance(burnin, numbers.Real) and 0.0 <= burnin < 1.0):
        raise PhyloVIError(f"burnin must be a fraction in [0, 1), got {burnin!r}")
    if n_burnin is not None and not (isinstance(n_burnin, numbers.Integral) and n_burnin >= 0):
        raise PhyloVIError(f"n_burnin must be a non-negative integer, got {n_burnin!r}")
    if not (isinstance(thin, numbers.Integral) and thin >= 1):
        raise PhyloVIError(f"thin must be a positive integer, got {thin!r}")
    if format != "auto" and format not in TREE_FORMATS:
        raise PhyloVIError(f"unknown tree format {format!r}; choose auto or one of {', '.join(TREE_FORMATS)}")


def count_file_trees(path: Path, format: str) -> int:
    """Number of trees in ``path`` (of a resolved format), counted without parsing them."""
    if format in TABLE_FORMATS:
        return count_table_trees(path, format)
    if format == "revbayes":
        return max(0, count_trees(path, format) - count_version_lines(path))
    return count_trees(path, format)


def _burnin_and_thin(format: str, n_trees: int, burnin: float, n_burnin: int | None, thin: int,
                     chain: bool | None) -> tuple[int, int, bool]:
    """``(trees dropped at the start, thinning step, whether options asked to drop trees from a non-chain)``."""
    n_burnin = n_burnin if n_burnin is not None else math.floor(burnin * n_trees)
    n_burnin = min(int(n_burnin), n_trees)
    if chain if chain is not None else is_chain(format):
        return n_burnin, int(thin), False
    return 0, 1, n_burnin > 0 or thin > 1


def _warn_skipped(skipped: list[TreeRun]) -> None:
    """One :class:`BurninSkippedWarning` naming every file read whole though burn-in or thinning was asked."""
    if not skipped:
        return
    files = "; ".join(f"{run.path} ({run.format}, {run.n_trees} trees)" for run in skipped)
    warnings.warn(f"burn-in and thinning apply to MCMC chains only (MrBayes .t, BEAST .trees, RevBayes traces); "
                  f"read whole: {files}", BurninSkippedWarning, stacklevel=3)


def read_trees(paths: PathLike | Sequence[PathLike], *, format: str = "auto", burnin: float = 0.25,
               n_burnin: int | None = None, thin: int = 1, taxa: TaxonNamespace | None = None,
               rooted: bool | None = None, keep_annotations: bool = False, chain: bool | None = None,
               burnin_trees: int | None = None) -> TreeSample:
    """Open tree files as one :class:`TreeSample` (see the module docstring for the rules).

    Parameters
    ----------
    paths : one path or a sequence of paths, one per run.
    format : ``"auto"`` (detected from each file's content, :mod:`phylo_vi.io.detect`) or one
        of :data:`~phylo_vi.io.detect.TREE_FORMATS`.
    burnin : fraction of each chain's trees discarded at its start (default 0.25, as MrBayes).
    n_burnin : number of trees discarded at the start of each chain; overrides ``burnin``.
    thin : keep every ``thin``-th tree of each chain after the burn-in.
    taxa : namespace to share (for example one already used for an alignment); new names
        are appended to it. A new namespace when None.
    rooted : force every tree rooted (True) or unrooted (False); None honours ``[&R]`` /
        ``[&U]`` and the format's default.
    keep_annotations : keep ``[&…]`` node comments in ``Tree.annotations``.
    chain : whether burn-in and thinning apply: None (default) for the chain formats only
        (a :class:`BurninSkippedWarning` when they would have dropped trees from another
        file), True for every file, False for none.
    burnin_trees : deprecated spelling of ``n_burnin`` (DeprecationWarning; removed in the next release).

    The files are counted (not parsed) and the first tree of each is parsed here, so format
    errors in headers and an empty result surface at once; the trees themselves are parsed
    while the sample is iterated.
    """
    n_burnin = renamed("read_trees", "burnin_trees", "n_burnin", burnin_trees, n_burnin)
    _check_options(burnin, n_burnin, thin, format)
    taxa = TaxonNamespace() if taxa is None else taxa
    runs: list[TreeRun] = []
    skipped: list[TreeRun] = []
    leaf_set: np.ndarray | None = None
    for path in map(require_file, _as_paths(paths)):
        fmt = detect_format(path) if format == "auto" else format
        n_trees = count_file_trees(path, fmt)
        if n_trees == 0:
            raise EmptyInputError("no tree found", path)
        n_discarded, step, skips = _burnin_and_thin(fmt, n_trees, burnin, n_burnin, thin, chain)
        run = TreeRun(path, fmt, n_trees, n_discarded, step, taxa, rooted=rooted, keep_annotations=keep_annotations)
        if skips:
            skipped.append(run)
        first_trees = run._read(lambda index: index == 0)
        _, _, first = next(first_trees)
        first_trees.close()
        leaf_set = first.leaf_set.copy() if leaf_set is None else leaf_set
        _check_leaf_set(first, leaf_set, path)
        runs.append(run)
    _warn_skipped(skipped)
    sample = TreeSample(runs, taxa)
    reference = _padded(leaf_set, n_words(len(taxa)))
    for run in runs:
        run.leaf_set = reference
    if len(sample) == 0:
        raise EmptyInputError(f"no tree left after a burn-in of {sample.n_burnin} of {sample.n_trees} trees",
                              runs[0].path if len(runs) == 1 else None)
    return sample
