"""The estimation grid (topologies × methods × replicates), serially or on dask.distributed.

Every cell gets its own seed, derived with :class:`numpy.random.SeedSequence` from the user's
seed and the cell's coordinates ``(tree index, method index in METHODS, replicate)``, so a cell's
result does not depend on the other cells, on the order the cells run in, or on how many
workers run them: the same seed gives the same log Z values serially, on a LocalCluster with any
number of workers, or on an existing cluster (``scheduler`` address, e.g. dask-jobqueue on SLURM).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Callable, Iterable, Sequence

import numpy as np

from phylo_vi.errors import PhyloVIError
from phylo_vi.marginal.methods import METHODS, make_estimator
from phylo_vi.marginal.problem import FixedTopologyProblem
from phylo_vi.trees import Tree
from phylo_vi.util.deprecation import renamed


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
             model=None, prior_rate: float = 10.0, progress: Callable[[float], None] | None = None) -> CellResult:
    """Fit one estimator on one topology (the unit of work sent to a dask worker).

    ``progress`` receives fractions of the cell summing to 1: one per β step of the ladder
    estimators (:meth:`~phylo_vi.marginal.base.MarginalEstimator.fit`), the rest when the cell ends.
    """
    problem = FixedTopologyProblem(patterns, tree, model, prior_rate=prior_rate)
    estimator = make_estimator(method, preset=preset, random_state=seed)
    if progress is None:
        estimator.fit(problem)
    else:
        done = []
        estimator.fit(problem, progress=lambda fraction: (done.append(fraction), progress(fraction)))
        rest = 1.0 - math.fsum(done)
        if rest > 1e-9:
            progress(rest)
    return CellResult(replicate=replicate, tree=tree_index, tree_name=tree.name or f"tree{tree_index}",
                      method=method, label=estimator.label, log_marginal=estimator.log_marginal_,
                      standard_error=estimator.standard_error_, seconds=estimator.wall_time_,
                      evaluations=estimator.n_likelihood_evaluations_, seed=seed)


def grid_cells(n_trees: int, methods: Sequence[str], n_replicates: int,
               random_state: int) -> list[tuple[int, str, int, int]]:
    """``(tree, method, replicate, cell seed)`` for every cell, replicate-major order; the cell seeds
    derive from the integer ``random_state`` (:func:`cell_seed`)."""
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise PhyloVIError(f"unknown method(s) {unknown}; known: {', '.join(METHODS)}")
    return [(t, m, r, cell_seed(random_state, t, m, r))
            for r in range(n_replicates) for t in range(n_trees) for m in methods]


def run_grid(patterns, trees: Sequence[Tree], methods: Sequence[str], *, n_replicates: int = 1,
             random_state: int = 0, preset: str = "paper", model=None, prior_rate: float = 10.0, client=None,
             progress: Callable[[int], None] | None = None, seed: int | None = None) -> list[CellResult]:
    """Run every cell; ``client`` is a ``dask.distributed.Client`` or None for in-process.

    ``random_state`` is the integer seed every cell seed derives from (``seed``: its deprecated
    spelling). ``progress`` (e.g. ``tqdm.update``) receives increments that sum to 1 per cell: in
    process, fractions of a cell as the ladder estimators finish their β steps (:func:`run_cell`),
    so that a bar over few long cells still moves and shows an ETA; on dask, 1 per finished cell.
    Results come back in the order of :func:`grid_cells` whatever order the cells finished in.
    """
    random_state = renamed("run_grid", "seed", "random_state", seed, random_state, default=0)
    cells = grid_cells(len(trees), methods, n_replicates, random_state)
    if client is None:
        results = []
        for tree_index, method, replicate, cell in cells:
            results.append(run_cell(patterns, trees[tree_index], tree_index, method, replicate, cell, preset,
                                    model, prior_rate, progress))
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


DASK_CONNECT_TIMEOUT_S = 5.0


def _check_scheduler_reachable(address: str) -> None:
    """Open and close one TCP connection to ``address`` (``tcp://host:port`` or ``host:port``) so that an
    unreachable scheduler is one clear error at once, not dask's retries until its timeout."""
    import socket

    from dask.distributed.comm.addressing import parse_address, parse_host_port

    try:
        protocol, location = parse_address(address)
        host, port = parse_host_port(location)
    except (ValueError, TypeError) as exc:
        raise PhyloVIError(f"scheduler address {address!r} is not tcp://HOST:PORT ({exc})") from None
    if protocol not in ("tcp", "tls") or port is None:
        raise PhyloVIError(f"scheduler address {address!r} is not tcp://HOST:PORT")
    try:
        socket.create_connection((host, int(port)), timeout=DASK_CONNECT_TIMEOUT_S).close()
    except OSError as exc:
        raise PhyloVIError(f"dask scheduler {address} is unreachable ({exc.strerror or exc})") from None


class DaskClient:
    """Context manager giving the ``client`` of :func:`run_grid`: None (in-process, one worker), a
    client of a fresh ``LocalCluster`` of ``workers`` processes, or a client of the running
    scheduler at ``scheduler`` (checked to be reachable first)."""

    def __init__(self, workers: int = 1, scheduler: str | None = None):
        if scheduler is None and workers < 1:
            raise PhyloVIError(f"workers must be at least 1, got {workers}")
        self.workers, self.scheduler = workers, scheduler
        self.client = self.cluster = None

    def __enter__(self):
        if self.scheduler is None and self.workers == 1:
            return None
        from dask.distributed import Client, LocalCluster

        if self.scheduler is not None:
            _check_scheduler_reachable(self.scheduler)
            self.client = Client(self.scheduler, timeout=DASK_CONNECT_TIMEOUT_S)
        else:
            self.cluster = LocalCluster(n_workers=self.workers, threads_per_worker=1, processes=True,
                                        dashboard_address=":0")
            self.client = Client(self.cluster)
        return self.client

    def __exit__(self, *exc) -> None:
        if self.client is not None:
            self.client.close()
        if self.cluster is not None:
            self.cluster.close()
