"""Trees as post-order integer arrays over a shared taxon namespace; clades and splits as bitsets;
many trees of one shape as :class:`TreeArrays`."""
from phylo_vi.trees.arrays import TreeArrays
from phylo_vi.trees.taxa import TaxonNamespace, common_namespace
from phylo_vi.trees.tree import Tree

__all__ = ["TaxonNamespace", "Tree", "TreeArrays", "common_namespace"]
