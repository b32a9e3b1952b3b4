r"""BEAST 1 and BEAST 2 tree logs (``.trees``), both NEXUS dialects.

BEAST 1 (``TreeLogger``): a tree comment before the ``=`` and node metadata *after* the colon::

    tree STATE_0 [&lnP=-584.441,posterior=-584.441] = [&R] ((1:[&rate=1.0]48.056,2:[&rate=1.0]48.056):…);

BEAST 2 (``TreeWithMetaDataLogger``): node metadata *before* the colon, and the translate
block's ``;`` on a line of its own::

    Begin trees;
        Translate
               1 human,
               2 chimp
    ;
    tree STATE_0 = ((1[&rate=0.9]:0.1,2[&rate=1.1]:0.1)[&rate=1.0]:0.2,3[&rate=1.0]:0.3):0.0;

TreeAnnotator output adds sets in braces (``[&height_95%_HPD={1.2,3.4},posterior=0.9]``).

Quirks tolerated (all through :mod:`phylo_vi.io.nexus` and :mod:`phylo_vi.io.newick`):
annotations before or after the colon, braces and ``=`` inside them, numeric translate tokens
next to annotations, a translate block present but unused, no ``end;`` (with a warning).
Annotations are dropped unless ``keep_annotations`` (then ``Tree.annotations`` maps each node
to its ``[&…]`` text). A root branch length (``…):0.0;``) is kept on the root node.

Rooting: BEAST trees are rooted (time trees); ``[&U]`` or ``rooted=False`` says otherwise.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterator

from phylo_vi.io.nexus import read_nexus_trees
from phylo_vi.trees.taxa import TaxonNamespace
from phylo_vi.trees.tree import Tree


def read_beast_trees(path: str | Path, taxa: TaxonNamespace | None = None, *, rooted: bool | None = None,
                     keep_annotations: bool = False, keep: Callable[[int], bool] | None = None) -> Iterator[Tree]:
    """Stream the trees of a BEAST 1 or BEAST 2 ``.trees`` file (rooted unless ``[&U]``)."""
    return read_nexus_trees(path, taxa, default_rooted=True, rooted=rooted, keep_annotations=keep_annotations,
                            keep=keep)
