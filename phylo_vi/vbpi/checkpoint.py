"""Checkpoints of a VBPI run: everything needed to continue it exactly.

A checkpoint holds the iteration reached, the hyperparameters, the taxa and support, the
parameters of q_φ,ψ, the Adam state, the state of the run's random generator and the trace so
far. Continuing from it draws the same particles and takes the same steps as the run that
wrote it would have (tested: same seed ⇒ same trace, resumed or not). Written atomically with
``torch.save``; read with ``weights_only=True`` (plain containers and tensors only).
"""
from __future__ import annotations

import io
from pathlib import Path

import torch

from phylo_vi.errors import InputFormatError
from phylo_vi.util.atomic import atomic_write

FORMAT = "phylo_vi.vbpi.checkpoint"
VERSION = 1


def save_checkpoint(path: str | Path, state: dict) -> None:
    """Write ``state`` (plain containers, numbers, strings and tensors) atomically."""
    buffer = io.BytesIO()
    torch.save({"format": FORMAT, "version": VERSION, **state}, buffer)
    with atomic_write(path, "wb") as handle:
        handle.write(buffer.getvalue())


def load_checkpoint(path: str | Path) -> dict:
    """Read a checkpoint written by :func:`save_checkpoint`."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise
    except Exception as error:
        raise InputFormatError(f"not a readable VBPI checkpoint ({type(error).__name__})", path) from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise InputFormatError("not a VBPI checkpoint", path)
    if state.get("version") != VERSION:
        raise InputFormatError(f"checkpoint version {state.get('version')} is not supported (expected {VERSION})",
                               path)
    return state
