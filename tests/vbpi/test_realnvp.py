"""RealNVP branch-length flows (VBPI-NF): change of variables against finite differences, edge-order
invariance, and a short training on the 5-taxon problem (exact answer in tests/vbpi/five_taxa.py)."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from phylo_vi.vbpi.estimator import VBPI
from phylo_vi.vbpi.realnvp import RealNVPBranchModel
from .test_estimator import check_against_exact
from .test_objectives import canonical_noise


@pytest.fixture
def realnvp(full_support):
    model = RealNVPBranchModel(full_support, 5, n_layers=3, hidden=8, generator=torch.Generator().manual_seed(3))
    generator = torch.Generator().manual_seed(4)
    with torch.no_grad():  # away from the identity start, so that the flow has a Jacobian to check
        for parameter in model.couplings.parameters():
            parameter.add_(0.5 * torch.randn(parameter.shape, generator=generator, dtype=parameter.dtype))
    return model


def test_realnvp_log_density_is_the_change_of_variables_by_finite_differences(realnvp, sampled):
    # reference: log q(log b) = Σ log N(ε) − log |det ∂ log b / ∂ε|, the Jacobian of the whole draw
    # ε ↦ log b taken by central finite differences (step 1e-5, float64)
    noise = torch.tensor(np.random.default_rng(0).standard_normal((len(sampled), sampled.n_edges)))
    with torch.no_grad():
        _, log_q = realnvp.sample(sampled, noise)
        step = 1e-5
        for row in range(0, len(sampled), 7):
            columns = []
            for edge in range(sampled.n_edges):
                shift = torch.zeros_like(noise)
                shift[row, edge] = step
                upper, _ = realnvp.sample(sampled, noise + shift)
                lower, _ = realnvp.sample(sampled, noise - shift)
                columns.append((upper[row] - lower[row]) / (2 * step))
            log_det = torch.linalg.slogdet(torch.stack(columns, dim=1))[1]
            standard_normal = float(-0.5 * (noise[row] ** 2).sum() - 0.5 * sampled.n_edges * math.log(2 * math.pi))
            assert float(log_q[row]) == pytest.approx(standard_normal - float(log_det), abs=1e-7)


def test_realnvp_density_does_not_depend_on_the_node_order(realnvp, sampled):
    # the 40 draws repeat topologies in different node orders; with the noise attached to the splits,
    # every copy of a topology must get the same branch lengths (per split) and the same density
    noise = torch.tensor(canonical_noise(sampled, np.random.default_rng(1).standard_normal((1, sampled.n_edges))))
    with torch.no_grad():
        log_branch, log_q = realnvp.sample(sampled, noise)
    by_split = np.take_along_axis(log_branch.numpy(), sampled.canonical_order, axis=1)
    first = {}
    repeated = 0
    for row, key in enumerate(sampled.topology_keys):
        if key in first:
            repeated += 1
            np.testing.assert_allclose(by_split[row], by_split[first[key]], atol=1e-12)
            assert float(log_q[row]) == pytest.approx(float(log_q[first[key]]), abs=1e-12)
        else:
            first[key] = row
    assert repeated > 0


def test_realnvp_starts_as_the_log_normal_base(full_support, sampled):
    model = RealNVPBranchModel(full_support, 5, n_layers=2, generator=torch.Generator().manual_seed(3))
    noise = torch.tensor(np.random.default_rng(2).standard_normal((len(sampled), sampled.n_edges)))
    mean, log_std = model.mean_log_std(sampled)
    log_branch, log_q = model.sample(sampled, noise)
    torch.testing.assert_close(log_branch, mean + log_std.exp() * noise - 2.0)
    base = torch.distributions.Normal(mean, log_std.exp()).log_prob(mean + log_std.exp() * noise).sum(-1)
    torch.testing.assert_close(log_q, base)


@pytest.mark.slow
def test_realnvp_training_reaches_the_exact_evidence(five_taxa):
    # the schedule and the checks of the RWS test (tests/vbpi/test_estimator.py: KL < 0.01, marginal likelihood
    # within 4 s.e. of the exact value), the flow's parameters at a tenth of the step as in VBPI-NF (README: 1e-4
    # for RealNVP against 1e-3); at the full step the flow is still noisy after 3000 iterations (KL 0.07)
    fitted = VBPI(estimator="rws", branch_model="realnvp", flow_layers=2, random_state=1, warm_up=1000,
                  lr_decay_every=1000, learning_rate=0.01, branch_learning_rate=0.001).fit(
        five_taxa.patterns, five_taxa.arrays(), 3000)
    check_against_exact(fitted, five_taxa)


def test_realnvp_runs_resume_exactly(five_taxa, tmp_path):
    settings = dict(random_state=7, warm_up=50, branch_model="realnvp", flow_layers=2)
    whole = VBPI(**settings).fit(five_taxa.patterns, five_taxa.arrays(), 20)
    VBPI(checkpoint_path=tmp_path / "p.ckpt", **settings).fit(five_taxa.patterns, five_taxa.arrays(), 10)
    resumed = VBPI(**settings).fit(five_taxa.patterns, None, 20, resume=tmp_path / "p.ckpt")
    np.testing.assert_array_equal(resumed.trace_["bound"], whole.trace_["bound"])
