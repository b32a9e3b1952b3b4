"""Tree-file format detection by content (never by file name), exact for every format phylo_vi reads.

Formats, whether they are MCMC chains (burn-in and thinning apply only to chains, see
:func:`phylo_vi.io.read_trees`) and the default rooting of a tree without ``[&R]`` / ``[&U]``:

================  ========================================================  =====  ================
format            recognised by                                             chain  default rooting
================  ========================================================  =====  ================
``mrbayes``       ``#NEXUS``; ``[ID: …]`` / ``[Param: …]`` header or trees  yes    unrooted
                  named ``gen.<N>`` (MrBayes ``.t``)
``trprobs``       ``#NEXUS``; first tree carries ``[&W …]`` or ``[p = …]``   no     unrooted
                  (MrBayes ``.trprobs``)
``beast``         ``#NEXUS``; ``BEAST`` in a header comment or trees        yes    rooted
                  named ``STATE_<N>`` (BEAST 1/2 ``.trees``)
``nexus``         any other ``#NEXUS`` file                                 no     unrooted
``revbayes``      header line ``Iteration<TAB>…`` (after RevBayes'          yes    by root degree
                  optional ``#`` version lines): a RevBayes tree trace
``trprobs-tsv``   header ``rank<TAB>weight<TAB>probability<TAB>cumulative    no     unrooted
                  <TAB>in_<L>pct_set<TAB>newick`` (``trees summary -o``)
``credible-set``  rows ``<probability><TAB><newick>``, no header            no     unrooted
                  (Fourment et al. 2020; what ``marginal`` reads)
``newick``        first character outside comments is ``(``                no     unrooted
================  ========================================================  =====  ================

Anything else, including phylo_vi's own ``.splits.tsv`` and JSON outputs, is a
:class:`~phylo_vi.errors.TreeFormatError` naming the file and the first line.
"""
from __future__ import annotations

import re
from pathlib import Path

from phylo_vi.errors import EmptyInputError, TreeFormatError
from phylo_vi.io.text import require_file
from phylo_vi.io.tree_tables import TABLE_FORMATS, TRPROBS_TSV_HEADER

TREE_FORMATS = ("mrbayes", "trprobs", "beast", "nexus", "revbayes", "newick") + TABLE_FORMATS
CHAIN_FORMATS = ("mrbayes", "beast", "revbayes")
NEXUS_FORMATS = ("mrbayes", "trprobs", "beast", "nexus")
DEFAULT_ROOTED = {"mrbayes": False, "trprobs": False, "beast": True, "nexus": False, "newick": False,
                  "credible-set": False, "trprobs-tsv": False}

_HEAD_BYTES = 1 << 20
_FIRST_TREE = re.compile(r"^\s*u?tree\s+\*?\s*([^\s\[=]+)(.*)$", re.IGNORECASE | re.MULTILINE)
_SUMMARY_COMMENT = re.compile(r"\[&W\s|\[\s*p\s*=", re.IGNORECASE)
_LEADING_COMMENTS = re.compile(r"^(?:\s*\[[^\]]*\])*\s*")
_NUMBER = re.compile(r"\s*[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?\s*")
_SPLIT_TABLE_HEADER = "ID\tbitstring\t"
_EXPECTED = ("expected #NEXUS, Newick, a RevBayes trace ('Iteration<TAB>…' header), a .trprobs.tsv table or a "
             "credible set ('<probability><TAB><newick>' rows)")


def is_chain(format: str) -> bool:
    """Whether files of ``format`` hold the successive states of an MCMC run (burn-in applies)."""
    return format in CHAIN_FORMATS


def detect_format(path: str | Path) -> str:
    """The format of a tree file (one of :data:`TREE_FORMATS`), from its first megabyte."""
    with open(require_file(path), "rb") as handle:
        head = handle.read(_HEAD_BYTES).decode("utf-8-sig", errors="replace")
    if not head.strip():
        raise EmptyInputError("empty file", path)
    if head.lstrip()[:6].upper() == "#NEXUS":
        return _nexus_dialect(head)
    if _LEADING_COMMENTS.sub("", head, count=1).startswith("("):
        return "newick"
    return _table_format(head, path)


def _table_format(head: str, path) -> str:
    """The tab-separated format whose first lines open ``head`` (RevBayes ``#`` lines skipped)."""
    lines = head.splitlines()
    number, first = next((k, line) for k, line in enumerate(lines, start=1) if line.strip())
    while first.lstrip().startswith("#"):
        following = next(((k, line) for k, line in enumerate(lines[number:], start=number + 1) if line.strip()),
                         None)
        if following is None:
            raise TreeFormatError(f"only '#' comment lines; {_EXPECTED}", path, number)
        number, first = following
    text = first.strip()
    fields = first.rstrip("\r\n").split("\t")
    if TRPROBS_TSV_HEADER.fullmatch(text):
        return "trprobs-tsv"
    if fields[0].strip() == "Iteration" and len(fields) >= 2:
        return "revbayes"
    if len(fields) == 2 and _NUMBER.fullmatch(fields[0]) and _LEADING_COMMENTS.sub("", fields[1]).startswith("("):
        return "credible-set"
    if text.startswith(_SPLIT_TABLE_HEADER):
        raise TreeFormatError(f"a split table (PREFIX.splits.tsv) holds no trees; {_EXPECTED}", path, number)
    raise TreeFormatError(f"cannot recognise the tree format: {_EXPECTED}", path, number)


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
