"""Running and scoring the clonal-genotype VAE (``phylo-vi genotype clones``, benchmarks/vae.py)."""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from phylo_vi.genotype.formats import read_genotype, write_sc
from phylo_vi.genotype.matrix import GenotypeMatrix
from phylo_vi.genotype.metrics import entry_error
from phylo_vi.util.atomic import atomic_write
from phylo_vi.util.outputs import output_path
from phylo_vi.vi.vae.clonal import ClonalVAE
from phylo_vi.vi.vae.clustering import adjusted_rand_index

__all__ = ["clones_paths", "run_clones", "score_clones", "write_clones"]


def clones_paths(prefix: str | Path) -> dict[str, Path]:
    """``phylo-vi genotype clones -o PREFIX``: PREFIX.SC (the implied genotype matrix) and
    PREFIX.clones.tsv (the cell-to-clone table)."""
    return {"matrix": output_path(prefix, ".SC"), "assignments": output_path(prefix, ".clones.tsv")}


def run_clones(matrix: str | Path, fmt: str, fp: float, fn: float, *, max_clones: int, estimator: str,
               n_samples: int, n_steps: int, seed: int, progress: bool = False
               ) -> tuple[GenotypeMatrix, ClonalVAE, dict]:
    """Fit :class:`ClonalVAE` to the matrix file; return the matrix read, the fitted model and the
    JSON-ready summary (write the files with :func:`write_clones`)."""
    data = read_genotype(matrix, fmt)
    began = time.perf_counter()
    model = ClonalVAE(fp=fp, fn=fn, max_clones=max_clones, estimator=estimator, n_samples=n_samples,
                      n_steps=n_steps, progress=progress, random_state=seed).fit(data.values)
    seconds = time.perf_counter() - began
    sizes = np.bincount(model.assignments_, minlength=model.n_clones_)
    return data, model, {"file": str(matrix), "seed": seed, "fp": fp, "fn": fn, "estimator": estimator,
                         "n_samples": n_samples, "n_steps": n_steps, "max_clones": max_clones,
                         "n_clones": model.n_clones_, "clone_sizes": sizes.tolist(), "seconds": seconds}


def write_clones(data: GenotypeMatrix, model: ClonalVAE, paths: dict[str, Path]) -> None:
    """Write the implied genotype matrix (SC, each cell its clone's genotype) and the cell-to-clone
    table (TSV) to ``paths`` (keys of :func:`clones_paths`)."""
    write_sc(data.with_values(model.genotype_matrix_), paths["matrix"])
    with atomic_write(paths["assignments"]) as handle:
        handle.write("cell\tclone\n")
        handle.writelines(f"{name}\t{clone}\n" for name, clone in zip(data.cell_names, model.assignments_))


def score_clones(truth: np.ndarray, model: ClonalVAE) -> dict:
    """Adjusted Rand index against the true clones (distinct rows of ``truth``), clone counts and
    the entry error of the implied genotype matrix."""
    _, true_clone = np.unique(truth, axis=0, return_inverse=True)
    return {"adjusted_rand_index": adjusted_rand_index(np.asarray(true_clone).reshape(-1), model.assignments_),
            "n_clones": model.n_clones_, "n_true_clones": int(true_clone.max() + 1),
            "entry_error": entry_error(truth, model.genotype_matrix_)}
