"""Bayesian layers: the sparse-VD KL approximation against quadrature (spec §1.3), local
reparameterisation moments and gradient variance (spec §1.2), Bayes by Backprop (spec §1.13)."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import integrate, stats

from phylo_vi.vi.bayesian_layers import (BayesByBackpropLinear, LocalReparameterizationLinear, ScaleMixturePrior,
                                         SparseVDLinear, minibatch_kl_weights, sparse_vd_neg_kl)


def _exact_neg_kl(log_alpha: float) -> float:
    """0.5 log alpha - E log|1 + sqrt(alpha) eps| by quadrature split at the pole eps = -1/sqrt(alpha)."""
    root = math.sqrt(math.exp(log_alpha))
    pole = -1.0 / root
    integrand = lambda e: math.log(abs(1.0 + root * e)) * stats.norm.pdf(e)
    parts = [integrate.quad(integrand, -np.inf, pole, limit=200)[0],
             integrate.quad(integrand, pole, np.inf, limit=200)[0]]
    return 0.5 * log_alpha - sum(parts)


def test_sparse_vd_kl_approximation_matches_quadrature(device, dtype):
    # spec §1.3 [V]: after aligning the constant at log alpha = 10, max |exact - approx| on
    # [-10, 10] is 0.0094, reached near log alpha = -3.5
    grid = np.linspace(-10, 10, 41)
    exact = np.array([_exact_neg_kl(a) for a in grid])
    approx = sparse_vd_neg_kl(torch.tensor(grid, device=device, dtype=dtype)).double().cpu().numpy()
    deviation = np.abs(exact - (exact[-1] - approx[-1]) - approx)
    assert deviation.max() == pytest.approx(0.0094, abs=6e-4)
    assert grid[deviation.argmax()] == pytest.approx(-3.5, abs=0.75)


def test_sparse_vd_clipping_pruning_and_local_moments(device, dtype):
    layer = SparseVDLinear(3, 2, generator=torch.Generator().manual_seed(0), dtype=dtype, device=device)
    with torch.no_grad():
        layer.theta.copy_(torch.tensor([[1.0, 0.5, 1e-3], [2.0, 0.0, -1.0]], device=device, dtype=dtype))
        layer.log_sigma2.fill_(math.log(0.04))
    log_alpha = layer.log_alpha()
    assert log_alpha.max().item() == 8.0 and log_alpha.min().item() >= -8.0
    layer.eval()
    pruned = layer.pruned_weight()
    assert pruned[0, 2].item() == 0.0 and pruned[1, 1].item() == 0.0 and pruned[0, 0].item() == 1.0
    assert layer.sparsity() == pytest.approx(2 / 6, rel=1e-12)
    layer.train()
    x = torch.tensor([[1.0, -2.0, 0.5]], device=device, dtype=dtype).expand(20_000, 3)
    out = layer(x).detach().double()
    alpha = log_alpha.exp().detach().double()
    theta = layer.theta.detach().double()
    expected_var = (x[0].double() ** 2 * alpha * theta ** 2).sum(-1) + 1e-8
    torch.testing.assert_close(out.mean(0), x[0].double() @ theta.T, atol=5 * (expected_var.sqrt().max() / 140).item(), rtol=0)
    torch.testing.assert_close(out.var(0), expected_var, rtol=0.05, atol=1e-6)
    assert layer.kl().item() == pytest.approx(-sparse_vd_neg_kl(log_alpha).sum().item(),
                                              rel=64 * torch.finfo(dtype).eps)


def test_local_reparameterization_moments_and_lower_gradient_variance(device, dtype):
    generator = torch.Generator().manual_seed(1)
    layer = LocalReparameterizationLinear(4, 3, initial_rho=-1.0, generator=generator, dtype=dtype, device=device)
    inputs = torch.randn(16, 4, generator=generator, dtype=dtype).to(device)
    mean = inputs @ layer.weight_mean.detach().T
    var = inputs ** 2 @ (layer.weight_std().detach() ** 2).T
    draws = layer(inputs.repeat(4000, 1)).detach().view(4000, 16, 3)   # fresh noise per row
    torch.testing.assert_close(draws.mean(0), mean, atol=0.06, rtol=0)
    torch.testing.assert_close(draws.var(0), var, rtol=0.1, atol=1e-3)
    # gradient of a minibatch loss w.r.t. the weight means: local noise vs one shared weight sample
    def grad_local():
        layer.zero_grad()
        layer(inputs).pow(2).mean().backward()
        return layer.weight_mean.grad.clone()

    def grad_shared():
        layer.zero_grad()
        w = layer.weight_mean + layer.weight_std() * torch.randn(3, 4, generator=generator, dtype=dtype).to(device)
        (inputs @ w.T + layer.bias).pow(2).mean().backward()
        return layer.weight_mean.grad.clone()

    local = torch.stack([grad_local() for _ in range(200)])
    shared = torch.stack([grad_shared() for _ in range(200)])
    torch.testing.assert_close(local.mean(0), shared.mean(0), atol=0.1, rtol=0)   # same expectation
    assert local.var(0).sum().item() < shared.var(0).sum().item()
    # analytic KL against torch.distributions.kl_divergence
    q = torch.distributions.Normal(layer.weight_mean, layer.weight_std())
    p = torch.distributions.Normal(torch.zeros_like(layer.weight_mean), torch.ones_like(layer.weight_mean))
    assert layer.kl().item() == pytest.approx(torch.distributions.kl_divergence(q, p).sum().item(), rel=1e-6)


def test_bayes_by_backprop_monte_carlo_kl_and_mixture_prior(device, dtype):
    # with a one-component (Gaussian) prior the MC KL matches the closed form (spec §1.13)
    generator = torch.Generator().manual_seed(2)
    prior = ScaleMixturePrior(pi=1.0, sigma1=0.5)
    layer = BayesByBackpropLinear(3, 2, prior=prior, initial_rho=-1.0, generator=generator, dtype=dtype, device=device)
    x = torch.ones(1, 3, device=device, dtype=dtype)
    kls = []
    for _ in range(1500):
        layer(x)
        kls.append((layer.log_q_ - layer.log_prior_).item())
    std = torch.nn.functional.softplus(layer.rho).detach()
    closed = torch.distributions.kl_divergence(torch.distributions.Normal(layer.mean.detach(), std),
                                               torch.distributions.Normal(0.0, 0.5)).sum().item()
    assert abs(np.mean(kls) - closed) < 4 * np.std(kls) / math.sqrt(len(kls))
    # scale mixture log-density against scipy
    mixture = ScaleMixturePrior(pi=0.25, sigma1=math.exp(-1), sigma2=math.exp(-7))
    w = torch.tensor([0.0, 1e-3, 0.3, -1.0], device=device, dtype=dtype)
    reference = np.log(0.25 * stats.norm.pdf(w.cpu(), scale=math.exp(-1))
                       + 0.75 * stats.norm.pdf(w.cpu(), scale=math.exp(-7))).sum()
    assert mixture.log_prob(w).item() == pytest.approx(reference, rel=1e-6)
    weights = minibatch_kl_weights(4)
    assert sum(weights) == pytest.approx(1.0, rel=1e-12) and weights[0] == pytest.approx(8 / 15, rel=1e-12)
    assert minibatch_kl_weights(4, scheme="uniform") == [0.25] * 4
