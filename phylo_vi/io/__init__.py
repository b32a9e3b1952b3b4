"""Readers and writers: one module per file format; :func:`read_trees` for tree samples."""
from phylo_vi.io.detect import TREE_FORMATS, detect_format
from phylo_vi.io.newick import parse_newick, read_newick
from phylo_vi.io.nexus import IncompleteFileWarning, read_nexus_trees
from phylo_vi.io.trees import TreeRun, TreeSample, read_trees

__all__ = [
    "IncompleteFileWarning",
    "TREE_FORMATS",
    "TreeRun",
    "TreeSample",
    "detect_format",
    "parse_newick",
    "read_newick",
    "read_nexus_trees",
    "read_trees",
]
