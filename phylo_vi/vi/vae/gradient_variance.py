"""Moments of a stochastic gradient estimator at fixed parameters.

For ``R`` independent estimates ``g_r`` of the gradient of the training loss w.r.t. a
parameter group, report the total variance ``tr Cov(g) = sum_d Var(g_d)`` (unbiased sample
variance per coordinate), the squared norm of the mean, and, given an exact gradient, the
squared bias ``||mean(g) - g_exact||^2`` with its Monte-Carlo floor ``tr Cov(g) / R``. These
are the quantities Kool et al. (2020, §6.3, Fig. 4) plot for their VAE at fixed checkpoints.

References
----------
1. Kool, W., van Hoof, H. & Welling, M. (2020). Estimating gradients for discrete random
   variables by sampling without replacement. ICLR.
"""
from __future__ import annotations

from typing import Callable, Sequence

import torch
from torch import Tensor

from phylo_vi.vi.vae.discrete_objectives import Surrogates

__all__ = ["gradient_samples", "gradient_moments"]


def gradient_samples(surrogates: Callable[[], Surrogates], groups: dict[str, Sequence[Tensor]],
                     n_repeats: int) -> dict[str, Tensor]:
    """``n_repeats`` gradient estimates per group, (R, n_parameters) float64 each.

    ``surrogates()`` draws one estimate (scalar model and guide losses); group ``"model"``
    differentiates the model loss and every other group the guide loss.
    """
    samples: dict[str, list[Tensor]] = {name: [] for name in groups}
    for _ in range(n_repeats):
        losses = surrogates()
        for i, (name, parameters) in enumerate(groups.items()):
            loss = losses.model if name == "model" else losses.guide
            gradients = torch.autograd.grad(loss, list(parameters), retain_graph=i < len(groups) - 1,
                                            allow_unused=True)
            flat = [torch.zeros_like(p).reshape(-1) if g is None else g.reshape(-1)
                    for p, g in zip(parameters, gradients)]
            samples[name].append(torch.cat(flat).detach().double().cpu())
    return {name: torch.stack(rows) for name, rows in samples.items()}


def gradient_moments(samples: Tensor, exact: Tensor | None = None) -> dict[str, float]:
    """Total variance, squared mean norm and (with ``exact``) squared bias of (R, d) samples."""
    mean = samples.mean(0)
    variance = float(samples.var(0).sum())
    moments = {"variance": variance, "mean_squared_norm": float(mean.square().sum())}
    if exact is not None:
        moments["squared_bias"] = float((mean - exact.double().cpu()).square().sum())
        moments["bias_noise_floor"] = variance / samples.shape[0]
    return moments
