r"""Weighted tree tables: one topology per tab-separated row, with its probability.

Two layouts, both summaries of a posterior (not MCMC chains: no burn-in or thinning applies):

``credible-set`` (Fourment et al. 2020, ``4ment/marginal-experiments:data/JC_no_gamma_credible_set_dsX``,
the files ``phylo-vi marginal`` reads), no header::

    table := (probability "\t" newick "\n")+        e.g. 0.278152<TAB>(Alligator,(...),Trachemys);

``trprobs-tsv`` (the ``PREFIX.trprobs.tsv`` that ``phylo-vi trees summary -o PREFIX`` writes,
:func:`phylo_vi.diagnostics.write_topology_table`), most probable topology first::

    table  := header "\n" (row "\n")+
    header := "rank\tweight\tprobability\tcumulative\tin_<L>pct_set\tnewick"
    row    := rank "\t" weight "\t" probability "\t" cumulative "\t" (0 | 1) "\t" newick

A tree's ``weight`` is its probability (the ``probability`` column of a ``.trprobs.tsv``) and,
in a ``.trprobs.tsv``, its ``name`` is its rank. Trees are unrooted unless their Newick starts
with ``[&R]`` (as :func:`phylo_vi.io.newick.format_newick` writes rooted trees) or ``rooted``
says otherwise. Blank lines are skipped; Windows line ends are accepted.

Errors (a row with another number of fields, a probability that is not a finite non-negative
number, a malformed tree) raise :class:`~phylo_vi.errors.TreeFormatError` naming file and
line; a table without a row raises :class:`~phylo_vi.errors.EmptyInputError`.
"""
from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Callable, Iterator

from phylo_vi.errors import EmptyInputError, TreeFormatError
from phylo_vi.io.newick import parse_newick, statement_rooting
from phylo_vi.io.text import open_text
from phylo_vi.trees.taxa import TaxonNamespace
from phylo_vi.trees.tree import Tree

TABLE_FORMATS = ("credible-set", "trprobs-tsv")
TRPROBS_TSV_HEADER = re.compile(r"rank\tweight\tprobability\tcumulative\tin_\d+pct_set\tnewick")
_PROBABILITY_COLUMN = {"credible-set": 0, "trprobs-tsv": 2}
_N_FIELDS = {"credible-set": 2, "trprobs-tsv": 6}


def _probability(text: str, path, line: int) -> float:
    try:
        value = float(text)
    except ValueError:
        raise TreeFormatError(f"bad probability {text.strip()!r}", path, line) from None
    if not (math.isfinite(value) and value >= 0):
        raise TreeFormatError(f"probability {text.strip()!r} is not a finite non-negative number", path, line)
    return value


def _rows(path: str | Path, format: str) -> Iterator[tuple[int, list[str]]]:
    """``(line, fields)`` of every row after the header (if the format has one)."""
    if format not in TABLE_FORMATS:
        raise TreeFormatError(f"not a tree table format: {format!r} (one of {', '.join(TABLE_FORMATS)})", path)
    header_pending = format == "trprobs-tsv"
    n_fields = _N_FIELDS[format]
    with open_text(path) as handle:
        for number, text in enumerate(handle, start=1):
            text = text.rstrip("\r\n")
            if not text.strip():
                continue
            if header_pending:
                if TRPROBS_TSV_HEADER.fullmatch(text.strip()) is None:
                    raise TreeFormatError("expected the .trprobs.tsv header 'rank<TAB>weight<TAB>probability"
                                          "<TAB>cumulative<TAB>in_<L>pct_set<TAB>newick'", path, number)
                header_pending = False
                continue
            fields = text.split("\t")
            if len(fields) != n_fields:
                raise TreeFormatError(f"{len(fields)} tab-separated fields where a {format} row has {n_fields}",
                                      path, number)
            yield number, fields


def iter_table_trees(path: str | Path, taxa: TaxonNamespace, *, format: str, rooted: bool | None = None,
                     keep_annotations: bool = False,
                     keep: Callable[[int], bool] | None = None) -> Iterator[tuple[int, int, Tree | None]]:
    """``(index, line, tree)`` per row of a tree table; ``tree`` is None where ``keep(index)`` is False."""
    index = -1
    for index, (line, fields) in enumerate(_rows(path, format)):
        if keep is not None and not keep(index):
            yield index, line, None
            continue
        weight = _probability(fields[_PROBABILITY_COLUMN[format]], path, line)
        newick = fields[-1].strip()
        newick = newick if newick.endswith(";") else newick + ";"
        name = fields[0].strip() if format == "trprobs-tsv" else None
        tree = parse_newick(newick, taxa, rooted=statement_rooting(newick, rooted, False), name=name, weight=weight,
                            keep_annotations=keep_annotations, path=path, line=line)
        yield index, line, tree
    if index < 0:
        raise EmptyInputError(f"no tree found in the {format} table", path)


def read_table_trees(path: str | Path, taxa: TaxonNamespace | None = None, *, format: str,
                     rooted: bool | None = None, keep_annotations: bool = False,
                     keep: Callable[[int], bool] | None = None) -> Iterator[Tree]:
    """Stream the trees of a ``credible-set`` or ``trprobs-tsv`` table (see the module grammar)."""
    taxa = TaxonNamespace() if taxa is None else taxa
    for _, _, tree in iter_table_trees(path, taxa, format=format, rooted=rooted,
                                       keep_annotations=keep_annotations, keep=keep):
        if tree is not None:
            yield tree


def read_credible_set(path: str | Path, taxa: TaxonNamespace | None = None) -> list[Tree]:
    """Trees of a ``<probability><TAB><newick;>`` file, each with ``weight`` = its probability, in file order."""
    return list(read_table_trees(path, taxa, format="credible-set"))


def count_table_trees(path: str | Path, format: str) -> int:
    """Number of rows of a tree table (without parsing the trees)."""
    return sum(1 for _ in _rows(path, format))
