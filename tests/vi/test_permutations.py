"""Sinkhorn marginals and its zero-temperature limit against scipy's linear_sum_assignment;
Birkhoff stick-breaking (doubly stochastic, log-det vs autograd slogdet) and rounding."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.optimize import linear_sum_assignment

from phylo_vi.vi.permutations import (birkhoff_rounding_log_prob, birkhoff_rounding_sample,
                                      birkhoff_stick_breaking, gumbel_sinkhorn, hungarian_matching, log_sinkhorn)


def test_sinkhorn_marginals(device, dtype):
    generator = torch.Generator(device=device).manual_seed(0)
    log_alpha = 3 * torch.randn(4, 6, 6, generator=generator, device=device, dtype=dtype)
    p = log_sinkhorn(log_alpha, n_iters=200).exp()
    tol = 1e-9 if dtype == torch.float64 else 1e-5
    torch.testing.assert_close(p.sum(-1), torch.ones(4, 6, device=device, dtype=dtype), atol=tol, rtol=0)
    torch.testing.assert_close(p.sum(-2), torch.ones(4, 6, device=device, dtype=dtype), atol=tol, rtol=0)
    # Sinkhorn only rescales rows and columns: p = diag(r) exp(X) diag(c), so every 2x2 cross
    # ratio is preserved (Sinkhorn 1964)
    i, j, k, l = 0, 1, 2, 3
    cross = lambda m: m[..., i, k] + m[..., j, l] - m[..., i, l] - m[..., j, k]
    torch.testing.assert_close(cross(p.log()), cross(log_alpha), atol=1e-8 if dtype == torch.float64 else 1e-3, rtol=0)


def test_sinkhorn_zero_temperature_limit_is_hungarian(device, dtype):
    rng = np.random.default_rng(1)
    for _ in range(5):
        scores = rng.normal(size=(7, 7))
        rows, cols = linear_sum_assignment(scores, maximize=True)   # reference: scipy
        reference = np.zeros((7, 7))
        reference[rows, cols] = 1.0
        x = torch.tensor(scores, device=device, dtype=dtype)
        coarse = log_sinkhorn(x / 1e-1, n_iters=1000, tol=1e-7).exp().cpu().double().numpy()
        limit = log_sinkhorn(x / 1e-3, n_iters=1000, tol=1e-7).exp().cpu().double().numpy()
        # Sinkhorn converges slowly at low temperature (spec §1.12): 1000 sweeps get within 0.05
        np.testing.assert_array_equal(limit.argmax(axis=1), cols[np.argsort(rows)])
        np.testing.assert_allclose(limit, reference, atol=5e-2)
        assert np.abs(limit - reference).max() < np.abs(coarse - reference).max()
        np.testing.assert_array_equal(hungarian_matching(x).cpu().numpy(), reference)


def test_gumbel_sinkhorn_samples_are_doubly_stochastic_and_harden(device, dtype):
    log_alpha = torch.randn(5, 5, generator=torch.Generator(device=device).manual_seed(2), device=device, dtype=dtype)
    soft, perturbed = gumbel_sinkhorn(log_alpha, 1e-2, n_samples=8, n_iters=500,
                                      generator=torch.Generator(device=device).manual_seed(3))
    assert soft.shape == (8, 5, 5)
    torch.testing.assert_close(soft.sum(-2), torch.ones(8, 5, device=device, dtype=dtype), atol=1e-4, rtol=0)
    # at low temperature the relaxed sample rounds to the hard Gumbel-matching sample
    torch.testing.assert_close(hungarian_matching(soft), hungarian_matching(perturbed))
    assert (soft - hungarian_matching(perturbed)).abs().mean().item() < 0.02


def test_stick_breaking_doubly_stochastic_and_log_det(device, dtype):
    n = 5
    beta = torch.rand(3, n - 1, n - 1, generator=torch.Generator(device=device).manual_seed(4), device=device, dtype=dtype)
    x, log_det = birkhoff_stick_breaking(beta)
    tol = 1e-10 if dtype == torch.float64 else 1e-5
    torch.testing.assert_close(x.sum(-1), torch.ones(3, n, device=device, dtype=dtype), atol=tol, rtol=0)
    torch.testing.assert_close(x.sum(-2), torch.ones(3, n, device=device, dtype=dtype), atol=tol, rtol=0)
    assert bool((x >= -tol).all())
    for b, value in zip(beta, log_det):   # reference: autograd Jacobian of the free block
        jacobian = torch.autograd.functional.jacobian(
            lambda v: birkhoff_stick_breaking(v.view(n - 1, n - 1))[0][: n - 1, : n - 1].reshape(-1), b.reshape(-1))
        assert value.item() == pytest.approx(torch.linalg.slogdet(jacobian).logabsdet.item(),
                                             abs=1e-9 if dtype == torch.float64 else 1e-3)
    # extreme sticks give permutation matrices
    corner, _ = birkhoff_stick_breaking(torch.ones(n - 1, n - 1, device=device, dtype=dtype))
    assert sorted(corner.sum(0).tolist()) == [1.0] * n and set(corner.flatten().tolist()) <= {0.0, 1.0}


def test_rounding_density_and_hard_limit(device, dtype):
    n, tau = 4, 0.3
    generator = torch.Generator(device=device).manual_seed(6)
    log_mean = torch.randn(n, n, generator=generator, device=device, dtype=dtype)
    log_scale = torch.full((n, n), math.log(0.2), device=device, dtype=dtype)
    x, log_q = birkhoff_rounding_sample(log_mean, log_scale, tau, generator=generator)
    rounded = hungarian_matching(x)
    psi = (x - (1 - tau) * rounded) / tau
    torch.testing.assert_close(hungarian_matching(psi), rounded)            # round(X) = round(Psi)
    # reference: change of variables X = tau Psi + const -> Normal(M~, V).log_prob(Psi) - N^2 log tau
    mean = log_sinkhorn(log_mean, 50).exp()
    reference = torch.distributions.Normal(mean, log_scale.exp()).log_prob(psi).sum() - n * n * math.log(tau)
    assert log_q.item() == pytest.approx(reference.item(), rel=1e-6 if dtype == torch.float64 else 1e-4)
    assert birkhoff_rounding_log_prob(x, log_mean, log_scale, tau).item() == pytest.approx(
        log_q.item(), rel=64 * torch.finfo(dtype).eps)
    with pytest.raises(ValueError):
        birkhoff_rounding_sample(log_mean, log_scale, 1.0)
