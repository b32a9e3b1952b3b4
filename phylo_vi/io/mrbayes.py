r"""MrBayes tree samples (``.t``) and topology summaries (``.trprobs``), both NEXUS dialects.

``.t`` (``mcmc.c``, one file per run: ``stem.t``, ``stem.run<k>.t``, ``stem.tree<i>.run<k>.t``)::

    #NEXUS
    [ID: 0146056142]
    [Param: tree]
    begin trees;
       translate
           1 Alligator_mississippiensis,
           ...
          27 Xenopus_laevis;                       <- ';' on the last entry's line
       tree gen.0 = [&U] ((20:1.0e-01,(16:…):…);  <- [&R] (and [&clockrate=…]) for clock trees
       ...
    end;                                           <- written only when the run finishes

``.trprobs`` (``sumpt.c``), sorted by posterior probability, without branch lengths::

    [This file contains the trees that were found during the MCMC search, ...]  <- multi-line comment
    begin trees;
       translate ...;
       tree tree_1 [p = 0.277, P = 0.277] = [&W 0.276723] (24,((22,10),…),1);

Quirks tolerated (all through :mod:`phylo_vi.io.nexus`): the ``=`` inside ``[p = …]`` does not
split the statement; ``[&W w]`` becomes ``Tree.weight``; ``[&B name]`` / ``[&E name]``
branch-rate comments before the ``=`` are ignored; a ``.t`` without ``end;`` (run in progress)
is read to its last complete tree with a warning. Underscores stay underscores.

Rooting: MrBayes non-clock trees are unrooted (``[&U]``), clock trees rooted (``[&R]``); a tree
without either comment is unrooted.

A ``.trprobs`` file is a summary, not a chain: :func:`phylo_vi.io.read_trees` applies no burn-in
or thinning to it.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterator

from phylo_vi.io.nexus import read_nexus_trees
from phylo_vi.trees.taxa import TaxonNamespace
from phylo_vi.trees.tree import Tree


def read_mrbayes_trees(path: str | Path, taxa: TaxonNamespace | None = None, *, rooted: bool | None = None,
                       keep_annotations: bool = False, keep: Callable[[int], bool] | None = None) -> Iterator[Tree]:
    """Stream the trees of a MrBayes ``.t`` or ``.trprobs`` file (unrooted unless ``[&R]``)."""
    return read_nexus_trees(path, taxa, default_rooted=False, rooted=rooted, keep_annotations=keep_annotations,
                            keep=keep)
