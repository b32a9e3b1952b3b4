"""Reparameterised ELBO (spec §1.1 toy) and reweighted wake-sleep (spec §1.15)."""
from __future__ import annotations

import math

import pytest
import torch

from phylo_vi.vi.elbo import normal_kl_to_standard, reparameterized_elbo
from phylo_vi.vi.rws import wake_phi_surrogate, wake_theta_surrogate

LOG_NORMAL = -0.5 * math.log(2 * math.pi)


def _log_normal(x, mean, log_scale):
    return LOG_NORMAL - log_scale - 0.5 * ((x - mean) / log_scale.exp()) ** 2


def _toy_elbo(mean, log_scale, eps, analytic: bool):
    """p(z) = N(0,1), p(x|z) = N(z,1), x = 1, q = N(mean, exp(log_scale)^2)."""
    z = mean + log_scale.exp() * eps
    zero = torch.zeros_like(z)
    log_lik = _log_normal(torch.ones_like(z), z, zero)
    if analytic:
        return reparameterized_elbo(log_lik, kl=normal_kl_to_standard(mean, log_scale, event_dims=0))
    return reparameterized_elbo(log_lik, log_prior=_log_normal(z, zero, zero),
                                log_q=_log_normal(z, mean, log_scale))


def test_elbo_toy_closed_form_values(device, dtype):
    # spec §1.1: q = N(0,1) gives ELBO = -1.9189, log p(x) = -1.5155 at q = posterior N(0.5, 0.5)
    eps = torch.randn(200_000, generator=torch.Generator(device=device).manual_seed(0), device=device, dtype=dtype)
    zero = torch.zeros((), device=device, dtype=dtype)
    for analytic in (True, False):
        assert _toy_elbo(zero, zero, eps, analytic).item() == pytest.approx(-1.9189, abs=0.01)
    # analytic KL of N(0,1) to N(0,1) is 0: estimator B has only the likelihood term's noise
    assert normal_kl_to_standard(zero, zero, event_dims=0).item() == 0.0
    mean = torch.tensor(0.5, device=device, dtype=dtype)
    log_scale = torch.tensor(0.5 * math.log(0.5), device=device, dtype=dtype)
    per_sample = _log_normal(torch.ones(1, device=device, dtype=dtype), mean + log_scale.exp() * eps, zero) \
        + _log_normal(mean + log_scale.exp() * eps, zero, zero) - _log_normal(mean + log_scale.exp() * eps, mean, log_scale)
    # log p(x) = log N(1; 0, 2) = -1.5155 for every sample: zero variance at the posterior
    assert per_sample.mean().item() == pytest.approx(-0.5 * math.log(4 * math.pi) - 0.25, abs=1e-6)
    assert per_sample.std().item() < 1e-6


def test_analytic_kl_matches_monte_carlo_kl(device, dtype):
    mean = torch.tensor([0.3, -1.2], device=device, dtype=dtype)
    log_scale = torch.tensor([-0.4, 0.2], device=device, dtype=dtype)
    eps = torch.randn(400_000, 2, generator=torch.Generator(device=device).manual_seed(3), device=device, dtype=dtype)
    z = mean + log_scale.exp() * eps
    zero = torch.zeros_like(z)
    mc = (_log_normal(z, mean, log_scale) - _log_normal(z, zero, zero)).sum(-1)
    se = mc.std().item() / math.sqrt(mc.numel())
    assert abs(mc.mean().item() - normal_kl_to_standard(mean, log_scale).item()) < 4 * se
    with pytest.raises(ValueError):
        reparameterized_elbo(z, kl=mc.mean(), log_q=z)


def test_wake_phi_approaches_inclusive_kl_gradient(device, dtype):
    # q = softmax(theta) over 4 categories, p = (.1,.2,.3,.4): -grad KL(p||q) = p - q
    theta = torch.tensor([1.0, 0.0, -1.0, 0.5], device=device, dtype=dtype, requires_grad=True)
    target = torch.tensor([0.1, 0.2, 0.3, 0.4], device=device, dtype=dtype)
    k, reps = 2000, 50
    generator = torch.Generator(device=device).manual_seed(5)
    q = torch.softmax(theta.detach(), 0)
    z = torch.multinomial(q.expand(reps, 4), k, replacement=True, generator=generator).T     # (K, reps)
    log_q = torch.log_softmax(theta, 0)[z]
    log_joint = target.log()[z] + math.log(2.0)
    (grad,) = torch.autograd.grad(wake_phi_surrogate(log_joint, log_q).mean(), theta)
    torch.testing.assert_close(grad, target - q, atol=0.01, rtol=0)
    # wake-theta: gradient flows to the model only
    scale = torch.tensor(2.0, device=device, dtype=dtype, requires_grad=True)
    bound = wake_theta_surrogate(target.log()[z] + scale.log(), log_q)
    g_theta, g_scale = torch.autograd.grad(bound.sum(), (theta, scale), allow_unused=True)
    assert g_theta is None or float(g_theta.abs().sum()) == 0.0
    assert g_scale.item() == pytest.approx(reps / 2.0, rel=1e-6)   # d/ds log s per replicate
