"""Fixtures of the VBPI tests: the 5-taxon problem with its exact answer (tests/vbpi/five_taxa.py)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from phylo_vi.sbn.edges import unrooted_edge_tables
from phylo_vi.sbn.support import build_support
from phylo_vi.vbpi.posterior import VariationalPosterior
from .five_taxa import exact_answer, random_logits


@pytest.fixture(autouse=True)
def _small_networks_on_one_thread(one_torch_thread):
    """Every VBPI test runs torch on one thread (``one_torch_thread`` in tests/conftest.py)."""


@pytest.fixture(scope="session")
def five_taxa():
    return exact_answer()


@pytest.fixture(scope="session")
def full_support(five_taxa):
    """Support of all 15 five-taxon topologies."""
    return build_support(unrooted_edge_tables(five_taxa.arrays()))[0]


@pytest.fixture
def posterior(five_taxa, full_support):
    posterior = VariationalPosterior(full_support, five_taxa.taxa, generator=torch.Generator().manual_seed(2))
    random_logits(posterior.topology, 4)
    return posterior


@pytest.fixture
def sampled(posterior):
    """40 draws: repeated topologies in different node orders (different sampled rootings)."""
    return posterior.topology.sample(40, np.random.default_rng(8))
