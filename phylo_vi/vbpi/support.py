"""The SBN support of VBPI: the most frequent trees of each input sample, pooled.

The reference code (``zcrabbit/vbpi-torch:unrooted/utils.py`` ``summary_raw(..., hpd=0.95)``)
keeps from each tree file its most frequent topologies up to 95 % cumulative frequency and takes
the root splits and PCSPs of every rooting of the union (:func:`phylo_vi.sbn.build_support`).
Any file the readers take works: MrBayes ``.t`` / ``.trprobs`` (``[&W]`` frequencies), BEAST,
NEXUS and Newick lists (repeated topologies are counted).
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from phylo_vi.errors import PhyloVIError
from phylo_vi.sbn.edges import unrooted_edge_tables
from phylo_vi.trees.arrays import TreeArrays
from phylo_vi.sbn.reading import read_tree_arrays
from phylo_vi.sbn.support import SubsplitSupport, build_support
from phylo_vi.trees.taxa import TaxonNamespace

DEFAULT_LEVEL = 0.95


def credible_topologies(sample: TreeArrays, level: float = DEFAULT_LEVEL) -> TreeArrays:
    """Distinct topologies of ``sample`` by decreasing frequency until their total reaches ``level``."""
    if not 0 < level <= 1:
        raise PhyloVIError(f"the support level must lie in (0, 1], got {level}")
    tables = unrooted_edge_tables(sample)
    order = np.argsort(-tables.weights, kind="stable")
    cumulative = np.cumsum(tables.weights[order])
    size = int(min(np.searchsorted(cumulative, level - 1e-12) + 1, len(order)))
    return tables.arrays.subset(order[:size])


def support_sample(samples: Sequence[TreeArrays], level: float = DEFAULT_LEVEL) -> TreeArrays:
    """Each sample's ``level`` most frequent topologies, pooled; weights are the frequencies within
    their sample, each sample weighing the same (the training sample of an SBN warm start)."""
    if not samples:
        raise PhyloVIError("no tree sample given for the support")
    kept = [credible_topologies(sample, level) for sample in samples]
    return TreeArrays(np.concatenate([k.parent for k in kept]), np.concatenate([k.taxon for k in kept]),
                      np.concatenate([k.weights / k.weights.sum() for k in kept]) / len(kept), kept[0].taxa)


def support_from_samples(samples: Sequence[TreeArrays], level: float = DEFAULT_LEVEL) -> SubsplitSupport:
    """Support of the union of each sample's ``level`` most frequent topologies."""
    return build_support(unrooted_edge_tables(support_sample(samples, level)))[0]


def read_support(paths: Sequence[str | Path], taxa: TaxonNamespace, *, level: float = DEFAULT_LEVEL,
                 burnin: float = 0.0) -> SubsplitSupport:
    """Support from tree files (one sample per file; ``burnin`` fraction dropped from chains)."""
    return support_from_samples(read_tree_arrays(list(paths), taxa=taxa, burnin=burnin, per_file=True), level)
