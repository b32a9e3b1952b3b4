"""VBPI end to end on the 5-taxon problem (exact answer in tests/vbpi/five_taxa.py); resume determinism."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from phylo_vi.errors import PhyloVIError
from phylo_vi.sbn.kl import kl_divergence
from phylo_vi.vbpi.checkpoint import load_checkpoint, save_checkpoint
from phylo_vi.vbpi.estimator import VBPI

# from uniform CPDs: the support sample here is the 15 topologies once each, so an EM start has nothing to tell
FAST = {"warm_up": 1000, "lr_decay_every": 1000, "learning_rate": 0.01, "warm_start": None}


def check_against_exact(fitted: VBPI, five_taxa) -> None:
    kl = kl_divergence(fitted.distribution_, five_taxa.arrays(), five_taxa.posterior).kl
    assert kl < 0.01
    evaluation = fitted.evaluate(n_runs=100, n_is_particles=1000, n_is_repeats=10)
    standard_error = np.hypot(evaluation.log_marginal_sd / np.sqrt(10), five_taxa.log_evidence_standard_error)
    assert abs(evaluation.log_marginal - five_taxa.log_evidence) < 4 * standard_error
    assert evaluation.elbo < evaluation.bound_10 < five_taxa.log_evidence + 4 * standard_error


def test_rws_reaches_the_exact_topology_posterior_and_evidence(five_taxa):
    fitted = VBPI(estimator="rws", random_state=1, **FAST).fit(five_taxa.patterns, five_taxa.arrays(), 3000)
    check_against_exact(fitted, five_taxa)


@pytest.mark.slow
def test_vimco_reaches_the_exact_topology_posterior_and_evidence(five_taxa):
    fitted = VBPI(estimator="vimco", random_state=1, **FAST).fit(five_taxa.patterns, five_taxa.arrays(), 10_000)
    check_against_exact(fitted, five_taxa)


def test_resumed_run_repeats_the_uninterrupted_run_exactly(five_taxa, tmp_path):
    settings = dict(random_state=5, warm_up=50, learning_rate=0.01)
    whole = VBPI(**settings).fit(five_taxa.patterns, five_taxa.arrays(), 40)
    checkpoint = tmp_path / "half.ckpt"
    VBPI(checkpoint_path=checkpoint, **settings).fit(five_taxa.patterns, five_taxa.arrays(), 20)
    resumed = VBPI(**settings).fit(five_taxa.patterns, None, 40, resume=checkpoint)
    for name, values in whole.trace_.items():
        np.testing.assert_array_equal(resumed.trace_[name], values, err_msg=name)
    for (name, value), other in zip(whole.posterior_.state_dict().items(), resumed.posterior_.state_dict().values()):
        assert torch.equal(value, other), name
    other_seed = VBPI(**{**settings, "random_state": 6}).fit(five_taxa.patterns, five_taxa.arrays(), 40)
    assert not np.array_equal(other_seed.trace_["bound"], whole.trace_["bound"])


def test_resume_refuses_other_settings(five_taxa, tmp_path):
    checkpoint = tmp_path / "run.ckpt"
    VBPI(random_state=1, checkpoint_path=checkpoint).fit(five_taxa.patterns, five_taxa.arrays(), 2)
    with pytest.raises(PhyloVIError, match="n_particles"):
        VBPI(random_state=1, n_particles=20).fit(five_taxa.patterns, None, 4, resume=checkpoint)


def test_checkpoint_written_before_the_rooting_setting_resumes_as_the_sum_over_rootings(five_taxa, tmp_path):
    settings = dict(random_state=5, warm_up=50, learning_rate=0.01)
    whole = VBPI(**settings).fit(five_taxa.patterns, five_taxa.arrays(), 20)
    checkpoint = tmp_path / "old.ckpt"
    VBPI(checkpoint_path=checkpoint, **settings).fit(five_taxa.patterns, five_taxa.arrays(), 10)
    state = load_checkpoint(checkpoint)
    del state["params"]["rooting"]
    save_checkpoint(checkpoint, {key: value for key, value in state.items() if key not in ("format", "version")})
    resumed = VBPI(**settings).fit(five_taxa.patterns, None, 20, resume=checkpoint)
    np.testing.assert_array_equal(resumed.trace_["bound"], whole.trace_["bound"])
    with pytest.raises(PhyloVIError, match="rooting"):
        VBPI(rooting="canonical", **settings).fit(five_taxa.patterns, None, 20, resume=checkpoint)


def test_trace_records_the_warm_up_and_learning_rate_schedule(five_taxa):
    # reference schedule (zcrabbit/vbpi-torch:unrooted/vbpi.py learn): β = min(1, β0 + t / warm-up),
    # learning rate × 0.75 after every lr_decay_every iterations
    fitted = VBPI(random_state=1, warm_up=4, initial_beta=0.001, lr_decay_every=3, branch_learning_rate=3e-4).fit(
        five_taxa.patterns, five_taxa.arrays(), 7)
    trace = fitted.trace_
    np.testing.assert_allclose(trace["beta"], np.minimum(1.0, 0.001 + np.arange(1, 8) / 4))
    np.testing.assert_allclose(trace["learning_rate"], 1e-3 * 0.75 ** (np.arange(7) // 3))
    topology_group, branch_group = fitted._optimizer.param_groups
    assert (topology_group["lr"], branch_group["lr"]) == pytest.approx((1e-3 * 0.75 ** 2, 3e-4 * 0.75 ** 2))
    assert np.all(np.isfinite(trace["bound"]))


def test_bad_settings_raise(five_taxa):
    with pytest.raises(PhyloVIError, match="estimator"):
        VBPI(estimator="reinforce").fit(five_taxa.patterns, five_taxa.arrays(), 1)
    with pytest.raises(PhyloVIError, match="checkpoint_path"):
        VBPI(checkpoint_every=5).fit(five_taxa.patterns, five_taxa.arrays(), 1)


def test_torch_backend_trains_like_the_numba_backend(five_taxa, device):
    # the same seed draws the same particles; the two likelihood implementations agree to rounding
    settings = dict(random_state=2, warm_up=50, learning_rate=0.01)
    numba_run = VBPI(**settings).fit(five_taxa.patterns, five_taxa.arrays(), 20)
    torch_run = VBPI(backend="torch", device=str(device), **settings).fit(five_taxa.patterns, five_taxa.arrays(), 20)
    np.testing.assert_allclose(torch_run.trace_["bound"], numba_run.trace_["bound"], rtol=1e-9)


def test_the_default_em_warm_start_starts_q_at_the_sbn_em_fit(five_taxa):
    # softmax of the EM log probabilities gives back the EM network: same log q on all 15 topologies
    from phylo_vi.sbn import SubsplitBayesianNetwork
    from phylo_vi.trees.arrays import TreeArrays

    arrays = five_taxa.arrays()
    weighted = TreeArrays(arrays.parent, arrays.taxon, five_taxa.posterior, arrays.taxa)
    started = VBPI(support_level=1.0, random_state=1).fit(five_taxa.patterns, weighted, 0)
    network = SubsplitBayesianNetwork(method="em", alpha=1e-4).fit(weighted)
    np.testing.assert_allclose(started.distribution_.log_prob(arrays), network.log_prob(arrays), rtol=0, atol=1e-10)
    uniform = VBPI(warm_start=None, support_level=1.0, random_state=1).fit(five_taxa.patterns, weighted, 0)
    exact_kl = lambda fitted: kl_divergence(fitted.distribution_, arrays, five_taxa.posterior).kl  # noqa: E731
    assert exact_kl(started) < exact_kl(uniform)


def test_training_stops_on_a_plateau_of_the_bound(five_taxa):
    window = 200
    fitted = VBPI(random_state=3, plateau_window=window, plateau_tol=0.05, **FAST).fit(
        five_taxa.patterns, five_taxa.arrays(), 20_000)
    assert fitted.stopped_on_plateau_ and fitted.n_iter_ < 20_000 and fitted.n_iter_ % window == 0
    trace = fitted.trace_
    # the rule, recomputed from the trace: β = 1 over both windows and a gain below the tolerance
    assert trace["beta"][-2 * window] == 1.0
    assert trace["bound"][-window:].mean() - trace["bound"][-2 * window:-window].mean() < 0.05


@pytest.mark.parametrize("branch_model", ["planar", "gnn"])
def test_flow_and_gnn_runs_resume_exactly(five_taxa, tmp_path, branch_model):
    settings = dict(random_state=7, warm_up=50, branch_model=branch_model, flow_layers=2, gnn_hidden=8)
    whole = VBPI(**settings).fit(five_taxa.patterns, five_taxa.arrays(), 20)
    VBPI(checkpoint_path=tmp_path / "p.ckpt", **settings).fit(five_taxa.patterns, five_taxa.arrays(), 10)
    resumed = VBPI(**settings).fit(five_taxa.patterns, None, 20, resume=tmp_path / "p.ckpt")
    np.testing.assert_array_equal(resumed.trace_["bound"], whole.trace_["bound"])
    assert np.isfinite(whole.evaluate(n_runs=10, n_is_particles=50, n_is_repeats=2).log_marginal)
