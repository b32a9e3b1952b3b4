"""Readers and writers: one module per file format; :func:`read_trees` for tree samples,
:func:`read_alignment` for alignments.

Tree files: :func:`read_trees` (any format, burn-in, thinning, several runs) returns a
:class:`TreeSample`; iterate it for :class:`~phylo_vi.trees.Tree` objects or call
``.batches()`` for :class:`TreeBatch` arrays (the fast path). Per-format readers:
:mod:`.newick`, :mod:`.nexus`, :mod:`.mrbayes`, :mod:`.beast`, :mod:`.revbayes`, :mod:`.tree_tables`;
formats are told apart by :mod:`.detect`. Burn-in and thinning apply to MCMC chains only.
"""
from phylo_vi.io.alignments import ALIGNMENT_FORMATS, detect_alignment_format, read_alignment
from phylo_vi.io.beast import read_beast_trees
from phylo_vi.io.detect import CHAIN_FORMATS, TREE_FORMATS, detect_format, is_chain
from phylo_vi.io.mrbayes import read_mrbayes_trees
from phylo_vi.io.newick import format_newick, parse_newick, read_newick
from phylo_vi.io.nexus import IncompleteFileWarning, read_nexus_trees
from phylo_vi.io.revbayes import read_revbayes_trees
from phylo_vi.io.tree_batches import TreeBatch, iter_tree_batches
from phylo_vi.io.tree_tables import TABLE_FORMATS, read_credible_set, read_table_trees
from phylo_vi.io.trees import BurninSkippedWarning, TreeRun, TreeSample, read_trees

__all__ = [
    "ALIGNMENT_FORMATS",
    "BurninSkippedWarning",
    "CHAIN_FORMATS",
    "IncompleteFileWarning",
    "TABLE_FORMATS",
    "TREE_FORMATS",
    "TreeBatch",
    "TreeRun",
    "TreeSample",
    "detect_alignment_format",
    "detect_format",
    "format_newick",
    "is_chain",
    "iter_tree_batches",
    "parse_newick",
    "read_alignment",
    "read_beast_trees",
    "read_credible_set",
    "read_mrbayes_trees",
    "read_newick",
    "read_nexus_trees",
    "read_revbayes_trees",
    "read_table_trees",
    "read_trees",
]
