"""Gumbel-max and Gumbel-top-k sampling, and Gumbels conditioned on their maximum.

Perturbing log-probabilities with iid standard Gumbel noise and taking the ``k`` largest keys
draws ``k`` categories *without replacement*; the ordered draw has the Plackett-Luce probability
``prod_i p(b_i) / (1 - sum_{j<i} p(b_j))`` (Vieira 2014; Kool et al. 2019, §2).
:func:`shift_gumbel_maximum` turns iid Gumbels into Gumbels conditioned on having a given
maximum, the operation at the heart of stochastic beam search (Kool et al. 2019, §3, and the
numerically stable form of its appendix / reference code).

References
----------
1. Kool, W., van Hoof, H. & Welling, M. (2019). Stochastic beams and where to find them: the
   Gumbel-top-k trick for sampling sequences without replacement. ICML.
2. Vieira, T. (2014). Gumbel-max trick and weighted reservoir sampling (blog note).
"""
from __future__ import annotations

import math

import torch
from torch import Tensor

from phylo_vi.errors import InvalidParameterError
from phylo_vi.vi.logspace import sample_gumbel


def gumbel_top_k(log_p: Tensor, k: int, *, generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
    """Draw ``k`` distinct categories from ``softmax(log_p)`` along the last axis.

    Parameters
    ----------
    log_p : (..., C) log-probabilities (or unnormalised logits); ``-inf`` marks impossible
        categories.
    k : number of draws, ``1 <= k <= C``.
    generator : torch generator on ``log_p``'s device.

    Returns
    -------
    indices : (..., k) long, in decreasing key order (the Plackett-Luce order of the draw).
    keys : (..., k) the perturbed keys ``log_p + G``; ``-inf`` where fewer than ``k``
        categories are possible (those indices are arbitrary and must be masked).
    """
    if not 1 <= k <= log_p.shape[-1]:
        raise InvalidParameterError(f"k must lie in [1, {log_p.shape[-1]}], got {k}")
    log_p = log_p.detach()
    keys = log_p + sample_gumbel(log_p.shape, like=log_p, generator=generator)
    keys = torch.where(torch.isneginf(log_p), torch.full_like(keys, -math.inf), keys)
    top_keys, indices = torch.topk(keys, k, dim=-1)
    return indices, top_keys


def shift_gumbel_maximum(keys: Tensor, target: Tensor) -> Tensor:
    """Condition Gumbels ``keys`` (..., C) on their maximum being ``target`` (...).

    ``g~ = -log(exp(-T) - exp(-Z) + exp(-g))`` with ``Z = max g``, computed in the stable form
    ``u = T - g + log1p(-exp(g - Z))``, ``g~ = T - relu(u) - log1p(exp(-|u|))`` (Kool et al.
    2019, appendix; wouterkool/estimating-gradients-without-replacement ``gumbel.py``).
    Entries equal to ``-inf`` stay ``-inf``; rows whose ``target`` is ``-inf`` become all
    ``-inf``.
    """
    neg_inf = torch.full_like(keys, -math.inf)
    maximum = keys.max(dim=-1, keepdim=True).values
    target = target.unsqueeze(-1).expand_as(keys)
    alive = torch.isfinite(keys) & torch.isfinite(target) & torch.isfinite(maximum)
    safe_keys = torch.where(alive, keys, torch.zeros_like(keys))
    safe_max = torch.where(alive, maximum.expand_as(keys), torch.zeros_like(keys))
    safe_target = torch.where(alive, target, torch.zeros_like(keys))
    u = safe_target - safe_keys + torch.log1p(-torch.exp(safe_keys - safe_max))
    shifted = safe_target - torch.relu(u) - torch.log1p(torch.exp(-u.abs()))
    return torch.where(alive, shifted, neg_inf)
