"""Log-space primitives shared by the estimators: log(1 - e^x), log-mean-exp, leave-one-out
log-mean-exp and Gumbel noise drawn from an explicit ``torch.Generator``.

References
----------
1. Mächler, M. (2012). Accurately computing log(1 - exp(-|a|)). Rmpfr vignette.
2. Mnih, A. & Rezende, D. J. (2016). Variational inference for Monte Carlo objectives. ICML.
"""
from __future__ import annotations

import math

import torch
from torch import Tensor

_LOG_HALF = -math.log(2.0)


def log1mexp(x: Tensor) -> Tensor:
    """``log(1 - exp(x))`` for ``x <= 0``, switching branch at ``-log 2`` (Mächler 2012).

    ``x = 0`` gives ``-inf`` and ``x = -inf`` gives ``0``.
    """
    x = torch.clamp(x, max=0.0)
    near_zero = x > _LOG_HALF
    safe_near = torch.where(near_zero, x, torch.full_like(x, _LOG_HALF))
    safe_far = torch.where(near_zero, torch.full_like(x, _LOG_HALF), x)
    return torch.where(near_zero, torch.log(-torch.expm1(safe_near)), torch.log1p(-torch.exp(safe_far)))


def logmeanexp(x: Tensor, dim: int = 0, keepdim: bool = False) -> Tensor:
    """``log((1/K) sum_k exp(x_k))`` along ``dim`` with ``K = x.shape[dim]``."""
    return torch.logsumexp(x, dim=dim, keepdim=keepdim) - math.log(x.shape[dim])


def leave_one_out_logsumexp(x: Tensor, dim: int = 0) -> Tensor:
    """``out_j = log sum_{i != j} exp(x_i)`` along ``dim``, without cancellation.

    Computed from prefix and suffix log-cumulative sums, so no ``log(S - e^{x_j})`` is ever
    formed (the cancellation TFP's ``log_soomean_exp`` guards against).
    """
    x = x.movedim(dim, -1)
    n = x.shape[-1]
    pad = torch.full_like(x[..., :1], -math.inf)
    prefix = torch.cat([pad, torch.logcumsumexp(x, dim=-1)[..., :-1]], dim=-1)
    suffix = torch.cat([torch.logcumsumexp(x.flip(-1), dim=-1).flip(-1)[..., 1:], pad], dim=-1)
    out = torch.logaddexp(prefix, suffix) if n > 1 else pad
    return out.movedim(-1, dim)


def sample_gumbel(shape: torch.Size | tuple[int, ...], *, like: Tensor,
                  generator: torch.Generator | None = None) -> Tensor:
    """Standard Gumbel(0, 1) noise of ``shape`` on the device and dtype of ``like``.

    Drawn as ``-log(-log U)`` with ``U`` uniform in the open interval (tiny, 1 - eps), so the
    result is always finite.
    """
    finfo = torch.finfo(like.dtype)
    uniform = torch.rand(shape, generator=generator, device=like.device, dtype=like.dtype)
    uniform = uniform.clamp(min=finfo.tiny, max=1.0 - finfo.eps)
    return -torch.log(-torch.log(uniform))


def sample_normal(shape: torch.Size | tuple[int, ...], *, like: Tensor,
                  generator: torch.Generator | None = None) -> Tensor:
    """Standard normal noise of ``shape`` on the device and dtype of ``like``.

    Drawn on the generator's device (when one is given) and moved to ``like``'s device, so a CPU
    generator keeps runs reproducible on any device.
    """
    if generator is None:
        return torch.randn(shape, device=like.device, dtype=like.dtype)
    return torch.randn(shape, generator=generator, device=generator.device, dtype=like.dtype).to(like.device)
