"""Fixtures of the SBN tests: DS1 short runs and the pooled golden run (../shared/data/DS1)."""
from __future__ import annotations

import pytest

from phylo_vi.sbn import pooled_golden_run, read_tree_arrays
from phylo_vi.trees.taxa import TaxonNamespace


@pytest.fixture(scope="session")
def ds1_taxa() -> TaxonNamespace:
    return TaxonNamespace()


@pytest.fixture(scope="session")
def ds1_truth(shared_data, ds1_taxa):
    """Pooled golden run: 10 replicates, round(w·750001) counts (zcrabbit/sbn:utils.py:summary)."""
    files = [shared_data / "DS1" / "golden_run" / f"rep_{i}" / "DS1.trprobs" for i in range(1, 11)]
    return pooled_golden_run(read_tree_arrays(files, taxa=ds1_taxa, per_file=True))


@pytest.fixture(scope="session")
def ds1_short_run(shared_data, ds1_taxa):
    """Training sample of short-run replicate ``rep`` (normalised [&W] weights)."""
    def load(rep: int):
        return read_tree_arrays([shared_data / "DS1" / "short_run" / f"rep_{rep}" / "DS1.trprobs"], taxa=ds1_taxa)
    return load
