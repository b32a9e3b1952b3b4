"""IWAE bound monotonicity and bias, DReG, and the jackknife's bias reduction (spec §1.5, §1.6)."""
from __future__ import annotations

import math

import pytest
import torch

from phylo_vi.vi.iwae import dreg_surrogate, iwae_bound
from phylo_vi.vi.jackknife import jackknife_coefficients, jackknife_log_marginal

LOG_NORMAL = -0.5 * math.log(2 * math.pi)


def _linear_gaussian_log_weights(z: torch.Tensor) -> torch.Tensor:
    """p(z) = N(0,1), p(x|z) = N(z,1), x = 1, q = N(0,1): log w = log N(1; z, 1)."""
    return LOG_NORMAL - 0.5 * (1.0 - z) ** 2


# reference: spec §1.5, E[L_K] for K = 1, 2, 5, 10, 100 (MC s.e. <= 0.003) -> log p(x) = -1.5155;
# K = 1 is exact: E[log N(1; z, 1)] = -log(2 pi)/2 - 1 = -1.9189
@pytest.mark.parametrize("k, expected", [(1, -1.9189), (2, -1.6523), (5, -1.5575), (10, -1.5354), (100, -1.5173)])
def test_iwae_linear_gaussian_bounds(k, expected, device, dtype):
    generator = torch.Generator(device=device).manual_seed(k)
    reps = 400_000 // k
    z = torch.randn(k, reps, generator=generator, device=device, dtype=dtype)
    bounds = iwae_bound(_linear_gaussian_log_weights(z)).double()
    se = bounds.std().item() / math.sqrt(reps)
    assert abs(bounds.mean().item() - expected) < 3 * se + 0.003
    assert bounds.mean().item() < -1.5155   # log p(x) = log N(1; 0, 2)


def test_iwae_gradient_is_normalised_weights_times_score(device, dtype):
    # autograd of logmeanexp equals sum_k w~_k grad log w_k, with w~ constant (Burda eq. 14)
    mu = torch.tensor(0.4, device=device, dtype=dtype, requires_grad=True)
    eps = torch.tensor([-1.0, 0.3, 2.0], device=device, dtype=dtype)
    log_w = _linear_gaussian_log_weights(mu + eps)
    (grad,) = torch.autograd.grad(iwae_bound(log_w), mu)
    weights = torch.softmax(log_w.detach(), 0)
    by_hand = (weights * (1.0 - (mu.detach() + eps))).sum()    # d log w / d mu = (1 - z)
    assert grad.item() == pytest.approx(by_hand.item(), rel=1e-6)


def _gaussian_guide_log_weights(mu, log_sigma, eps, stop_guide: bool):
    z = mu + log_sigma.exp() * eps
    m, s = (mu.detach(), log_sigma.detach()) if stop_guide else (mu, log_sigma)
    log_q = LOG_NORMAL - s - 0.5 * ((z - m) / s.exp()) ** 2
    log_joint = 2 * LOG_NORMAL - 0.5 * z ** 2 - 0.5 * (1.0 - z) ** 2
    return log_joint - log_q


def test_dreg_unbiased_for_iwae_gradient_and_zero_variance_at_posterior(device, dtype):
    k, reps = 5, 20_000
    generator = torch.Generator(device=device).manual_seed(4)
    eps = torch.randn(k, reps, generator=generator, device=device, dtype=dtype)
    grads = {}
    for name, stop in (("iwae", False), ("dreg", True)):
        mu = torch.tensor(0.1, device=device, dtype=dtype, requires_grad=True)
        log_sigma = torch.tensor(0.2, device=device, dtype=dtype, requires_grad=True)
        log_w = _gaussian_guide_log_weights(mu, log_sigma, eps, stop)
        objective = dreg_surrogate(log_w) if stop else iwae_bound(log_w)
        grads[name] = torch.autograd.grad(objective.mean(), (mu, log_sigma))
        if stop:
            torch.testing.assert_close(objective, iwae_bound(log_w.detach()))
    # both are unbiased for grad L_K: the means agree within Monte-Carlo error (same eps)
    for a, b in zip(grads["iwae"], grads["dreg"]):
        assert abs(a.item() - b.item()) < 0.02
    # at q = posterior N(0.5, 0.5) every log w equals log p(x): DReG gradient is exactly zero
    mu = torch.tensor(0.5, device=device, dtype=dtype, requires_grad=True)
    log_sigma = torch.tensor(0.5 * math.log(0.5), device=device, dtype=dtype, requires_grad=True)
    log_w = _gaussian_guide_log_weights(mu, log_sigma, eps[:, :100], True)
    per_rep = torch.autograd.grad(dreg_surrogate(log_w).sum(), (mu, log_sigma))
    tol = 1e-9 if dtype == torch.float64 else 1e-4
    assert all(abs(g.item()) < tol for g in per_rep)
    assert log_w.detach().std().item() < tol


# reference: spec §1.5/§1.6, log w ~ N(-s^2/2, s^2) so log Z = 0; MC values with s.e. ~1e-3
@pytest.mark.parametrize("sigma, k, iwae_expected, jvi_expected", [
    (1.0, 2, -0.291, -0.082), (1.0, 4, -0.163, -0.030), (1.0, 8, -0.089, -0.0105), (1.0, 16, -0.048, -0.0037),
    (0.5, 2, -0.0653, -0.0062), (0.5, 4, -0.0344, -0.0020), (0.5, 8, -0.0175, -0.0005)])
def test_iwae_and_jackknife_bias_log_normal(sigma, k, iwae_expected, jvi_expected, device, dtype):
    reps = 400_000 // k
    generator = torch.Generator(device=device).manual_seed(100 + k)
    log_w = -0.5 * sigma ** 2 + sigma * torch.randn(k, reps, generator=generator, device=device, dtype=dtype)
    iwae = iwae_bound(log_w).double()
    jvi = jackknife_log_marginal(log_w, order=1).double()
    for values, expected in ((iwae, iwae_expected), (jvi, jvi_expected)):
        se = values.std().item() / math.sqrt(reps)
        assert abs(values.mean().item() - expected) < 3 * se + 1e-3
    assert abs(jvi.mean().item()) < abs(iwae.mean().item())


def test_jackknife_first_order_formula_and_coefficients(device, dtype):
    log_w = torch.tensor([0.2, -0.7, 1.1, 0.4], device=device, dtype=dtype)
    k = 4
    full = math.log(sum(math.exp(v) for v in log_w.tolist()) / k)
    loo = [math.log(sum(math.exp(v) for i, v in enumerate(log_w.tolist()) if i != j) / (k - 1)) for j in range(k)]
    direct = k * full - (k - 1) / k * sum(loo)     # Nowozin 2018, eq. 11
    assert jackknife_log_marginal(log_w, order=1).item() == pytest.approx(direct, rel=1e-6)
    assert jackknife_log_marginal(log_w, order=0).item() == pytest.approx(full, rel=1e-6)
    for order in range(4):   # Sharot coefficients sum to one (an unbiased constant stays unbiased)
        assert sum(jackknife_coefficients(6, order)) == pytest.approx(1.0, abs=1e-12)
    # Sharot 1976 coefficients for K = 5, order 2: 25/2, -(4^2)/1, 3^2/2
    assert jackknife_coefficients(5, 2) == [12.5, -16.0, 4.5]


def test_jackknife_second_order_removes_quadratic_bias():
    # if E[L_n] = c + a/n + b/n^2 then the order-2 combination of n, n-1, n-2 returns c
    c, a, b, n = 0.3, -0.7, 0.45, 7
    coefficients = jackknife_coefficients(n, 2)
    combined = sum(cj * (c + a / (n - j) + b / (n - j) ** 2) for j, cj in enumerate(coefficients))
    assert combined == pytest.approx(c, abs=1e-12)
