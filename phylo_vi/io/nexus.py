r"""NEXUS tree files: TAXA, TRANSLATE and TREES blocks (MrBayes ``.t`` and ``.trprobs``, BEAST 1 and 2).

Grammar accepted (statements end with ``;`` outside quotes and comments; keywords are
case-insensitive; other blocks such as DATA or MRBAYES are skipped)::

    file        := "#NEXUS" block*
    block       := "begin" NAME ";" statement* ("end" | "endblock") ";"
    taxa block  := ["dimensions ntax=N;"]  "taxlabels" label+ ";"
    trees block := ["translate" entry ("," entry)* ";"]  tree*
    entry       := token label
    tree        := ("tree" | "utree") ["*"] label comment* "=" comment* newick ";"

Quirks tolerated:

- the translate ``;`` on the last entry's line (MrBayes) or on a line of its own (BEAST 2);
- a translate block present but unused (trees written with full names);
- ``[&U]`` / ``[&R]`` rooting comments (otherwise the reader's default), ``[&W w]`` or
  ``[&W m/n]`` tree weights (MrBayes ``.trprobs``), ``[p = …, P = …]`` comments whose ``=``
  does not split the statement, ``[&lnP=…]`` tree comments before the ``=`` (BEAST 1), and
  ``[&B name]`` / ``[&E name]`` branch-rate comments (MrBayes relaxed clocks);
- a file without the closing ``end;`` (an MCMC run still in progress) is read to its last
  complete tree with an :class:`IncompleteFileWarning`; a truncated last tree is an error
  naming its line;
- comments spanning lines, such as the header note of a ``.trprobs`` file.

Errors: a translate token defined twice, a taxon listed twice (TAXLABELS or TRANSLATE), a
translate name missing from the TAXA block, and every Newick error of a tree raise
:class:`~phylo_vi.errors.TreeFormatError` naming file and line. Reading zero trees raises
:class:`~phylo_vi.errors.EmptyInputError`.
"""
from __future__ import annotations

import math
import re
import warnings
from pathlib import Path
from typing import Callable, Iterable, Iterator, NamedTuple

from phylo_vi.errors import EmptyInputError, TreeFormatError
from phylo_vi.io.newick import parse_newick
from phylo_vi.io.statements import Statement, iter_statements
from phylo_vi.trees.taxa import TaxonNamespace
from phylo_vi.trees.tree import Tree

_WEIGHT = re.compile(r"\[&W\s+([^\]\s]+)\s*\]", re.IGNORECASE)
_ROOTING = re.compile(r"\[&([RU])\]", re.IGNORECASE)
_COMMENT = re.compile(r"\[[^\]]*\]")
_TRANSLATE_ENTRY = re.compile(r"\s*(?P<token>'(?:[^']|'')*'|[^\s,]+)\s+(?P<label>'(?:[^']|'')*'|[^\s,]+)\s*")
_LEADING_COMMENTS = re.compile(r"^\s*(?:\[[^\]]*\]\s*)*")
_TREE_KEYWORDS = ("tree", "utree")


class IncompleteFileWarning(UserWarning):
    """A NEXUS file ended inside a block (for example a MrBayes run still in progress)."""


class TreeStatement(NamedTuple):
    """A ``tree`` statement split at its ``=``: the tree is parsed only when it is kept."""

    name: str
    rooted: bool
    weight: float
    body: str
    line: int


def _is_tree_keyword(head: str) -> bool:
    """Whether lower-cased statement text starts with the ``tree`` or ``utree`` keyword."""
    return (head.startswith("tree") and head[4:5].isspace()) or (head.startswith("utree") and head[5:6].isspace())


def _unquote(label: str) -> str:
    return label[1:-1].replace("''", "'") if len(label) >= 2 and label[0] == label[-1] == "'" else label


def _strip_comments(text: str) -> str:
    return _COMMENT.sub("", text)


def _split_tree_statement(text: str, path, line) -> tuple[str, str, str]:
    """``tree NAME [comments] = body``: return (name, comments before '=', body)."""
    depth, quoted = 0, False
    for position, char in enumerate(text):
        if quoted:
            quoted = char != "'"
        elif char == "'":
            quoted = True
        elif char == "[":
            depth += 1
        elif char == "]":
            depth -= 1
        elif char == "=" and depth == 0:
            head = text[:position].strip()
            parts = head.split(None, 1)
            if len(parts) < 2:
                raise TreeFormatError("tree statement without a name", path, line)
            name_and_comments = parts[1]
            bare = _strip_comments(name_and_comments).strip().lstrip("*").strip()
            return _unquote(bare), name_and_comments, text[position + 1:]
    raise TreeFormatError("tree statement without '='", path, line)


def parse_weight(text: str, path=None, line=None) -> float | None:
    """Value of a ``[&W w]`` or ``[&W m/n]`` comment in ``text`` (None when there is none)."""
    match = _WEIGHT.search(text)
    if match is None:
        return None
    value = match.group(1)
    try:
        if "/" in value:
            numerator, denominator = value.split("/")
            weight = float(numerator) / float(denominator)
        else:
            weight = float(value)
    except (ValueError, ZeroDivisionError):
        raise TreeFormatError(f"bad tree weight [&W {value}]", path, line) from None
    if not (math.isfinite(weight) and weight >= 0):
        raise TreeFormatError(f"bad tree weight [&W {value}]: not a finite non-negative number", path, line)
    return weight


def _parse_translate(text: str, taxa: TaxonNamespace, taxa_block: set[str] | None, path, line) -> dict[str, str]:
    translate: dict[str, str] = {}
    labels: set[str] = set()
    body = _strip_comments(text).strip()[len("translate"):]
    for entry in body.split(","):
        if not entry.strip():
            raise TreeFormatError("empty translate entry (stray ',')", path, line)
        match = _TRANSLATE_ENTRY.fullmatch(entry)
        if match is None:
            raise TreeFormatError(f"bad translate entry {entry.strip()!r} (expected 'token name')", path, line)
        token, label = _unquote(match.group("token")), _unquote(match.group("label"))
        if token in translate:
            raise TreeFormatError(f"translate token {token!r} defined twice", path, line)
        if label in labels:
            raise TreeFormatError(f"taxon {label!r} appears twice in the translate block", path, line)
        if taxa_block is not None and label not in taxa_block:
            raise TreeFormatError(f"translate names {label!r}, which is not in the TAXA block", path, line)
        labels.add(label)
        taxa.add(label)
        translate[token] = label
    return translate


def _parse_taxlabels(text: str, taxa: TaxonNamespace, path, line) -> set[str]:
    body = _strip_comments(text).strip()[len("taxlabels"):]
    labels = re.findall(r"'(?:[^']|'')*'|[^\s]+", body)
    seen: set[str] = set()
    for label in map(_unquote, labels):
        if label in seen:
            raise TreeFormatError(f"taxon {label!r} listed twice in TAXLABELS", path, line)
        seen.add(label)
        taxa.add(label)
    return seen


class NexusTreeReader:
    """State of one NEXUS tree file while its statements are fed in order.

    ``feed`` consumes one statement and returns a :class:`TreeStatement` for a ``tree``
    statement (None otherwise); ``parse`` turns a kept one into a :class:`Tree`. Splitting
    the two lets callers skip burn-in trees without parsing them. ``rooted`` overrides the
    ``[&R]`` / ``[&U]`` comments when not None; ``default_rooted`` applies when a tree has
    neither.
    """

    def __init__(self, path: str | Path, taxa: TaxonNamespace, *, default_rooted: bool = False,
                 rooted: bool | None = None, keep_annotations: bool = False):
        self.path = path
        self.taxa = taxa
        self.default_rooted = default_rooted
        self.rooted = rooted
        self.keep_annotations = keep_annotations
        self.block: str | None = None
        self.translate: dict[str, str] | None = None
        self.taxa_block: set[str] | None = None
        self.header_seen = False

    @property
    def add_taxa(self) -> bool:
        """New names may join the namespace only when neither TAXA nor TRANSLATE lists the taxa."""
        return self.taxa_block is None and not self.translate

    def feed(self, statement: Statement) -> TreeStatement | None:
        text, line, path = statement.text, statement.line, self.path
        if not self.header_seen:
            stripped = _strip_comments(text).lstrip()
            if not stripped[:6].upper() == "#NEXUS":
                raise TreeFormatError("not a NEXUS file: it must start with '#NEXUS'", path, line)
            text = stripped[6:]
            self.header_seen = True
        head = text.lstrip()[:6].lower()
        if not statement.terminated:
            if self.block == "trees" and head.startswith(_TREE_KEYWORDS):
                raise TreeFormatError("truncated tree statement (no closing ';')", path, line)
            if _strip_comments(text).strip():
                raise TreeFormatError("statement without a closing ';'", path, line)
            return None
        if self.block == "trees" and _is_tree_keyword(head):
            return self._tree_statement(text, line)
        keyword = _strip_comments(text).split(None, 1)
        if not keyword:
            return None
        word = keyword[0].lower()
        if self.block == "trees" and word in _TREE_KEYWORDS:
            return self._tree_statement(_LEADING_COMMENTS.sub("", text), line)
        if word == "begin":
            if len(keyword) < 2:
                raise TreeFormatError("'begin' without a block name", path, line)
            self.block = keyword[1].strip().lower()
            if self.block == "trees":
                self.translate = None
        elif word in ("end", "endblock"):
            self.block = None
        elif self.block == "taxa" and word == "taxlabels":
            self.taxa_block = _parse_taxlabels(text, self.taxa, path, line)
        elif self.block == "trees" and word == "translate":
            self.translate = _parse_translate(text, self.taxa, self.taxa_block, path, line)
        return None

    def _tree_statement(self, text: str, line: int) -> TreeStatement:
        name, comments, body = _split_tree_statement(text, self.path, line)
        before_tree = body[: body.find("(")] if "(" in body else body
        if self.rooted is not None:
            rooted = self.rooted
        else:
            rooting = _ROOTING.search(before_tree)
            rooted = self.default_rooted if rooting is None else rooting.group(1).upper() == "R"
        weight = parse_weight(comments + before_tree, self.path, line)
        return TreeStatement(name, rooted, 1.0 if weight is None else weight, body, line)

    def parse(self, tree: TreeStatement) -> Tree:
        return parse_newick(tree.body + ";", self.taxa, translate=self.translate, add_taxa=self.add_taxa,
                            rooted=tree.rooted, name=tree.name, weight=tree.weight,
                            keep_annotations=self.keep_annotations, path=self.path, line=tree.line)

    def finish(self, n_trees: int) -> None:
        """Checks at the end of the file: a NEXUS header, a closed block."""
        if not self.header_seen:
            raise EmptyInputError("empty file", self.path)
        if self.block is not None:
            warnings.warn(f"{self.path}: the {self.block.upper()} block has no 'end;' (run still in progress?); "
                          f"read {n_trees} complete trees", IncompleteFileWarning, stacklevel=3)


def iter_nexus_tree_statements(reader: NexusTreeReader, statements: Iterable[Statement],
                               keep: Callable[[int], bool] | None = None,
                               first_index: int = 0) -> Iterator[tuple[int, int, Tree | None]]:
    """``(index, line, tree)`` per tree statement; ``tree`` is None where ``keep(index)`` is False."""
    index = first_index
    for statement in statements:
        found = reader.feed(statement)
        if found is None:
            continue
        yield index, found.line, (reader.parse(found) if keep is None or keep(index) else None)
        index += 1


def read_nexus_trees(path: str | Path, taxa: TaxonNamespace | None = None, *, default_rooted: bool = False,
                     rooted: bool | None = None, keep_annotations: bool = False,
                     keep: Callable[[int], bool] | None = None) -> Iterator[Tree]:
    """Stream the trees of a NEXUS file (see the module grammar).

    Trees share ``taxa`` (a new namespace when None), whose order follows the TAXA block, then
    the translate block, then first appearance. A tree's ``weight`` is its ``[&W]`` value (1
    when absent) and its ``name`` the label of its ``tree`` statement. ``keep(i)`` (0-based
    tree index) selects the trees to parse; the others are skipped unparsed.
    """
    taxa = TaxonNamespace() if taxa is None else taxa
    for _, _, tree in iter_nexus_file(path, taxa, default_rooted=default_rooted, rooted=rooted,
                                      keep_annotations=keep_annotations, keep=keep):
        if tree is not None:
            yield tree


def iter_nexus_file(path: str | Path, taxa: TaxonNamespace, *, default_rooted: bool = False,
                    rooted: bool | None = None, keep_annotations: bool = False,
                    keep: Callable[[int], bool] | None = None) -> Iterator[tuple[int, int, Tree | None]]:
    """``(index, line, tree)`` per tree of a NEXUS file (see :func:`read_nexus_trees`)."""
    reader = NexusTreeReader(path, taxa, default_rooted=default_rooted, rooted=rooted,
                             keep_annotations=keep_annotations)
    n_trees = 0
    for item in iter_nexus_tree_statements(reader, iter_statements(path), keep):
        n_trees += 1
        yield item
    reader.finish(n_trees)
    if n_trees == 0:
        raise EmptyInputError("no tree found in a TREES block", path)
