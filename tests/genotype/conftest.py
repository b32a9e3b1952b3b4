"""Genotype tests run torch on one thread (``one_torch_thread`` in tests/conftest.py)."""
from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _small_networks_on_one_thread(one_torch_thread):
    """Every genotype test: the networks are small."""
