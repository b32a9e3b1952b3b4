"""Importance-weighted bound (IWAE) and its doubly reparameterised gradient (DReG).

``L_K = E[log (1/K) sum_k w_k]`` with ``w_k = p(x, z_k) / q(z_k)``, ``z_k ~ q`` iid, satisfies
``L_1 <= L_K <= L_{K+1} <= log p(x)`` (Burda et al. 2016, Theorem 1). Autograd of
``logsumexp(log w) - log K`` gives the correct reparameterised gradient
``sum_k w~_k grad log w_k`` with the normalised weights ``w~ = softmax(log w)`` treated as
constants (Burda et al. 2016, §3); writing ``sum softmax(log w) * log w`` without a stop-gradient
on the softmax adds a spurious term (spec §1.5).

As ``K`` grows the signal-to-noise ratio of the inference-network gradient decays like
``K^{-1/2}`` (Rainforth et al. 2018). DReG (Tucker et al. 2019, §3) removes the score term:

    grad_phi L_K = E[ sum_k w~_k^2 (d log w_k / d z_k) (d z_k / d phi) ],

obtained as the gradient of ``sum_k sg(w~_k^2) log w_k`` where ``log w_k`` is computed with the
guide's parameters *stopped* inside ``log q`` (the sample path ``z_k(phi)`` stays live).

References
----------
1. Burda, Y., Grosse, R. & Salakhutdinov, R. (2016). Importance weighted autoencoders. ICLR.
2. Tucker, G., Lawson, D., Gu, S. & Maddison, C. J. (2019). Doubly reparameterized gradient
   estimators for Monte Carlo objectives. ICLR.
3. Rainforth, T. et al. (2018). Tighter variational bounds are not necessarily better. ICML.
"""
from __future__ import annotations

import torch
from torch import Tensor

from phylo_vi.vi.logspace import logmeanexp

__all__ = ["iwae_bound", "dreg_surrogate"]


def iwae_bound(log_weights: Tensor, dim: int = 0) -> Tensor:
    """``log (1/K) sum_k exp(log_weights_k)`` along ``dim`` (differentiable; maximise it)."""
    return logmeanexp(log_weights, dim=dim)


def dreg_surrogate(log_weights_stopped: Tensor, dim: int = 0) -> Tensor:
    """DReG surrogate for the *guide* parameters (maximise it).

    Parameters
    ----------
    log_weights_stopped : (K, ...) ``log p(x, z_k) - log q(z_k; sg(phi))`` with
        ``z_k = z(eps_k; phi)`` reparameterised: the guide parameters are detached inside the
        density only.

    Returns
    -------
    Tensor with ``dim`` reduced, whose value is the IWAE bound and whose gradient w.r.t. the
    guide parameters is ``sum_k w~_k^2 grad log w_k`` (Tucker et al. 2019, §3). For the
    model parameters use :func:`iwae_bound` (its gradient ``sum_k w~_k grad_theta log w_k``).
    """
    with torch.no_grad():
        normalised = torch.softmax(log_weights_stopped, dim=dim)
    squared = normalised ** 2
    value = iwae_bound(log_weights_stopped.detach(), dim=dim)
    return value + (squared * (log_weights_stopped - log_weights_stopped.detach())).sum(dim=dim)
