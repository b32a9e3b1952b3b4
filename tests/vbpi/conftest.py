"""Fixtures of the VBPI tests: the 5-taxon problem with its exact answer (tests/vbpi/five_taxa.py)."""
from __future__ import annotations

import pytest

from phylo_vi.sbn.edges import unrooted_edge_tables
from phylo_vi.sbn.support import build_support
from tests.vbpi.five_taxa import exact_answer


@pytest.fixture(scope="session")
def five_taxa():
    return exact_answer()


@pytest.fixture(scope="session")
def full_support(five_taxa):
    """Support of all 15 five-taxon topologies."""
    return build_support(unrooted_edge_tables(five_taxa.arrays()))[0]
