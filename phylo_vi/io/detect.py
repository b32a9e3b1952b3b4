"""Tree-file format detection by content (never by file name).

Formats, with the default rooting of a tree that carries no ``[&R]`` / ``[&U]`` comment:

============  =====================================================  ==================
format        recognised by                                          default rooting
============  =====================================================  ==================
``mrbayes``   ``#NEXUS``; ``[ID: …]`` / ``[Param: …]`` header or      unrooted
              trees named ``gen.<N>``
``trprobs``   ``#NEXUS``; first tree carries ``[&W …]`` or ``[p = …]``  unrooted
``beast``     ``#NEXUS``; ``BEAST`` in a header comment or trees       rooted
              named ``STATE_<N>``
``nexus``     any other ``#NEXUS`` file                                unrooted
``revbayes``  tab-separated header line, then a field starting ``(``   by root degree
``newick``    first character outside comments is ``(``               unrooted
============  =====================================================  ==================
"""
from __future__ import annotations

import re
from pathlib import Path

from phylo_vi.errors import EmptyInputError, TreeFormatError

TREE_FORMATS = ("mrbayes", "trprobs", "beast", "nexus", "revbayes", "newick")
NEXUS_FORMATS = ("mrbayes", "trprobs", "beast", "nexus")
DEFAULT_ROOTED = {"mrbayes": False, "trprobs": False, "beast": True, "nexus": False, "newick": False}

_HEAD_BYTES = 1 << 20
_FIRST_TREE = re.compile(r"^\s*u?tree\s+\*?\s*([^\s\[=]+)(.*)$", re.IGNORECASE | re.MULTILINE)
_SUMMARY_COMMENT = re.compile(r"\[&W\s|\[\s*p\s*=", re.IGNORECASE)
_LEADING_COMMENTS = re.compile(r"^(?:\s*\[[^\]]*\])*\s*")


def detect_format(path: str | Path) -> str:
    """The format of a tree file (one of :data:`TREE_FORMATS`), from its first megabyte."""
    with open(path, "rb") as handle:
        head = handle.read(_HEAD_BYTES).decode("utf-8-sig", errors="replace")
    if not head.strip():
        raise EmptyInputError("empty file", path)
    if head.lstrip()[:6].upper() == "#NEXUS":
        return _nexus_dialect(head)
    lines = [line for line in head.splitlines() if line.strip()]
    if len(lines) >= 2 and "\t" in lines[0] and any(
            field.strip().startswith(("(", "[&")) for field in lines[1].split("\t")):
        return "revbayes"
    if _LEADING_COMMENTS.sub("", head, count=1).startswith("("):
        return "newick"
    raise TreeFormatError("cannot recognise the tree format (expected #NEXUS, Newick or a RevBayes trace)",
                          path, 1)


def _nexus_dialect(head: str) -> str:
    first = _FIRST_TREE.search(head)
    if first is not None:
        name, rest = first.group(1), first.group(2)
        if _SUMMARY_COMMENT.search(rest[: rest.find("(")] if "(" in rest else rest):
            return "trprobs"
        if name.upper().startswith("STATE_"):
            return "beast"
        if name.lower().startswith("gen."):
            return "mrbayes"
    header = head[: first.start()] if first is not None else head
    if "BEAST" in header:
        return "beast"
    if re.search(r"\[(ID|Param):", header):
        return "mrbayes"
    return "nexus"
