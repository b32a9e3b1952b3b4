"""GECO on the spec's closed-form toy (§1.11): x = 2, p(z) = N(0,1), q = N(mu, s^2),
C = E(x - z)^2 - 0.5; stationarity gives lambda* = 1.5, mu* = 1.5, s^2* = 0.25."""
from __future__ import annotations

import math

import pytest
import torch

from phylo_vi.vi.geco import GECO


def _run(n_steps, lr, step_size, n_samples, device, dtype, alpha=0.99, seed=0):
    mu = torch.zeros((), device=device, dtype=dtype, requires_grad=True)
    log_s = torch.zeros((), device=device, dtype=dtype, requires_grad=True)
    optimizer = torch.optim.Adam([mu, log_s], lr=lr)
    geco = GECO(alpha=alpha, step_size=step_size)
    generator = torch.Generator(device=device).manual_seed(seed)
    for _ in range(n_steps):
        s2 = torch.exp(2 * log_s)
        kl = 0.5 * (mu ** 2 + s2 - 1.0) - log_s
        if n_samples:
            z = mu + log_s.exp() * torch.randn(n_samples, generator=generator, device=device, dtype=dtype)
            constraint = ((2.0 - z) ** 2).mean() - 0.5
        else:
            constraint = (2.0 - mu) ** 2 + s2 - 0.5       # exact expectation
        loss = geco(kl, constraint)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return geco, mu.item(), torch.exp(2 * log_s).item()


def test_geco_reaches_closed_form_fixed_point(device, dtype):
    # exact constraint expectation and a faster schedule (alpha 0.9, nu 0.1, Adam lr 0.1)
    geco, mu, s2 = _run(1000, 0.1, 0.1, 0, device, dtype, alpha=0.9)
    tol = 5e-3
    assert geco.multiplier_.item() == pytest.approx(1.5, abs=tol)
    assert mu == pytest.approx(1.5, abs=tol)
    assert s2 == pytest.approx(0.25, abs=tol)
    assert abs(geco.constraint_ma_.item()) < tol


@pytest.mark.slow
def test_geco_spec_settings_monte_carlo(device, dtype):
    # spec §1.11: Adam lr 1e-2, 64 samples, alpha 0.99, nu 1e-2, 20k steps -> lambda 1.501
    geco, mu, s2 = _run(20_000, 1e-2, 1e-2, 64, device, dtype)
    assert geco.multiplier_.item() == pytest.approx(1.5, abs=0.03)
    assert mu == pytest.approx(1.5, abs=0.03)
    assert s2 == pytest.approx(0.25, abs=0.03)


def test_multiplier_gets_no_gradient_and_stays_positive(device, dtype):
    geco = GECO(step_size=10.0)
    x = torch.tensor(1.0, device=device, dtype=dtype, requires_grad=True)
    for _ in range(50):
        geco(x ** 2, -(x ** 2) - 100.0)          # strongly satisfied: lambda shrinks to the clamp
    assert geco.multiplier_.item() == pytest.approx(1e-10, rel=64 * torch.finfo(dtype).eps)
    assert not geco.multiplier_.requires_grad
    geco = GECO(alpha=0.5, initial_multiplier=2.0)
    geco(x ** 2, x ** 2 - 4.0)                  # C_ma = -3
    used = geco.multiplier_.item()
    assert used == pytest.approx(2.0 * math.exp(-3e-2), rel=64 * torch.finfo(dtype).eps)
    loss = geco(x ** 2, 3 * x ** 2)             # C_t = 3, C_ma = 0.5 * -3 + 0.5 * 3 = 0
    # value uses the moving average; gradient uses the batch: d/dx [x^2 + lambda 3 x^2] = 2x + 6 lambda x
    assert loss.item() == pytest.approx(1.0 + used * 0.0, rel=64 * torch.finfo(dtype).eps)
    (grad,) = torch.autograd.grad(loss, x)
    assert grad.item() == pytest.approx(2.0 + 6.0 * used, rel=64 * torch.finfo(dtype).eps)
