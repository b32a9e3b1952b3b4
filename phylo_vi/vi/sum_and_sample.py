"""Rao-Blackwellised "sum and sample" gradient estimator (Liu et al. 2019).

Let ``C`` be the ``n_summed`` categories of largest ``q`` and ``u ~ q(. | z not in C)``. For any
unbiased single-sample gradient estimator ``g`` (here REINFORCE, optionally with a baseline),

    g^ = sum_{z in C} q(z) g(z) + (1 - q(C)) g(u)                   (Liu et al. 2019, §3)

is unbiased, and its variance is at most ``(1 - q(C))^2`` times that of ``g`` (their
§3), so it pays off exactly when ``q`` is concentrated. The weights ``q(z)`` and
``1 - q(C)`` are constants (detached), and the choice of ``C`` is deterministic and not
differentiated (reference: Runjing-Liu120/RaoBlackwellizedSGD, rao_blackwellization_lib.py).

Choosing how many categories to sum: for a fixed number of summed categories the variance bound
is smallest for the top-``k`` categories (Liu et al. 2019, §3), and since the bound falls like
``(1 - q(C_k))^2`` while the cost grows linearly in ``k``, :func:`optimal_n_summed` returns the
smallest ``k`` (within a budget) whose unsummed mass is below a tolerance: beyond it, each added
evaluation reduces the variance bound by less than the tolerance squared.

References
----------
1. Liu, R., Regier, J., Tripuraneni, N., Jordan, M. I. & McAuliffe, J. (2019).
   Rao-Blackwellized stochastic gradients for discrete distributions. ICML.
"""
from __future__ import annotations

import math
from typing import Callable

import torch
from torch import Tensor

from phylo_vi.errors import InvalidParameterError
from phylo_vi.vi.logspace import log1mexp, sample_gumbel

__all__ = ["sum_and_sample_surrogate", "sum_and_sample_terms", "optimal_n_summed"]


def optimal_n_summed(log_q: Tensor, *, max_summed: int, tail_mass: float = 0.05) -> int:
    """Smallest ``k <= max_summed`` with unsummed mass ``1 - q(top-k) <= tail_mass`` (all rows).

    ``log_q`` (..., C); returns ``max_summed`` when no smaller ``k`` reaches the tolerance.
    """
    if max_summed < 0:
        raise InvalidParameterError("max_summed must be >= 0")
    sorted_log_q = torch.sort(log_q.detach(), dim=-1, descending=True).values
    covered = torch.logcumsumexp(sorted_log_q, dim=-1).exp()                   # q(top-k), k = 1..C
    reached = (1.0 - covered <= tail_mass).reshape(-1, covered.shape[-1]).all(dim=0)
    for k in range(min(max_summed, covered.shape[-1]) + 1):
        if k > 0 and bool(reached[k - 1]):
            return k
    return min(max_summed, covered.shape[-1])


def sum_and_sample_surrogate(log_q: Tensor, cost: Callable[[Tensor], Tensor], n_summed: int, *,
                             baseline: Tensor | float | None = None,
                             generator: torch.Generator | None = None) -> Tensor:
    """Surrogate whose gradient is the sum-and-sample estimator of ``grad E_q[cost]``.

    Parameters
    ----------
    log_q : (..., C) normalised log-probabilities, differentiable.
    cost : maps a long index tensor (...,) to costs (...,) (may depend on the parameters).
    n_summed : number of top categories summed exactly (``0`` is plain REINFORCE); one more
        category is sampled from the rest, so ``n_summed + 1`` cost evaluations are made.
    baseline : optional baseline ``b`` (REINFORCE with baseline), subtracted in every term, summed
        and sampled: the estimator is unbiased only when each term is the same unbiased ``g``
        (subtracting it in the sampled term alone biases the gradient by ``b grad q(C)``).

    Returns
    -------
    (...) tensor whose value is the sum-and-sample estimate of ``E_q[cost]``.
    """
    n_categories = log_q.shape[-1]
    if not 0 <= n_summed < n_categories:
        raise InvalidParameterError(f"n_summed must lie in [0, {n_categories - 1}], got {n_summed}")
    with torch.no_grad():
        order = torch.sort(log_q.detach(), dim=-1, descending=True, stable=True).indices
        summed = order[..., :n_summed]   # ties go to the lower category index
        excluded = torch.zeros_like(log_q, dtype=torch.bool).scatter_(-1, summed, True)
        masked = log_q.detach().masked_fill(excluded, -math.inf)
        noise = sample_gumbel(masked.shape, like=masked, generator=generator)
        sampled = torch.argmax(masked + noise, dim=-1)
    return sum_and_sample_terms(log_q, cost, summed, sampled, baseline=baseline)


def sum_and_sample_terms(log_q: Tensor, cost: Callable[[Tensor], Tensor], summed: Tensor, sampled: Tensor, *,
                         baseline: Tensor | float | None = None) -> Tensor:
    """The estimator above for given summed categories (..., k) and sampled category (...).

    ``sampled`` must lie outside ``summed`` and be drawn from ``q`` renormalised there (as
    :func:`sum_and_sample_surrogate` does); exposed so the estimator can be enumerated exactly.
    """
    def reinforce_term(index: Tensor) -> Tensor:
        """Value f(z); gradient (f(z) - b) grad log q(z) + grad f(z): the single-sample estimator g(z)."""
        log_p = log_q.gather(-1, index.unsqueeze(-1)).squeeze(-1)
        f = cost(index)
        signal = f.detach() if baseline is None else f.detach() - torch.as_tensor(baseline).to(f)
        return f + signal * (log_p - log_p.detach())

    total = torch.zeros_like(log_q[..., 0])
    for column in range(summed.shape[-1]):
        index = summed[..., column]
        total = total + log_q.detach().gather(-1, index.unsqueeze(-1)).squeeze(-1).exp() * reinforce_term(index)
    log_summed = torch.logsumexp(log_q.detach().gather(-1, summed), dim=-1) if summed.shape[-1] else None
    rest = torch.ones_like(total) if log_summed is None else log1mexp(log_summed).exp()
    return total + rest * reinforce_term(sampled)
