"""REINFORCE with baselines: exact variances on the Bernoulli toy (spec §1.9/§1.10 tables) by
enumerating every tuple of K iid draws, and Monte-Carlo unbiasedness."""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch

from phylo_vi.vi.score_function import MovingAverageBaseline, leave_one_out_baseline, score_function_surrogate
from phylo_vi.vi.toy_problems import BernoulliToy


def _exact_moments(eta: float, n_samples: int, device, dtype) -> tuple[float, float]:
    toy = BernoulliToy(eta, device=device, dtype=dtype)
    tuples = torch.tensor(list(itertools.product(range(8), repeat=n_samples)), device=device)  # (8^K, K)
    eta_rows = torch.full((tuples.shape[0],), eta, device=device, dtype=dtype, requires_grad=True)
    log_p = toy.log_probs(eta_rows).gather(-1, tuples)
    cost = toy.cost(tuples)
    baseline = leave_one_out_baseline(cost, dim=1) if n_samples > 1 else None
    score_function_surrogate(log_p, cost, baseline, dim=1).sum().backward()
    weights = log_p.detach().sum(-1).exp().to(torch.float64)
    grads = eta_rows.grad.detach().to(torch.float64)
    mean = float((weights * grads).sum())
    return mean, float((weights * (grads - mean) ** 2).sum())


# reference: spec vi_core.md §1.10 table, "REINFORCE-LOO" columns (k = 1 is plain REINFORCE, also
# §1.9 k = 1); exact enumeration [V]
@pytest.mark.parametrize("eta, n_samples, variance", [
    (0.0, 1, 0.4384), (0.0, 2, 7.28e-3), (0.0, 3, 3.20e-3), (0.0, 4, 1.99e-3),
    (-4.0, 1, 3.356e-2), (-4.0, 2, 3.81e-4), (-4.0, 3, 2.46e-4), (-4.0, 4, 1.82e-4)])
def test_reinforce_exact_variance_table(eta, n_samples, variance, device, dtype):
    mean, var = _exact_moments(eta, n_samples, device, dtype)
    truth = -0.045 if eta == 0.0 else -0.0031794   # spec §1.9 (closed form -0.00317929)
    assert mean == pytest.approx(truth, abs=1.5e-7 if dtype == torch.float64 else 1e-5)
    assert var == pytest.approx(variance, rel=1e-2)


def test_reinforce_leave_one_out_monte_carlo_unbiased(device, dtype):
    # |mean - truth| < 3 sd / sqrt(n) with n = 1e4 (Liu et al. test_gradients.py)
    n, k = 10_000, 3
    toy = BernoulliToy(0.0, device=device, dtype=dtype)
    generator = torch.Generator(device=device).manual_seed(2)
    eta_rows = torch.zeros(n, device=device, dtype=dtype, requires_grad=True)
    log_probs = toy.log_probs(eta_rows)
    gumbel = -torch.log(-torch.log(torch.rand(n, k, 8, generator=generator, device=device, dtype=dtype)))
    index = torch.argmax(log_probs.detach().unsqueeze(1) + gumbel, dim=-1)
    log_p = log_probs.gather(-1, index)
    cost = toy.cost(index)
    score_function_surrogate(log_p, cost, leave_one_out_baseline(cost, dim=1), dim=1).sum().backward()
    grads = eta_rows.grad.to(torch.float64)
    assert abs(grads.mean().item() + 0.045) < 3 * grads.std().item() / math.sqrt(n)


def test_surrogate_value_is_sample_mean_and_keeps_pathwise_gradient(device, dtype):
    theta = torch.tensor(0.3, device=device, dtype=dtype, requires_grad=True)
    log_p = torch.stack([theta, 2 * theta])
    f = torch.stack([theta ** 2, torch.tensor(1.0, device=device, dtype=dtype)])
    surrogate = score_function_surrogate(log_p, f)
    assert surrogate.item() == pytest.approx((0.09 + 1.0) / 2, rel=64 * torch.finfo(dtype).eps)
    (grad,) = torch.autograd.grad(surrogate, theta)
    # by hand: mean(f_k * dlogp_k + df_k) = (0.09*1 + 2*theta + 1.0*2 + 0) / 2
    assert grad.item() == pytest.approx((0.09 + 0.6 + 2.0) / 2, rel=64 * torch.finfo(dtype).eps)


def test_moving_average_baseline_recursion():
    baseline = MovingAverageBaseline(decay=0.5)
    values = [torch.tensor([2.0, 4.0]), torch.tensor([0.0]), torch.tensor([1.0])]
    returned = [baseline(v).item() for v in values]
    # first call: 0 (no history); then the EMA of earlier means 3 -> 0.5*3 + 0.5*0 = 1.5
    assert returned == [0.0, 3.0, 1.5]
    assert baseline.value_.item() == pytest.approx(0.5 * 1.5 + 0.5 * 1.0, rel=1e-6)  # float32 tensors


def test_leave_one_out_baseline_values():
    f = torch.tensor([[1.0, 2.0, 6.0]])
    np.testing.assert_allclose(leave_one_out_baseline(f, dim=1).numpy(), [[4.0, 3.5, 1.5]])
    with pytest.raises(ValueError):
        leave_one_out_baseline(f[:, :1], dim=1)
