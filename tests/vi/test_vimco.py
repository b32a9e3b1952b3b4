"""VIMCO against exact enumeration on the spec's 4-category toy (spec §1.14)."""
from __future__ import annotations

import itertools
import math

import pytest
import torch

from phylo_vi.vi.vimco import vimco_learning_signal, vimco_surrogate

THETA = (1.0, 0.0, -1.0, 0.5)
TARGET = (0.2, 0.4, 0.6, 0.8)   # p~ = 2 * (.1, .2, .3, .4), so log Z = log 2


def _enumerate(k: int, device, dtype, control_variate: bool = True, log_target=None):
    """Exact L_K, exact grad L_K (autograd of the enumerated bound) and the estimator's exact
    mean and total variance over all 4^K tuples."""
    tuples = torch.tensor(list(itertools.product(range(4), repeat=k)), device=device)   # (4^K, K)
    if log_target is None:
        log_target = torch.tensor(TARGET, device=device, dtype=dtype).log()
    theta = torch.tensor(THETA, device=device, dtype=dtype, requires_grad=True)
    log_q = torch.log_softmax(theta, 0)[tuples]                                        # (4^K, K)
    log_w = log_target[tuples] - log_q
    prob = log_q.detach().sum(-1).exp()
    bound = torch.logsumexp(log_w, -1) - math.log(k)
    exact_bound = (prob * bound.detach()).sum()
    (exact_grad,) = torch.autograd.grad((log_q.sum(-1).exp() * bound).sum(), theta)
    # per-tuple estimator gradients: one parameter copy per tuple
    thetas = theta.detach().expand(tuples.shape[0], 4).clone().requires_grad_(True)
    log_q_rows = torch.log_softmax(thetas, -1).gather(-1, tuples)
    surrogate = vimco_surrogate((log_target[tuples] - log_q_rows).T, log_q_rows.T, control_variate=control_variate)
    surrogate.sum().backward()
    grads = thetas.grad
    mean = (prob.unsqueeze(-1) * grads).sum(0)
    variance = (prob.unsqueeze(-1) * (grads - mean) ** 2).sum()
    return exact_bound.item(), exact_grad, mean, variance.item()


# reference: spec vi_core.md §1.14 table, exact enumeration [V]
@pytest.mark.parametrize("k, bound, gradient, vimco_var, naive_var", [
    (2, 0.400041, (-0.306259, 0.049003, 0.124940, 0.132317), 0.5578, 1.1002),
    (4, 0.542521, (-0.150933, 0.007739, 0.098463, 0.044731), 0.1441, 1.5347),
    (6, 0.592226, None, 0.0681, 1.9514)])
def test_vimco_exact_toy(k, bound, gradient, vimco_var, naive_var, device, dtype):
    tol = 1e-6 if dtype == torch.float64 else 1e-4
    exact_bound, exact_grad, mean, variance = _enumerate(k, device, dtype)
    assert exact_bound == pytest.approx(bound, abs=tol)
    if gradient is not None:
        torch.testing.assert_close(exact_grad.cpu().double(), torch.tensor(gradient, dtype=torch.float64),
                                   atol=2e-6 if dtype == torch.float64 else 1e-4, rtol=0)
    # unbiased: the exact mean of the estimator is the exact gradient of L_K
    torch.testing.assert_close(mean, exact_grad, atol=tol, rtol=0)
    assert variance == pytest.approx(vimco_var, rel=2e-3)
    _, _, naive_mean, naive_variance = _enumerate(k, device, dtype, control_variate=False)
    torch.testing.assert_close(naive_mean, exact_grad, atol=tol, rtol=0)
    assert naive_variance == pytest.approx(naive_var, rel=2e-3)
    assert variance < 0.6 * naive_variance


def test_learning_signal_matches_direct_formula(device, dtype):
    log_w = torch.tensor([[0.3, -1.2, 2.0, 0.1]], device=device, dtype=dtype).T      # (K=4, 1)
    signal = vimco_learning_signal(log_w)
    for j in range(4):
        others = [log_w[i, 0].item() for i in range(4) if i != j]
        swapped = others + [sum(others) / 3]
        direct = math.log(sum(map(math.exp, log_w[:, 0].tolist())) / 4) - math.log(sum(map(math.exp, swapped)) / 4)
        assert signal[j, 0].item() == pytest.approx(direct, rel=1e-6, abs=1e-12 if dtype == torch.float64 else 1e-6)
    with pytest.raises(ValueError):
        vimco_learning_signal(log_w[:1])


def test_discrete_iwae_gradient_where_pyro_renyi_gives_zero(device, dtype):
    # spec §2.2: z ~ Cat(.1,.2,.3,.4), x | z ~ N(z, 1), x = 2.5, guide logits (1, 0, -1, 0.5), K = 4.
    # Exact gradient of the IWAE *loss* -L_4 by enumeration: (0.443, 0.012, -0.187, -0.267);
    # Pyro's RenyiELBO(alpha=0) returns (0, 0, 0, 0). VIMCO's exact mean must equal it.
    z = torch.arange(4, device=device, dtype=dtype)
    log_target = torch.tensor([0.1, 0.2, 0.3, 0.4], device=device, dtype=dtype).log() \
        - 0.5 * math.log(2 * math.pi) - 0.5 * (2.5 - z) ** 2
    _, exact_grad, mean, _ = _enumerate(4, device, dtype, log_target=log_target)
    expected = torch.tensor([0.443, 0.012, -0.187, -0.267], dtype=torch.float64)
    torch.testing.assert_close(-exact_grad.cpu().double(), expected, atol=6e-4, rtol=0)
    torch.testing.assert_close(-mean.cpu().double(), expected, atol=6e-4, rtol=0)
