r"""NEXUS tree files: TAXA, TRANSLATE and TREES blocks (MrBayes ``.t`` and ``.trprobs``, BEAST 1 and 2).

Grammar accepted (statements end with ``;`` outside quotes and comments; keywords are
case-insensitive; other blocks such as DATA or MRBAYES are skipped)::

    file        := "#NEXUS" block*
    block       := "begin" NAME ";" statement* ("end" | "endblock") ";"
    taxa block  := "dimensions ntax=N;"  "taxlabels" label+ ";"
    trees block := ["translate" entry ("," entry)* ";"]  tree*
    entry       := token label
    tree        := ("tree" | "utree") label comment* "=" comment* newick ";"

Quirks tolerated:

- the translate ``;`` on the last entry's line (MrBayes) or on a line of its own (BEAST 2);
- a translate block present but unused (trees written with full names);
- ``[&U]`` / ``[&R]`` rooting comments (otherwise ``default_rooted``), ``[&W w]`` or
  ``[&W m/n]`` tree weights (MrBayes ``.trprobs``), ``[p = …, P = …]`` comments whose ``=``
  does not split the statement, ``[&lnP=…]`` tree comments before the ``=`` (BEAST 1);
- a file without the closing ``end;`` (an MCMC run still in progress) is read to its last
  complete tree with a warning; a truncated last tree is an error naming its line;
- comments spanning lines, such as the header note of a ``.trprobs`` file.

Reading zero trees raises :class:`~phylo_vi.errors.EmptyInputError`.
"""
from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import Iterator

from phylo_vi.errors import EmptyInputError, TreeFormatError
from phylo_vi.io.newick import parse_newick
from phylo_vi.io.statements import iter_statements
from phylo_vi.trees.taxa import TaxonNamespace
from phylo_vi.trees.tree import Tree

_WEIGHT = re.compile(r"\[&W\s+([^\]\s]+)\s*\]", re.IGNORECASE)
_ROOTING = re.compile(r"\[&([RU])\]", re.IGNORECASE)
_TRANSLATE_ENTRY = re.compile(r"\s*(?P<token>'(?:[^']|'')*'|[^\s,]+)\s+(?P<label>'(?:[^']|'')*'|[^\s,]+)\s*")


class IncompleteFileWarning(UserWarning):
    """A NEXUS file ended inside a block (for example a MrBayes run still in progress)."""


def _unquote(label: str) -> str:
    return label[1:-1].replace("''", "'") if label.startswith("'") and label.endswith("'") else label


def _strip_comments(text: str) -> str:
    return re.sub(r"\[[^\]]*\]", "", text)


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
            bare = _strip_comments(name_and_comments).strip()
            return _unquote(bare), name_and_comments, text[position + 1:]
    raise TreeFormatError("tree statement without '='", path, line)


def _parse_weight(text: str, path, line) -> float | None:
    match = _WEIGHT.search(text)
    if match is None:
        return None
    value = match.group(1)
    try:
        if "/" in value:
            numerator, denominator = value.split("/")
            return float(numerator) / float(denominator)
        return float(value)
    except (ValueError, ZeroDivisionError):
        raise TreeFormatError(f"bad tree weight [&W {value}]", path, line) from None


def _parse_translate(text: str, taxa: TaxonNamespace, taxa_block: bool, path, line) -> dict[str, str]:
    translate: dict[str, str] = {}
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
        if label in translate.values():
            raise TreeFormatError(f"taxon {label!r} appears twice in the translate block", path, line)
        if taxa_block and label not in taxa:
            raise TreeFormatError(f"translate names {label!r}, which is not in the TAXA block", path, line)
        taxa.add(label)
        translate[token] = label
    return translate


def _parse_taxlabels(text: str, taxa: TaxonNamespace, path, line) -> None:
    body = _strip_comments(text).strip()[len("taxlabels"):]
    labels = re.findall(r"'(?:[^']|'')*'|[^\s]+", body)
    seen: set[str] = set()
    for label in map(_unquote, labels):
        if label in seen:
            raise TreeFormatError(f"taxon {label!r} listed twice in TAXLABELS", path, line)
        seen.add(label)
        taxa.add(label)


def read_nexus_trees(path: str | Path, taxa: TaxonNamespace | None = None, *, default_rooted: bool = False,
                     keep_annotations: bool = False) -> Iterator[Tree]:
    """Stream the trees of a NEXUS file (see the module grammar).

    Trees share ``taxa`` (a new namespace when None), whose order follows the TAXA block, then
    the translate block, then first appearance. A tree's ``weight`` is its ``[&W]`` value (1
    when absent) and its ``name`` the label of its ``tree`` statement.
    """
    taxa = TaxonNamespace() if taxa is None else taxa
    block: str | None = None
    translate: dict[str, str] | None = None
    taxa_block = False
    n_trees = 0
    header_seen = False
    for statement in iter_statements(path):
        text, line = statement.text, statement.line
        if not header_seen:
            stripped = _strip_comments(text).lstrip()
            if not stripped[:6].upper() == "#NEXUS":
                raise TreeFormatError("not a NEXUS file: it must start with '#NEXUS'", path, line)
            text = stripped[6:]
            header_seen = True
        if not statement.terminated:
            if block == "trees" and text.lstrip()[:4].lower() in ("tree", "utre"):
                raise TreeFormatError("truncated tree statement (no closing ';')", path, line)
            if _strip_comments(text).strip():
                raise TreeFormatError("statement without a closing ';'", path, line)
            continue
        keyword = _strip_comments(text).split(None, 1)
        if not keyword:
            continue
        word = keyword[0].lower()
        if word == "begin":
            if len(keyword) < 2:
                raise TreeFormatError("'begin' without a block name", path, line)
            block = keyword[1].strip().lower()
            if block == "trees":
                translate = None
            continue
        if word in ("end", "endblock"):
            block = None
            continue
        if block == "taxa" and word == "taxlabels":
            _parse_taxlabels(text, taxa, path, line)
            taxa_block = True
        elif block == "trees" and word == "translate":
            translate = _parse_translate(text, taxa, taxa_block, path, line)
        elif block == "trees" and word in ("tree", "utree"):
            name, comments, body = _split_tree_statement(text, path, line)
            rooting = _ROOTING.search(body[: body.find("(")] if "(" in body else body)
            rooted = default_rooted if rooting is None else rooting.group(1).upper() == "R"
            weight = _parse_weight(comments + body[: body.find("(")], path, line)
            n_trees += 1
            yield parse_newick(body + ";", taxa, translate=translate, add_taxa=not (taxa_block or translate),
                               rooted=rooted, name=name, weight=1.0 if weight is None else weight,
                               keep_annotations=keep_annotations, path=path, line=line)
    if not header_seen:
        raise EmptyInputError("empty file", path)
    if block is not None:
        warnings.warn(f"{path}: the {block.upper()} block has no 'end;' (run still in progress?); "
                      f"read {n_trees} complete trees", IncompleteFileWarning, stacklevel=2)
    if n_trees == 0:
        raise EmptyInputError("no tree found in a TREES block", path)
