"""Posterior trees drawn from q and written as NEXUS: read back by phylo_vi's reader unchanged."""
from __future__ import annotations

import numpy as np
import torch

from phylo_vi.io.nexus import read_nexus_trees
from phylo_vi.trees.taxa import TaxonNamespace
from phylo_vi.vbpi.output import draw_trees, write_trees
from phylo_vi.vbpi.posterior import VariationalPosterior


def test_written_trees_read_back_with_the_same_topologies_and_lengths(five_taxa, full_support, tmp_path):
    posterior = VariationalPosterior(full_support, five_taxa.taxa, generator=torch.Generator().manual_seed(1))
    trees = draw_trees(posterior, 30, np.random.default_rng(3))
    path = tmp_path / "q.trees"
    write_trees(path, trees)
    read = read_nexus_trees(path, TaxonNamespace(five_taxa.taxa))
    assert [t.topology_key() for t in read] == [t.topology_key() for t in trees]
    for original, again in zip(trees, read):
        # same node order (post-order of the same Newick): every branch length round-trips exactly
        np.testing.assert_array_equal(again.branch_length[:-1], original.branch_length[:-1])
        assert np.all(original.branch_length[:-1] > 0)
