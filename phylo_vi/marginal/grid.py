"""The estimation grid (topologies × methods × replicates), serially or on dask.distributed.

Every cell gets its own seed, derived with :class:`numpy.random.SeedSequence` from the user's
seed and the cell's coordinates ``(tree index, method index in METHODS, replicate)``, so a cell's
result does not depend on the other cells, on the order the cells run in, or on how many
workers run them: the same seed gives the same log Z values serially, on a LocalCluster with any
number of workers, or on an existing cluster (``scheduler`` address, e.g. dask-jobqueue on SLURM).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Callable, Iterable, Sequence

import numpy as np

from phylo_vi.errors import PhyloVIError
from phylo_vi.marginal.methods import METHODS, make_estimator
from phylo_vi.marginal.problem import FixedTopologyProblem
from phylo_vi.trees import Tree


@dataclass(frozen=True)
class CellResult:
    """One row of the long results table."""

    replicate: int
    tree: int
    tree_name: str
    method: str
    label: str
    log_marginal: float
    standard_error: float
    seconds: float
    evaluations: int
    seed: int

    def as_dict(self) -> dict:
        return asdict(self)


def cell_seed(seed: int, tree_index: int, method: str, replicate: int) -> int:
    """63-bit seed of one grid cell, a pure function of its coordinates and the user's seed."""
    method_index = list(METHODS).index(method)
    sequence = np.random.SeedSequence(entropy=int(seed), spawn_key=(tree_index, method_index, replicate))
    return int(sequence.generate_state(2, dtype=np.uint32).view(np.uint64)[0] >> np.uint64(1))


def run_cell(patterns, tree: Tree, tree_index: int, method: str, replicate: int, seed: int, preset: str,
             model=None, prior_rate: float = 10.0) -> CellResult:
    """Fit one estimator on one topology (the unit of work sent to a dask worker)."""
    problem = FixedTopologyProblem(patterns, tree, model, prior_rate=prior_rate)
    estimator = make_estimator(method, preset=preset, random_state=seed)
    estimator.fit(problem)
    return CellResult(replicate=replicate, tree=tree_index, tree_name=tree.name or f"tree{tree_index}",
                      method=method, label=estimator.label, log_marginal=estimator.log_marginal_,
                      standard_error=estimator.standard_error_, seconds=estimator.wall_time_,
                      evaluations=estimator.n_likelihood_evaluations_, seed=seed)


def grid_cells(n_trees: int, methods: Sequence[str], n_replicates: int, seed: int) -> list[tuple[int, str, int, int]]:
    """``(tree, method, replicate, cell seed)`` for every cell, replicate-major order."""
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise PhyloVIError(f"unknown method(s) {unknown}; known: {', '.join(METHODS)}")
    return [(t, m, r, cell_seed(seed, t, m, r))
            for r in range(n_replicates) for t in range(n_trees) for m in methods]


def run_grid(patterns, trees: Sequence[Tree], methods: Sequence[str], *, n_replicates: int = 1, seed: int = 0,
             preset: str = "paper", model=None, prior_rate: float = 10.0, client=None,
             progress: Callable[[int], None] | None = None) -> list[CellResult]:
    """Run every cell; ``client`` is a ``dask.distributed.Client`` or None for in-process.

    ``progress`` is called with 1 after each finished cell (e.g. ``tqdm.update``). Results come
    back in the order of :func:`grid_cells` whatever order the cells finished in.
    """
    cells = grid_cells(len(trees), methods, n_replicates, seed)
    if client is None:
        results = []
        for tree_index, method, replicate, cell in cells:
            results.append(run_cell(patterns, trees[tree_index], tree_index, method, replicate, cell, preset,
                                    model, prior_rate))
            if progress is not None:
                progress(1)
        return results
    return _run_on_dask(client, patterns, trees, cells, preset, model, prior_rate, progress)


def _run_on_dask(client, patterns, trees, cells: Iterable[tuple[int, str, int, int]], preset, model, prior_rate,
                 progress) -> list[CellResult]:
    from dask.distributed import as_completed

    patterns_future = client.scatter(patterns, broadcast=True)
    tree_futures = client.scatter(list(trees), broadcast=True)
    futures = []
    for tree_index, method, replicate, cell in cells:
        futures.append(client.submit(run_cell, patterns_future, tree_futures[tree_index], tree_index, method,
                                     replicate, cell, preset, model, prior_rate, pure=False,
                                     key=f"marginal-{tree_index}-{method}-{replicate}-{cell}"))
    position = {future.key: i for i, future in enumerate(futures)}
    results: list[CellResult | None] = [None] * len(futures)
    for future in as_completed(futures):
        results[position[future.key]] = future.result()
        if progress is not None:
            progress(1)
    return results  # type: ignore[return-value]
