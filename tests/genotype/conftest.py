"""Genotype tests run torch on one thread: on a loaded 2-core machine two intra-op threads
spin against each other and make small networks 10x slower. The setting is restored after."""
from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True)
def _one_torch_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
