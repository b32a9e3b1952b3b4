r"""RevBayes tree traces (``mnFile`` / ``mnStochasticVariable`` output holding a tree).

Grammar accepted (one sample per line, fields separated by tabs)::

    file     := version* header "\n" (sample "\n")*
    version  := "#" any characters "\n"        the optional version note of RevBayes file monitors
    header   := "Iteration" ("\t" column)*     e.g. Iteration  Posterior  Likelihood  Prior  psi
    sample   := field ("\t" field)*             one field per column
    tree     := the field of the Newick column: newick [";"]

Quirks tolerated:

- the tree column is detected, as RWTY does: it is the first field of the first sample that
  starts with ``(`` (or with a ``[&…]`` comment) and parses as Newick;
- the Newick string may carry comments anywhere, e.g. ``(…)[&index=102];`` at its end or
  ``[&index=3]`` after every label (RevBayes node indices), and may lack the final ``;``;
- blank lines are skipped; a tree's ``name`` is the value of the first column (the iteration);
- rooting: ``[&R]`` / ``[&U]`` when present; otherwise a tree is rooted when its root has two
  children (RevBayes writes time trees with a bifurcating root and unrooted trees with a
  trifurcating one); the ``rooted`` argument overrides both.

Errors (a sample without the tree column, a malformed tree) raise
:class:`~phylo_vi.errors.TreeFormatError` naming file and line; zero trees raise
:class:`~phylo_vi.errors.EmptyInputError`.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterator

from phylo_vi.errors import EmptyInputError, TreeFormatError
from phylo_vi.io.newick import parse_newick
from phylo_vi.io.text import require_file
from phylo_vi.trees.taxa import TaxonNamespace
from phylo_vi.trees.tree import Tree


def _tree_text(field: str) -> str:
    text = field.strip()
    return text if text.endswith(";") else text + ";"


def _find_tree_column(fields: list[str], path, line: int) -> int:
    for column, field in enumerate(fields):
        text = field.strip()
        if not text.startswith(("(", "[")):
            continue
        try:
            parse_newick(_tree_text(text), TaxonNamespace(), path=path, line=line)
        except TreeFormatError:
            continue
        return column
    raise TreeFormatError("no column of this sample holds a Newick tree", path, line)


def read_revbayes_trees(path: str | Path, taxa: TaxonNamespace | None = None, *, rooted: bool | None = None,
                        keep_annotations: bool = False, keep: Callable[[int], bool] | None = None) -> Iterator[Tree]:
    """Stream the trees of a RevBayes tree trace (see the module grammar).

    ``keep(i)`` (0-based sample index) selects the trees to parse; the others are skipped.
    """
    taxa = TaxonNamespace() if taxa is None else taxa
    for _, _, tree in iter_revbayes_trees(path, taxa, rooted=rooted, keep_annotations=keep_annotations, keep=keep):
        if tree is not None:
            yield tree


def iter_revbayes_trees(path: str | Path, taxa: TaxonNamespace, *, rooted: bool | None = None,
                        keep_annotations: bool = False,
                        keep: Callable[[int], bool] | None = None) -> Iterator[tuple[int, int, Tree | None]]:
    """``(index, line, tree)`` per sample of a RevBayes trace; ``tree`` is None where ``keep(index)`` is False."""
    column: int | None = None
    n_columns = 0
    n_trees = 0
    with open(require_file(path), encoding="utf-8-sig", errors="replace") as handle:
        for number, text in enumerate(handle, start=1):
            if not text.strip() or (n_columns == 0 and text.startswith("#")):
                continue
            fields = text.rstrip("\r\n").split("\t")
            if n_columns == 0:
                if fields[0].strip() != "Iteration":
                    raise TreeFormatError("a RevBayes trace starts with an 'Iteration<TAB>…' header line", path,
                                          number)
                n_columns = len(fields)
                continue
            if column is None:
                column = _find_tree_column(fields, path, number)
            if len(fields) <= column:
                raise TreeFormatError(f"{len(fields)} fields where the tree is in column {column + 1}", path, number)
            index = n_trees
            n_trees += 1
            if keep is not None and not keep(index):
                yield index, number, None
                continue
            newick = _tree_text(fields[column])
            stripped = newick.lstrip()
            is_rooted = rooted
            if is_rooted is None and stripped[:4].upper() in ("[&R]", "[&U]"):
                is_rooted = stripped[2].upper() == "R"
            tree = parse_newick(newick, taxa, rooted=bool(is_rooted), name=fields[0].strip(),
                                keep_annotations=keep_annotations, path=path, line=number)
            if is_rooted is None:
                tree.rooted = bool(tree.n_children[tree.root] == 2)
            yield index, number, tree
    if n_trees == 0:
        raise EmptyInputError("no tree found in the RevBayes trace", path)


def count_version_lines(path: str | Path) -> int:
    """Number of non-blank ``#`` lines before the header (RevBayes' optional version note)."""
    count = 0
    with open(path, encoding="utf-8-sig", errors="replace") as handle:
        for text in handle:
            if not text.strip():
                continue
            if not text.startswith("#"):
                return count
            count += 1
    return count
