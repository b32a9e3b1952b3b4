"""Tree-topology distributions fitted to tree samples: SRF, CCD and subsplit Bayesian networks.

Zhang & Matsen, "Generalizing tree probability estimation via Bayesian networks", NeurIPS 2018.
"""
from phylo_vi.sbn.base import TreeDistribution
from phylo_vi.sbn.ccd import ConditionalCladeDistribution
from phylo_vi.sbn.edges import EdgeTables, unrooted_edge_tables
from phylo_vi.sbn.kl import KLResult, kl_divergence, pooled_golden_run
from phylo_vi.sbn.kl_table import KLTable, kl_table
from phylo_vi.sbn.methods import METHOD_LABELS, make_estimator
from phylo_vi.sbn.reading import read_tree_arrays
from phylo_vi.sbn.rooted import RootedSubsplitBayesianNetwork
from phylo_vi.sbn.serialization import load_model, save_model
from phylo_vi.sbn.srf import SampleRelativeFrequency
from phylo_vi.sbn.support import IndexedTrees, SubsplitSupport, build_support, index_trees
from phylo_vi.sbn.unrooted import SubsplitBayesianNetwork
from phylo_vi.trees.arrays import TreeArrays

__all__ = ["TreeDistribution", "SampleRelativeFrequency", "ConditionalCladeDistribution", "SubsplitBayesianNetwork",
           "RootedSubsplitBayesianNetwork", "KLResult", "kl_divergence", "pooled_golden_run", "load_model",
           "save_model", "TreeArrays", "read_tree_arrays", "make_estimator", "METHOD_LABELS", "KLTable", "kl_table",
           "EdgeTables", "unrooted_edge_tables", "SubsplitSupport", "IndexedTrees", "build_support", "index_trees"]
