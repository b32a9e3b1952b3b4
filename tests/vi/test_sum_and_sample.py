"""Sum-and-sample: exact variances on the Bernoulli toy (spec §1.9 table) by enumerating the
sampled category, and Monte-Carlo unbiasedness."""
from __future__ import annotations

import math

import pytest
import torch

from phylo_vi.vi.sum_and_sample import optimal_n_summed, sum_and_sample_surrogate, sum_and_sample_terms
from phylo_vi.vi.toy_problems import BernoulliToy


def _exact_moments(eta: float, n_summed: int, device, dtype) -> tuple[float, float]:
    """Mean and variance over u ~ q(. | u not in the top n_summed), enumerated."""
    toy = BernoulliToy(eta, device=device, dtype=dtype)
    q = toy.log_probs().detach().double().exp().cpu()
    # exact ties (e.g. the three one-bit outcomes) go to the lower index, as in the spec's table
    order = torch.sort(q.round(decimals=12), descending=True, stable=True).indices
    summed, others = order[:n_summed], order[n_summed:]
    rest = q[others].sum().item()
    eta_rows = torch.full((len(others),), eta, device=device, dtype=dtype, requires_grad=True)
    log_q = toy.log_probs(eta_rows)
    summed_rows = summed.to(device).expand(len(others), n_summed)
    sum_and_sample_terms(log_q, toy.cost, summed_rows, others.to(device)).sum().backward()
    grads = eta_rows.grad.double().cpu()
    weights = q[others] / rest
    mean = float((weights * grads).sum())
    return mean, float((weights * (grads - mean) ** 2).sum())


# reference: spec vi_core.md §1.9 table ("k-1 summed, 1 sampled", REINFORCE without baseline),
# exact enumeration [V] with ties summed in index order; true gradients -0.045 and -0.0031794 (closed form -0.00317929)
@pytest.mark.parametrize("eta, k, variance", [
    (0.0, 1, 0.4384), (0.0, 2, 0.1943), (0.0, 3, 0.1302), (0.0, 4, 0.0699), (0.0, 5, 0.0554),
    (-4.0, 1, 3.356e-2), (-4.0, 2, 5.06e-5), (-4.0, 3, 2.78e-5), (-4.0, 4, 1.16e-5), (-4.0, 5, 3.77e-8)])
def test_exact_variance_table(eta, k, variance, device, dtype):
    if dtype != torch.float64 and variance < 1e-6:
        pytest.skip("variances below 1e-6 need float64")
    mean, var = _exact_moments(eta, k - 1, device, dtype)
    truth = -0.045 if eta == 0.0 else -0.0031794
    assert mean == pytest.approx(truth, abs=1.5e-7 if dtype == torch.float64 else 2e-6)
    assert var == pytest.approx(variance, rel=1e-2)


@pytest.mark.parametrize("n_summed", [0, 2])
def test_monte_carlo_unbiased(n_summed, device, dtype):
    n = 10_000
    toy = BernoulliToy(0.0, device=device, dtype=dtype)
    eta_rows = torch.zeros(n, device=device, dtype=dtype, requires_grad=True)
    generator = torch.Generator(device=device).manual_seed(8)
    sum_and_sample_surrogate(toy.log_probs(eta_rows), toy.cost, n_summed, generator=generator).sum().backward()
    grads = eta_rows.grad.double()
    assert abs(grads.mean().item() + 0.045) < 3 * grads.std().item() / math.sqrt(n)


def test_surrogate_value_and_optimal_number_summed(device, dtype):
    log_q = torch.log(torch.tensor([0.7, 0.2, 0.06, 0.04], device=device, dtype=dtype))
    # top-1 leaves 0.3, top-2 0.1, top-3 0.04 of the mass unsummed
    assert optimal_n_summed(log_q, max_summed=3, tail_mass=0.05) == 3
    assert optimal_n_summed(log_q, max_summed=3, tail_mass=0.15) == 2
    assert optimal_n_summed(log_q, max_summed=1, tail_mass=0.01) == 1
    costs = torch.tensor([1.0, 2.0, 3.0, 4.0], device=device, dtype=dtype)
    value = sum_and_sample_terms(log_q, lambda i: costs[i], torch.tensor([0, 1], device=device),
                                 torch.tensor(3, device=device))
    # 0.7*1 + 0.2*2 + (1 - 0.9)*4
    assert value.item() == pytest.approx(0.7 + 0.4 + 0.4, rel=1e-6)


@pytest.mark.parametrize("n_summed", [1, 3])
def test_baseline_keeps_the_estimator_unbiased(n_summed, device, dtype):
    # exact: the expected gradient, enumerated over the sampled category, equals the exact gradient
    # with any baseline b (a baseline subtracted in the sampled term only is off by b grad q(C))
    logits = torch.tensor([0.3, -0.2, 1.1, 0.0], device=device, dtype=dtype, requires_grad=True)
    costs = torch.tensor([1.0, 2.5, -0.5, 4.0], device=device, dtype=dtype)
    exact, = torch.autograd.grad((torch.softmax(logits, -1) * costs).sum(), logits)
    q = torch.softmax(logits.detach(), -1)
    order = torch.sort(q, descending=True, stable=True).indices
    summed, others = order[:n_summed], order[n_summed:]
    expected = torch.zeros_like(exact)
    for u in others:
        rows = logits.unsqueeze(0)
        value = sum_and_sample_terms(torch.log_softmax(rows, -1), lambda i: costs[i], summed.unsqueeze(0),
                                     u.unsqueeze(0), baseline=1.7)
        gradient, = torch.autograd.grad(value.sum(), logits)
        expected += q[u] / q[others].sum() * gradient
    tolerance = 1e-12 if dtype == torch.float64 else 1e-5
    assert torch.allclose(expected, exact, atol=tolerance, rtol=0)
