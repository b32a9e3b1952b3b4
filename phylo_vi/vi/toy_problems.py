"""Small discrete problems with exactly known gradients, for testing and comparing estimators.

* :class:`BernoulliToy` (Tucker et al. 2017, §6.1; Liu et al. 2019, Fig. 2; Kool et al. 2020,
  §6.1): ``x in {0,1}^3`` with ``x_i ~ Bernoulli(sigmoid(eta))`` iid and
  ``f(x) = sum_i (x_i - t_i)^2``, ``t = (0.6, 0.51, 0.48)``; the exact gradient is
  ``sigmoid'(eta) * sum_i (1 - 2 t_i)``, i.e. -0.045 at ``eta = 0``.
* :class:`CategoricalToy`: a categorical ``q = softmax(theta)`` over ``C`` categories and a
  fixed cost vector ``f``; the exact gradient of ``E_q[f]`` is ``q * (f - E_q f)``.

Both expose the eight (or ``C``) outcomes as one flat categorical: ``log_probs()`` gives the
differentiable log-probabilities (n_outcomes,) and ``cost(index)`` the cost of outcomes, so
every flat-categorical estimator can be run on both.
"""
from __future__ import annotations

import torch
from torch import Tensor

from phylo_vi.errors import InvalidParameterError

__all__ = ["BernoulliToy", "CategoricalToy"]


class BernoulliToy:
    """Three iid Bernoulli(sigmoid(eta)) bits with quadratic cost (Kool et al. 2020, §6.1)."""

    def __init__(self, eta: float = 0.0, targets: tuple[float, ...] = (0.6, 0.51, 0.48), *,
                 device: torch.device | str = "cpu", dtype: torch.dtype = torch.float64):
        self.parameter = torch.tensor(float(eta), device=device, dtype=dtype, requires_grad=True)
        self.targets = torch.tensor(targets, device=device, dtype=dtype)
        n_bits = len(targets)
        codes = torch.arange(2 ** n_bits, device=device)
        shifts = torch.arange(n_bits - 1, -1, -1, device=device)
        self.outcomes = ((codes.unsqueeze(-1) >> shifts) & 1).to(dtype)   # (2^n, n) bit patterns

    @property
    def n_outcomes(self) -> int:
        return self.outcomes.shape[0]

    def log_probs(self, parameter: Tensor | None = None) -> Tensor:
        """(..., 2^n) log-probabilities of the outcomes; ``parameter`` (...) defaults to eta."""
        eta = self.parameter if parameter is None else parameter
        eta = eta.unsqueeze(-1).unsqueeze(-1)
        log_one = torch.nn.functional.logsigmoid(eta)
        log_zero = torch.nn.functional.logsigmoid(-eta)
        return (self.outcomes * log_one + (1 - self.outcomes) * log_zero).sum(-1)

    def cost(self, index: Tensor) -> Tensor:
        """Cost ``sum_i (x_i - t_i)^2`` of outcomes ``index`` (long, any shape)."""
        return ((self.outcomes[index] - self.targets) ** 2).sum(-1)

    def exact_gradient(self) -> Tensor:
        """d E[f] / d eta by enumerating the outcomes and autograd (a 0-d tensor)."""
        eta = self.parameter.detach().clone().requires_grad_(True)
        expectation = (self.log_probs(eta).exp() * self.cost(torch.arange(self.n_outcomes,
                                                                          device=eta.device))).sum()
        (gradient,) = torch.autograd.grad(expectation, eta)
        return gradient


class CategoricalToy:
    """``E_{softmax(theta)}[f]`` for a fixed cost vector ``f`` over ``C`` categories."""

    def __init__(self, logits: Tensor, costs: Tensor):
        if logits.shape != costs.shape or logits.dim() != 1:
            raise InvalidParameterError("logits and costs must be 1-d tensors of equal length")
        self.parameter = logits.detach().clone().requires_grad_(True)
        self.costs = costs.detach().to(logits)

    @property
    def n_outcomes(self) -> int:
        return self.costs.shape[0]

    def log_probs(self, parameter: Tensor | None = None) -> Tensor:
        theta = self.parameter if parameter is None else parameter
        return torch.log_softmax(theta, dim=-1)

    def cost(self, index: Tensor) -> Tensor:
        return self.costs[index]

    def exact_gradient(self) -> Tensor:
        """``q * (f - E_q f)``, the gradient of ``E_q[f]`` w.r.t. the logits."""
        q = torch.softmax(self.parameter.detach(), dim=-1)
        return q * (self.costs - (q * self.costs).sum())
