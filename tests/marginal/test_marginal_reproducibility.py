"""Same seed, same answer: estimators, the grid in-process and on dask with 1 or 2 workers."""
from __future__ import annotations

import numpy as np
import pytest

from phylo_vi.io.newick import parse_newick
from phylo_vi.marginal import (GeneralizedSteppingStone, NestedSampling, SteppingStone, VariationalImportanceSampling,
                               make_estimator)
from phylo_vi.marginal.grid import cell_seed, run_grid

LADDER = dict(n_steps=10, n_iter=1000, thin=5, n_burnin=20)


@pytest.mark.parametrize("factory", [
    lambda seed: SteppingStone(**LADDER, random_state=seed),
    pytest.param(lambda seed: GeneralizedSteppingStone(**LADDER, sampler="hmc", n_leapfrog=3, random_state=seed),
                 marks=pytest.mark.slow),
    lambda seed: VariationalImportanceSampling(max_iter=2000, n_samples=500, random_state=seed),
    lambda seed: NestedSampling(n_live=10, n_mcmc=20, random_state=seed),
])
def test_same_seed_same_estimate(factory, quartet):
    first = factory(11).fit(quartet.problem()).log_marginal_
    again = factory(11).fit(quartet.problem()).log_marginal_
    other = factory(12).fit(quartet.problem()).log_marginal_
    assert first == again
    assert first != other


def test_cell_seeds_depend_only_on_the_cell():
    assert cell_seed(5, 2, "gss", 1) == cell_seed(5, 2, "gss", 1)
    seeds = {cell_seed(5, t, m, r) for t in range(3) for m in ("gss", "ss", "nmc") for r in range(2)}
    assert len(seeds) == 18
    assert cell_seed(6, 0, "gss", 0) != cell_seed(5, 0, "gss", 0)


def test_grid_identical_in_process_and_on_dask(quartet):
    from dask.distributed import Client, LocalCluster

    trees = [quartet.tree, parse_newick("((A,C),B,D);", quartet.patterns.taxa, add_taxa=False)]
    methods = ["nmc", "glis", "gl"]
    serial = run_grid(quartet.patterns, trees, methods, n_replicates=2, random_state=9, preset="paper")
    values = {}
    for workers in (1, 2):
        with LocalCluster(n_workers=workers, threads_per_worker=1, processes=False, dashboard_address=":0") as cluster, \
                Client(cluster) as client:
            values[workers] = run_grid(quartet.patterns, trees, methods, n_replicates=2, random_state=9, preset="paper",
                                       client=client)
    expected = [(r.replicate, r.tree, r.method, r.log_marginal) for r in serial]
    for workers in (1, 2):
        assert [(r.replicate, r.tree, r.method, r.log_marginal) for r in values[workers]] == expected
    # and each cell equals a direct API call with the cell's seed
    direct = make_estimator("glis", preset="paper", random_state=cell_seed(9, 1, "glis", 1))
    from phylo_vi.marginal import FixedTopologyProblem

    direct.fit(FixedTopologyProblem(quartet.patterns, trees[1]))
    row = next(r for r in serial if (r.tree, r.method, r.replicate) == (1, "glis", 1))
    assert row.log_marginal == direct.log_marginal_
    assert np.isfinite([r.log_marginal for r in serial]).all()


def test_ladder_reports_every_step_once_and_the_estimate_is_unchanged(quartet):
    steps = []
    plain = SteppingStone(**LADDER, random_state=11).fit(quartet.problem())
    with_progress = SteppingStone(**LADDER, random_state=11).fit(quartet.problem(), progress=steps.append)
    # LADDER has 10 β steps, each one tenth of the fit; the callback must not touch the random stream
    assert steps == [pytest.approx(0.1, abs=1e-15)] * 10
    assert with_progress.log_marginal_ == plain.log_marginal_
    assert with_progress.standard_error_ == plain.standard_error_


def test_ladder_chain_callback_counts_every_chain_in_order(quartet):
    from phylo_vi.marginal.power_posterior import run_power_posterior_ladder

    calls = []
    betas = np.linspace(0.0, 1.0, 4)
    run_power_posterior_ladder(quartet.problem(), betas, sampler="mh", n_iter=50, thin=5, n_burnin=2, n_leapfrog=1,
                               rng=np.random.default_rng(1), on_step=lambda k, n: calls.append((k, n)))
    assert calls == [(1, 4), (2, 4), (3, 4), (4, 4)]


def test_grid_progress_moves_inside_a_cell_and_sums_to_the_cells(quartet):
    increments = []
    methods = ["ss", "gss", "gl"]
    with_progress = run_grid(quartet.patterns, [quartet.tree], methods, random_state=4, preset="fast",
                             progress=increments.append)
    plain = run_grid(quartet.patterns, [quartet.tree], methods, random_state=4, preset="fast")
    assert [r.log_marginal for r in with_progress] == [r.log_marginal for r in plain]
    # fast preset: 16 β steps (methods._FAST_LADDER), 1/16 of the cell each; GSS counts its posterior chain
    # and its 15 ladder chains; GL has no steps: one increment of 1 when its cell ends
    assert increments == [pytest.approx(1 / 16, abs=1e-15)] * 32 + [1.0]
    assert sum(increments) == pytest.approx(3.0, abs=1e-12)
