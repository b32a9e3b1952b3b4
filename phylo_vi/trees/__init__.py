"""Trees as post-order integer arrays over a shared taxon namespace; clades and splits as bitsets."""
from phylo_vi.trees.taxa import TaxonNamespace
from phylo_vi.trees.tree import Tree

__all__ = ["TaxonNamespace", "Tree"]
