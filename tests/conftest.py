"""Shared fixtures: the ``../shared`` data folder and the torch device and dtype under test."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DIR = Path(os.environ.get("PHYLO_VI_SHARED", REPO_ROOT.parent / "shared"))


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """``../shared`` beside the repository (or ``$PHYLO_VI_SHARED``); skip when absent."""
    if not (SHARED_DIR / "data").is_dir():
        pytest.skip(f"shared data folder not found at {SHARED_DIR} (set PHYLO_VI_SHARED)")
    return SHARED_DIR


@pytest.fixture(scope="session")
def shared_data(shared_dir: Path) -> Path:
    """``../shared/data``."""
    return shared_dir / "data"


@pytest.fixture(scope="session")
def device():
    """Torch device under test, from ``PHYLO_VI_DEVICE`` (default ``cpu``)."""
    import torch

    name = os.environ.get("PHYLO_VI_DEVICE", "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        pytest.fail(f"PHYLO_VI_DEVICE={name} but CUDA is not available")
    return torch.device(name)


@pytest.fixture(scope="session")
def dtype():
    """Torch dtype under test, from ``PHYLO_VI_DTYPE`` (default ``float64``)."""
    import torch

    return getattr(torch, os.environ.get("PHYLO_VI_DTYPE", "float64"))


@pytest.fixture
def one_torch_thread():
    """Torch on one intra-op thread for the test, restored after: on a loaded 2-core machine two
    threads spin against each other and make small networks about 10x slower."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
