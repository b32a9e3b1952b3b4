"""Fixtures of the likelihood tests: the reference data of ``shared/data/reference``."""
from __future__ import annotations

import csv

import pytest


@pytest.fixture(scope="session")
def reference_dir(shared_data):
    return shared_data / "reference"


@pytest.fixture(scope="session")
def ds1_patterns(reference_dir):
    from phylo_vi.io import read_alignment

    return read_alignment(reference_dir / "DS1.fasta").site_patterns()


@pytest.fixture(scope="session")
def sim_patterns(reference_dir):
    from phylo_vi.io import read_alignment

    return read_alignment(reference_dir / "sim100x10000.fasta").site_patterns()


@pytest.fixture(scope="session")
def reference_cases(reference_dir):
    """Rows of reference_loglik.tsv (IQ-TREE 2.0.7, BEAGLE 3.1.2, NumPy and PhyML columns)."""
    with open(reference_dir / "reference_loglik.tsv") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def _load_reference_module():
    """``likelihood_reference.py`` beside this file (tests run with ``--import-mode=importlib``)."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).with_name("likelihood_reference.py")
    spec = importlib.util.spec_from_file_location("phylo_vi_tests_likelihood_reference", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def numpy_reference():
    """The independent NumPy pruning of ``likelihood_reference.py``."""
    return _load_reference_module()
