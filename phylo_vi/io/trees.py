"""Reading tree samples: format detection, burn-in, thinning, several runs, one taxon namespace.

:func:`read_trees` is the entry point for every tree file phylo_vi reads (MrBayes ``.t`` and
``.trprobs``, BEAST 1/2 ``.trees``, RevBayes traces, NEXUS, Newick). It returns a
:class:`TreeSample`: one :class:`TreeRun` per file, all sharing one
:class:`~phylo_vi.trees.TaxonNamespace`. Nothing is held in memory but the tree being read:
iterating a run re-reads its file, so memory does not grow with the number of trees.

Burn-in follows MrBayes (``relburnin=yes burninfrac=0.25``): ``floor(burnin * n_trees)`` trees
are discarded at the start of *each* file, which needs ``n_trees`` first; it is counted by a
byte scanner (:mod:`phylo_vi.io.counting`) without parsing. ``burnin_trees`` discards a fixed
number instead. Thinning keeps every ``thin``-th tree after the burn-in, the first one
included. A MrBayes ``.trprobs`` file is a weighted summary, not a chain: neither burn-in nor
thinning applies to it.

Rooting, unless ``rooted`` forces it: ``[&R]`` / ``[&U]`` comments, else the format's default
(MrBayes, NEXUS, Newick: unrooted; BEAST: rooted; RevBayes: rooted when the root has two
children), see :mod:`phylo_vi.io.detect`.

Every tree of a sample must hold the same taxa (TaxonMismatchError otherwise, naming file and
line); reading no tree, or keeping none, raises EmptyInputError.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

import numpy as np

from phylo_vi.errors import EmptyInputError, PhyloVIError, TaxonMismatchError
from phylo_vi.io.beast import read_beast_trees
from phylo_vi.io.counting import count_trees
from phylo_vi.io.detect import TREE_FORMATS, detect_format
from phylo_vi.io.mrbayes import read_mrbayes_trees
from phylo_vi.io.newick import read_newick
from phylo_vi.io.nexus import read_nexus_trees
from phylo_vi.io.revbayes import read_revbayes_trees
from phylo_vi.io.tree_batches import TreeBatch, iter_tree_batches
from phylo_vi.trees.bitset import bitset_indices, n_words
from phylo_vi.trees.taxa import TaxonNamespace
from phylo_vi.trees.tree import Tree

PathLike = str | Path


def _reader(format: str) -> Callable[..., Iterator[Tree]]:
    if format in ("mrbayes", "trprobs"):
        return read_mrbayes_trees
    if format == "beast":
        return read_beast_trees
    if format == "nexus":
        return read_nexus_trees
    if format == "revbayes":
        return read_revbayes_trees
    return read_newick


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

    def _read(self, keep: Callable[[int], bool] | None) -> Iterator[Tree]:
        reader = _reader(self.format)
        return reader(self.path, self.taxa, rooted=self.rooted, keep_annotations=self.keep_annotations, keep=keep)

    def __iter__(self) -> Iterator[Tree]:
        if self.keep_annotations:
            for tree in self._read(self.keeps):
                _check_leaf_set(tree, self.leaf_set, self.path)
                yield tree
            return
        for batch in self.batches():
            yield from batch

    def batches(self, batch_size: int = 4096) -> Iterator[TreeBatch]:
        """The kept trees as :class:`~phylo_vi.io.tree_batches.TreeBatch` arrays (fast path, no annotations)."""
        for batch in iter_tree_batches(self.path, format=self.format, taxa=self.taxa, rooted=self.rooted,
                                       n_burnin=self.n_burnin, thin=self.thin, batch_size=batch_size):
            _check_batch_leaf_sets(batch, self.leaf_set, self.path)
            yield batch


def _check_batch_leaf_sets(batch: TreeBatch, reference: np.ndarray | None, path: Path) -> None:
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
    extra = sorted(tree.taxa[i] for i in have_set - want_set)
    missing = sorted(tree.taxa[i] for i in want_set - have_set)
    where = f"{path}, line {line}" if line else str(path)
    name = f"tree {tree.name}" if tree.name else "a tree"
    raise TaxonMismatchError(f"{where}: {name} has taxa that differ from the first tree of the sample "
                             f"(extra: {extra}; missing: {missing})")


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
    if isinstance(paths, (str, Path)):
        return [Path(paths)]
    found = [Path(path) for path in paths]
    if not found:
        raise EmptyInputError("no tree file given")
    return found


def _check_options(burnin: float, burnin_trees: int | None, thin: int, format: str) -> None:
    if not 0.0 <= burnin < 1.0:
        raise PhyloVIError(f"burnin must be a fraction in [0, 1), got {burnin}")
    if burnin_trees is not None and (int(burnin_trees) != burnin_trees or burnin_trees < 0):
        raise PhyloVIError(f"burnin_trees must be a non-negative integer, got {burnin_trees}")
    if int(thin) != thin or thin < 1:
        raise PhyloVIError(f"thin must be a positive integer, got {thin}")
    if format != "auto" and format not in TREE_FORMATS:
        raise PhyloVIError(f"unknown tree format {format!r}; choose auto or one of {', '.join(TREE_FORMATS)}")


def read_trees(paths: PathLike | Sequence[PathLike], *, format: str = "auto", burnin: float = 0.25,
               burnin_trees: int | None = None, thin: int = 1, taxa: TaxonNamespace | None = None,
               rooted: bool | None = None, keep_annotations: bool = False) -> TreeSample:
    """Open tree files as one :class:`TreeSample` (see the module docstring for the rules).

    Parameters
    ----------
    paths : one path or a sequence of paths, one per run.
    format : ``"auto"`` (detected from each file's content) or one of
        ``mrbayes, trprobs, beast, nexus, revbayes, newick``.
    burnin : fraction of each file's trees discarded at its start (default 0.25, as MrBayes).
    burnin_trees : number of trees discarded at the start of each file; overrides ``burnin``.
    thin : keep every ``thin``-th tree after the burn-in.
    taxa : namespace to share (for example one already used for an alignment); new names
        are appended to it. A new namespace when None.
    rooted : force every tree rooted (True) or unrooted (False); None honours ``[&R]`` /
        ``[&U]`` and the format's default.
    keep_annotations : keep ``[&…]`` node comments in ``Tree.annotations``.

    The files are counted (not parsed) and the first tree of each is parsed here, so format
    errors in headers and an empty result surface at once; the trees themselves are parsed
    while the sample is iterated.
    """
    _check_options(burnin, burnin_trees, thin, format)
    taxa = TaxonNamespace() if taxa is None else taxa
    runs: list[TreeRun] = []
    leaf_set: np.ndarray | None = None
    for path in _as_paths(paths):
        if not path.is_file():
            raise EmptyInputError("no such file", path)
        fmt = detect_format(path) if format == "auto" else format
        n_trees = count_trees(path, fmt)
        if n_trees == 0:
            raise EmptyInputError("no tree found", path)
        summary = fmt == "trprobs"
        n_burnin = 0 if summary else (burnin_trees if burnin_trees is not None else math.floor(burnin * n_trees))
        run = TreeRun(path, fmt, n_trees, min(int(n_burnin), n_trees), 1 if summary else int(thin), taxa,
                      rooted=rooted, keep_annotations=keep_annotations)
        first_trees = run._read(lambda index: index == 0)
        first = next(first_trees)
        first_trees.close()
        leaf_set = first.leaf_set.copy() if leaf_set is None else leaf_set
        _check_leaf_set(first, leaf_set, path)
        runs.append(run)
    sample = TreeSample(runs, taxa)
    reference = _padded(leaf_set, n_words(len(taxa)))
    for run in runs:
        run.leaf_set = reference
    if len(sample) == 0:
        raise EmptyInputError(f"no tree left after a burn-in of {sample.n_burnin} of {sample.n_trees} trees",
                              runs[0].path if len(runs) == 1 else None)
    return sample
