"""Reading the topologies whose marginal likelihoods are wanted.

Accepted files:

- the credible-set files of Fourment et al. 2020 (``JC_no_gamma_credible_set_dsX``): one
  topology per line, ``<SRF><TAB><newick;>``; the SRF becomes the tree's ``weight``;
- NEXUS tree files, including MrBayes ``.t`` and ``.trprobs`` (``[&W]`` weights);
- Newick files, one or more trees.

The format is recognised from the content: ``#NEXUS`` first, else a number followed by a tab
at the start of the first non-empty line, else Newick.
"""
from __future__ import annotations

import re
from pathlib import Path

from phylo_vi.errors import EmptyInputError, TreeFormatError
from phylo_vi.io.newick import parse_newick, read_newick
from phylo_vi.io.nexus import read_nexus_trees
from phylo_vi.trees import TaxonNamespace, Tree
from phylo_vi.util.text import text_lines

_CREDIBLE_LINE = re.compile(r"^\s*([-+0-9.eE]+)\t(.*\S)\s*$")


def read_credible_set(path: str | Path, taxa: TaxonNamespace | None = None) -> list[Tree]:
    """Trees of a ``<SRF>\\t<newick;>`` file, each with ``weight`` = its SRF, in file order."""
    taxa = TaxonNamespace() if taxa is None else taxa
    trees: list[Tree] = []
    with open(path, encoding="utf-8") as handle:
        for line_number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            match = _CREDIBLE_LINE.match(line)
            if match is None:
                raise TreeFormatError("expected '<probability><TAB><newick;>'", path, line_number)
            try:
                weight = float(match.group(1))
            except ValueError:
                raise TreeFormatError(f"bad probability {match.group(1)!r}", path, line_number) from None
            trees.append(parse_newick(match.group(2), taxa, weight=weight, name=f"tree{len(trees)}",
                                      path=path, line=line_number))
    if not trees:
        raise EmptyInputError("no tree found", path)
    return trees


def _first_content_line(path: Path) -> str:
    """The first non-blank line, once every line is known to be UTF-8 text (the file is read whole:
    credible sets and topology lists are small)."""
    content = [line for _, line in text_lines(path) if line.strip()]
    if not content:
        raise EmptyInputError("the file is empty", path)
    return content[0]


def read_topologies(path: str | Path, taxa: TaxonNamespace | None = None) -> list[Tree]:
    """All trees of a credible-set, NEXUS or Newick file (format from the content), unrooted."""
    path = Path(path)
    first = _first_content_line(path)
    if first.lstrip().upper().startswith("#NEXUS"):
        trees = list(read_nexus_trees(path, taxa))
    elif _CREDIBLE_LINE.match(first):
        trees = read_credible_set(path, taxa)
    else:
        trees = list(read_newick(path, taxa))
    for index, tree in enumerate(trees):
        if tree.name is None:
            tree.name = f"tree{index}"
    return [tree if not tree.rooted else tree.unroot() for tree in trees]


def top_topologies(trees: list[Tree], k: int | None) -> list[Tree]:
    """The ``k`` trees of highest ``weight`` (file order among equal weights); all when k is None."""
    if k is None or k >= len(trees):
        return list(trees)
    order = sorted(range(len(trees)), key=lambda i: -trees[i].weight)
    return [trees[i] for i in sorted(order[:k])]


def reference_posterior(trees: list[Tree], reference_trees: list[Tree]) -> "np.ndarray":
    """Weight (SRF / posterior probability) of each of ``trees`` in ``reference_trees``, matched by
    unrooted topology; 0 for a topology the reference does not list."""
    import numpy as np

    weights: dict[bytes, float] = {}
    for tree in reference_trees:
        key = tree.unroot().topology_key() if tree.rooted else tree.topology_key()
        weights[key] = weights.get(key, 0.0) + float(tree.weight)
    values = np.array([weights.get(tree.topology_key(), 0.0) for tree in trees])
    if not values.sum() > 0:
        raise TreeFormatError("none of the evaluated topologies appears in the reference file")
    return values
