"""Concrete / Gumbel-softmax in log space: argmax frequencies equal pi (spec §1.8), density
against torch's ExpRelaxedCategorical, finiteness at low temperature, straight-through."""
from __future__ import annotations

import math

import pytest
import torch
from torch.distributions.relaxed_categorical import ExpRelaxedCategorical

from phylo_vi.vi.concrete import gumbel_softmax, log_concrete_log_prob, sample_log_concrete, straight_through

PI = (0.1, 0.2, 0.3, 0.4)


@pytest.mark.parametrize("temperature", [0.1, 1.0, 5.0])
def test_argmax_frequencies_equal_pi(temperature, device, dtype):
    # spec §1.8: P(argmax = k) = pi_k at every temperature; binomial noise 4.5 s.e. (2e5 draws)
    n = 200_000
    logits = torch.tensor(PI, device=device, dtype=dtype).log()
    generator = torch.Generator(device=device).manual_seed(int(temperature * 10))
    log_y = sample_log_concrete(logits, temperature, (n,), generator=generator)
    freq = torch.bincount(log_y.argmax(-1), minlength=4).double().cpu() / n
    for f, p in zip(freq.tolist(), PI):
        assert abs(f - p) < 4.5 * math.sqrt(p * (1 - p) / n)


@pytest.mark.parametrize("temperature", [0.1, 0.7, 3.0])
def test_log_density_matches_torch_exp_relaxed_categorical(temperature, device, dtype):
    logits = torch.tensor([0.3, -1.0, 2.0, 0.5, -0.2], device=device, dtype=dtype)
    generator = torch.Generator(device=device).manual_seed(0)
    log_y = sample_log_concrete(logits, temperature, (64,), generator=generator)
    reference = ExpRelaxedCategorical(torch.tensor(temperature, device=device, dtype=dtype), logits=logits)
    torch.testing.assert_close(log_concrete_log_prob(log_y, logits, temperature), reference.log_prob(log_y),
                               rtol=1e-6 if dtype == torch.float64 else 1e-4, atol=1e-6)


def test_low_temperature_log_densities_stay_finite(device, dtype):
    # spec §1.8: T = 0.1, 50 categories, logits of scale 3 -> probability-space densities fail
    generator = torch.Generator(device=device).manual_seed(1)
    logits = 3 * torch.randn(50, generator=generator, device=device, dtype=dtype)
    log_y = sample_log_concrete(logits, 0.1, (2000,), generator=generator)
    assert bool(torch.isfinite(log_concrete_log_prob(log_y, logits, 0.1)).all())
    assert bool(torch.isfinite(log_y).all())


def test_straight_through_forward_one_hot_backward_soft(device, dtype):
    logits = torch.tensor([0.2, 1.5, -0.3], device=device, dtype=dtype, requires_grad=True)
    generator = torch.Generator(device=device).manual_seed(2)
    hard = gumbel_softmax(logits, 0.5, hard=True, generator=generator)
    assert sorted(hard.detach().tolist()) == [0.0, 0.0, 1.0]
    weights = torch.tensor([1.0, 2.0, 3.0], device=device, dtype=dtype)
    (grad_hard,) = torch.autograd.grad((hard * weights).sum(), logits)
    generator = torch.Generator(device=device).manual_seed(2)
    soft = gumbel_softmax(logits, 0.5, generator=generator)
    (grad_soft,) = torch.autograd.grad((soft * weights).sum(), logits)
    torch.testing.assert_close(grad_hard, grad_soft)
    log_y = torch.log_softmax(torch.tensor([0.1, 3.0, 0.2], device=device, dtype=dtype), -1)
    assert straight_through(log_y).argmax().item() == 1
