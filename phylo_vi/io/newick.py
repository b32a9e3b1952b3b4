r"""Newick trees: :func:`parse_newick` and :func:`read_newick` read them, :func:`format_newick` writes one.

Grammar accepted (one tree per statement; whitespace between tokens is ignored)::

    tree       := comment* subtree comment* ";"
    subtree    := leaf | internal
    leaf       := label comment* [":" comment* length comment*]
    internal   := "(" subtree ("," subtree)* ")" [label] comment* [":" comment* length comment*]
    label      := unquoted | quoted
    unquoted   := one or more characters other than whitespace and ( ) [ ] ' , : ;
    quoted     := "'" (any character, with '' standing for one quote)* "'"
    comment    := "[" any characters but "]" "]"
    length     := a decimal or scientific-notation number

Quirks tolerated:

- ``[&...]`` annotations before the colon (BEAST 2: ``1[&rate=0.9]:0.1``) or after it (BEAST 1:
  ``1:[&rate=1.0]48.05``), and braces inside them (``{0.1,0.2}``); kept with ``keep_annotations``.
- Missing branch lengths (NaN), internal-node labels such as support values (ignored), a
  length on the root (``…):0.0;``, kept on the root node).
- A leading ``[&R]`` / ``[&U]`` comment says whether the tree is rooted (:func:`read_newick`);
  without one a tree is unrooted unless the caller says otherwise.
- Underscores are kept as they are (no ``_`` → space conversion); quotes are stripped.
- A leaf label can be a TRANSLATE token or, when the translate table does not hold it, the
  taxon name itself (translate present but unused).

Errors (unbalanced parentheses, a missing ``;``, an unknown taxon, a duplicated taxon, an empty
subtree, a bad length: not a number, or not finite such as ``nan``, ``inf`` or ``1e999``) raise
:class:`~phylo_vi.errors.TreeFormatError` naming file and line.
"""
from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Callable, Iterable, Iterator, Mapping

import numpy as np

from phylo_vi.errors import EmptyInputError, TreeFormatError
from phylo_vi.io.statements import iter_statements
from phylo_vi.trees.taxa import TaxonNamespace
from phylo_vi.trees.tree import Tree

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<punct>[(),:;])
      | (?P<quoted>'(?:[^']|'')*')
      | (?P<comment>\[[^\]]*\])
      | (?P<word>[^\s()\[\]',:;]+)
      | (?P<bad>\S)
    )""",
    re.VERBOSE,
)
_NEEDS_QUOTES = re.compile(r"[\s()\[\]',:;]")


def format_label(name: str) -> str:
    """A taxon name as a Newick label: quoted (with ``''`` for ``'``) only when it must be."""
    if name and not _NEEDS_QUOTES.search(name):
        return name
    return "'" + name.replace("'", "''") + "'"


def format_newick(tree: Tree, *, lengths: bool = True, names: bool = True) -> str:
    """The Newick string of ``tree`` (the writer's half of the module grammar).

    Lengths are written with ``repr`` precision, so they read back exactly; a NaN length is
    omitted. ``names=False`` writes taxon indices plus one (TRANSLATE tokens) instead of names.
    A rooted tree starts with ``[&R]``.
    """
    text: list[str] = [""] * tree.n_nodes
    offsets, child_nodes = tree.child_offsets, tree.child_nodes
    for node in range(tree.n_nodes):
        t = int(tree.taxon[node])
        if t >= 0:
            piece = format_label(tree.taxa[t]) if names else str(t + 1)
        else:
            children = child_nodes[offsets[node]:offsets[node + 1]]
            piece = "(" + ",".join(text[c] for c in children) + ")"
            for c in children:
                text[c] = ""
        length = tree.branch_length[node]
        if lengths and node != tree.root and not np.isnan(length):
            piece += f":{float(length)!r}"
        text[node] = piece
    return ("[&R] " if tree.rooted else "") + text[tree.root] + ";"


def _tokens(text: str, path, line) -> Iterator[tuple[str, str]]:
    position, end = 0, len(text)
    while position < end:
        match = _TOKEN.match(text, position)
        if match is None:
            break
        position = match.end()
        kind = match.lastgroup
        if kind is None:
            break
        value = match.group(kind)
        if kind == "bad":
            if value == "'":
                raise TreeFormatError("unterminated quoted label", path, line)
            if value == "[":
                raise TreeFormatError("unterminated comment '['", path, line)
            raise TreeFormatError(f"unexpected character {value!r}", path, line)
        yield kind, value


def parse_newick(
    text: str,
    taxa: TaxonNamespace,
    *,
    translate: Mapping[str, str] | None = None,
    add_taxa: bool = True,
    rooted: bool = False,
    name: str | None = None,
    weight: float = 1.0,
    keep_annotations: bool = False,
    path: str | Path | None = None,
    line: int | None = None,
) -> Tree:
    """Parse one Newick tree (see the module grammar) into a post-order :class:`Tree`.

    Leaf labels are looked up in ``translate`` first, then used as taxon names. New names are
    appended to ``taxa`` when ``add_taxa``; otherwise an unknown label is an error.
    """
    parent: list[int] = []
    length: list[float] = []
    taxon: list[int] = []
    annotations: dict[int, str] = {}
    open_children: list[list[int]] = [[]]
    expect_subtree = True
    current = -1
    labelled = False
    finished = False
    tokens = _tokens(text, path, line)
    for kind, value in tokens:
        if finished:
            if kind == "comment":
                continue
            raise TreeFormatError(f"text after the closing ';': {value!r}", path, line)
        if expect_subtree:
            if kind == "comment":
                continue
            if value == "(" and kind == "punct":
                open_children.append([])
                continue
            if kind in ("word", "quoted"):
                label = value[1:-1].replace("''", "'") if kind == "quoted" else value
                current = len(parent)
                parent.append(-1)
                length.append(np.nan)
                taxon.append(_taxon_index(label, taxa, translate, add_taxa, path, line))
                expect_subtree, labelled = False, True
                continue
            what = "an empty subtree" if value in ",);" else f"unexpected {value!r}"
            raise TreeFormatError(f"{what} where a taxon or '(' was expected", path, line)
        if kind == "comment":
            if keep_annotations and value.startswith("[&"):
                annotations[current] = annotations.get(current, "") + value
            continue
        if kind in ("word", "quoted"):
            if labelled:
                raise TreeFormatError(f"unexpected label {value!r} (missing ',' or ':'?)", path, line)
            labelled = True
            continue
        if value == ":":
            length[current] = _read_length(tokens, annotations if keep_annotations else None, current, path, line)
            labelled = True
            continue
        if value == ",":
            if len(open_children) == 1:
                raise TreeFormatError("',' outside parentheses (unbalanced parentheses)", path, line)
            open_children[-1].append(current)
            expect_subtree = True
        elif value == ")":
            open_children[-1].append(current)
            children = open_children.pop()
            if not open_children:
                raise TreeFormatError("unbalanced parentheses: too many ')'", path, line)
            current = len(parent)
            parent.append(-1)
            length.append(np.nan)
            taxon.append(-1)
            for child in children:
                parent[child] = current
            labelled = False
        elif value == ";":
            if len(open_children) != 1:
                raise TreeFormatError(f"unbalanced parentheses: {len(open_children) - 1} '(' not closed", path, line)
            finished = True
        elif value == "(":
            raise TreeFormatError("unexpected '(' after a subtree (missing ','?)", path, line)
    if not finished:
        if not parent:
            raise TreeFormatError("empty tree", path, line)
        if len(open_children) != 1:
            raise TreeFormatError(f"unbalanced parentheses: {len(open_children) - 1} '(' not closed", path, line)
        raise TreeFormatError("missing ';' at the end of the tree", path, line)
    taxon_array = np.asarray(taxon, dtype=np.int32)
    leaves = taxon_array[taxon_array >= 0]
    if len(np.unique(leaves)) != len(leaves):
        counts = np.bincount(leaves)
        raise TreeFormatError(f"taxon {taxa[int(np.argmax(counts))]!r} appears more than once", path, line)
    return Tree(np.asarray(parent), np.asarray(length), taxon_array, taxa, rooted=rooted, name=name,
                weight=weight, annotations=annotations)


def _taxon_index(label: str, taxa: TaxonNamespace, translate, add_taxa: bool, path, line) -> int:
    if translate is not None:
        label = translate.get(label, label)
    index = taxa.get(label)
    if index is not None:
        return index
    if not add_taxa:
        what = "translate token or taxon" if translate else "taxon"
        raise TreeFormatError(f"unknown {what} {label!r}", path, line)
    return taxa.add(label)


def _read_length(tokens, annotations, node: int, path, line) -> float:
    for kind, value in tokens:
        if kind == "comment":
            if annotations is not None and value.startswith("[&"):
                annotations[node] = annotations.get(node, "") + value
            continue
        if kind == "word":
            try:
                length = float(value)
            except ValueError:
                raise TreeFormatError(f"bad branch length {value!r}", path, line) from None
            if not math.isfinite(length):
                shown = value if len(value) <= 30 else value[:27] + "..."
                raise TreeFormatError(f"bad branch length {shown!r}: not a finite number", path, line)
            return length
        raise TreeFormatError(f"a branch length was expected after ':', found {value!r}", path, line)
    raise TreeFormatError("a branch length was expected after ':'", path, line)


def statement_rooting(text: str, rooted: bool | None, default_rooted: bool) -> bool:
    """Rooting of a Newick statement: ``rooted`` if given, else a leading ``[&R]`` / ``[&U]``, else the default."""
    if rooted is not None:
        return rooted
    stripped = text.lstrip()
    if stripped[:4].upper() in ("[&R]", "[&U]"):
        return stripped[2].upper() == "R"
    return default_rooted


def iter_newick_statements(statements: Iterable, taxa: TaxonNamespace, path, *, rooted: bool | None = None,
                           default_rooted: bool = False, keep_annotations: bool = False,
                           keep: Callable[[int], bool] | None = None,
                           first_index: int = 0) -> Iterator[tuple[int, int, Tree | None]]:
    """``(index, line, tree)`` per statement; ``tree`` is None where ``keep(index)`` is False."""
    index = first_index
    for statement in statements:
        if not statement.terminated:
            raise TreeFormatError("missing ';' at the end of the tree", path, statement.line)
        if keep is not None and not keep(index):
            yield index, statement.line, None
        else:
            yield index, statement.line, parse_newick(statement.text + ";", taxa,
                                      rooted=statement_rooting(statement.text, rooted, default_rooted),
                                      keep_annotations=keep_annotations, path=path, line=statement.line)
        index += 1


def iter_newick_file(path: str | Path, taxa: TaxonNamespace, *, rooted: bool | None = None,
                     default_rooted: bool = False, keep_annotations: bool = False,
                     keep: Callable[[int], bool] | None = None) -> Iterator[tuple[int, int, Tree | None]]:
    """``(index, line, tree)`` per tree of a Newick file (see :func:`read_newick`); EmptyInputError for none."""
    n_trees = 0
    for item in iter_newick_statements(iter_statements(path), taxa, path, rooted=rooted, default_rooted=default_rooted,
                                       keep_annotations=keep_annotations, keep=keep):
        n_trees += 1
        yield item
    if n_trees == 0:
        raise EmptyInputError("no tree found", path)


def read_newick(path: str | Path, taxa: TaxonNamespace | None = None, *, rooted: bool | None = None,
                default_rooted: bool = False, keep_annotations: bool = False,
                keep: Callable[[int], bool] | None = None) -> Iterator[Tree]:
    """Stream the trees of a Newick file (one or more trees, each ending with ``;``).

    A tree is rooted when ``rooted`` says so; when ``rooted`` is None a leading ``[&R]`` or
    ``[&U]`` decides, and ``default_rooted`` applies to trees with neither. ``keep(i)``
    (0-based tree index) selects the trees to parse; the others are skipped unparsed.
    """
    taxa = TaxonNamespace() if taxa is None else taxa
    for _, _, tree in iter_newick_file(path, taxa, rooted=rooted, default_rooted=default_rooted,
                                       keep_annotations=keep_annotations, keep=keep):
        if tree is not None:
            yield tree
