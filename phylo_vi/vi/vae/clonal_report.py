"""Running and scoring the clonal-genotype VAE (``phylo-vi genotype clones``, benchmarks/vae.py)."""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from phylo_vi.genotype.formats import read_genotype, write_sc
from phylo_vi.genotype.metrics import entry_error
from phylo_vi.util.atomic import atomic_write
from phylo_vi.vi.vae.clonal import ClonalVAE
from phylo_vi.vi.vae.clustering import adjusted_rand_index

__all__ = ["run_clones", "score_clones"]


def run_clones(matrix: str | Path, fmt: str, fp: float, fn: float, *, max_clones: int, estimator: str,
               n_samples: int, n_steps: int, seed: int, out: str | Path | None = None,
               assignments_out: str | Path | None = None, progress: bool = False) -> dict:
    """Fit :class:`ClonalVAE` to the matrix file; write the implied genotype matrix (SC) and the
    cell-to-clone table (TSV) when asked; return the JSON-ready summary."""
    data = read_genotype(matrix, fmt)
    began = time.perf_counter()
    model = ClonalVAE(fp=fp, fn=fn, max_clones=max_clones, estimator=estimator, n_samples=n_samples,
                      n_steps=n_steps, progress=progress, random_state=seed).fit(data.values)
    seconds = time.perf_counter() - began
    if out is not None:
        write_sc(data.with_values(model.genotype_matrix_), out)
    if assignments_out is not None:
        with atomic_write(assignments_out) as handle:
            handle.write("cell\tclone\n")
            handle.writelines(f"{name}\t{clone}\n" for name, clone in zip(data.cell_names, model.assignments_))
    sizes = np.bincount(model.assignments_, minlength=model.n_clones_)
    return {"file": str(matrix), "seed": seed, "fp": fp, "fn": fn, "estimator": estimator, "n_samples": n_samples,
            "n_steps": n_steps, "max_clones": max_clones, "n_clones": model.n_clones_,
            "clone_sizes": sizes.tolist(), "out": None if out is None else str(out),
            "assignments": None if assignments_out is None else str(assignments_out), "seconds": seconds}


def score_clones(truth: np.ndarray, model: ClonalVAE) -> dict:
    """Adjusted Rand index against the true clones (distinct rows of ``truth``), clone counts and
    the entry error of the implied genotype matrix."""
    _, true_clone = np.unique(truth, axis=0, return_inverse=True)
    return {"adjusted_rand_index": adjusted_rand_index(np.asarray(true_clone).reshape(-1), model.assignments_),
            "n_clones": model.n_clones_, "n_true_clones": int(true_clone.max() + 1),
            "entry_error": entry_error(truth, model.genotype_matrix_)}
