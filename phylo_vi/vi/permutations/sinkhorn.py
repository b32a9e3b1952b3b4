"""Log-space Sinkhorn normalisation, Gumbel-Sinkhorn sampling and Hungarian matching.

``S(X) = lim T_c(T_r(...T_r(exp X)))`` alternately normalises rows and columns and converges to
a doubly-stochastic matrix (Sinkhorn 1964). In log space each half-step subtracts a
log-sum-exp: ``X <- X - logsumexp_rows(X)``, ``X <- X - logsumexp_cols(X)``, which cannot
overflow at low temperature. As ``tau -> 0``, ``S(X / tau)`` tends to the permutation matrix
maximising ``<P, X>`` (Mena et al. 2018, Theorem 1), the Hungarian solution, provided enough
iterations are run: with too few, rows pseudo-converge to fractional entries. Invalid entries
must be masked with a large negative finite number (e.g. ``-1e8``), not ``-inf``, to avoid NaN.

Gumbel-Sinkhorn (Mena et al. 2018, §3): ``S((X + G) / tau)`` with iid Gumbel ``G`` is a
relaxed sample of the Gumbel-matching distribution, whose hard limit is
``argmax_P <P, X + G>``.

References
----------
1. Sinkhorn, R. (1964). A relationship between arbitrary positive matrices and doubly stochastic
   matrices. Ann. Math. Statist. 35:876.
2. Mena, G., Belanger, D., Linderman, S. & Snoek, J. (2018). Learning latent permutations with
   Gumbel-Sinkhorn networks. ICLR.
3. Kuhn, H. W. (1955). The Hungarian method for the assignment problem. Naval Res. Logist. 2:83.
"""
from __future__ import annotations

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment
from torch import Tensor

from phylo_vi.vi.logspace import sample_gumbel

__all__ = ["log_sinkhorn", "gumbel_sinkhorn", "hungarian_matching"]


def log_sinkhorn(log_alpha: Tensor, n_iters: int = 50, *, tol: float | None = None) -> Tensor:
    """Log of the Sinkhorn normalisation of ``exp(log_alpha)`` (..., N, N).

    Runs ``n_iters`` row-then-column sweeps, stopping early once every row log-sum is within
    ``tol`` of 0 after a column sweep (when ``tol`` is given). Differentiable.
    """
    log_p = log_alpha - log_alpha.amax(dim=(-2, -1), keepdim=True).detach()
    for _ in range(n_iters):
        log_p = log_p - torch.logsumexp(log_p, dim=-1, keepdim=True)
        log_p = log_p - torch.logsumexp(log_p, dim=-2, keepdim=True)
        if tol is not None and bool((torch.logsumexp(log_p, dim=-1).abs() < tol).all()):
            break
    return log_p


def gumbel_sinkhorn(log_alpha: Tensor, temperature: float, n_samples: int = 1, *, n_iters: int = 50,
                    generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
    """Relaxed permutation samples ``exp(log_sinkhorn((log_alpha + G) / tau))``.

    Returns ``(soft, perturbed)``: soft doubly-stochastic samples (n_samples, ..., N, N) and the
    perturbed scores ``log_alpha + G`` whose Hungarian matching is the hard sample.
    """
    shape = (n_samples,) + tuple(log_alpha.shape)
    perturbed = log_alpha + sample_gumbel(shape, like=log_alpha, generator=generator)
    return log_sinkhorn(perturbed / temperature, n_iters).exp(), perturbed


def hungarian_matching(scores: Tensor) -> Tensor:
    """Permutation matrix maximising ``<P, scores>`` for each (..., N, N) matrix.

    Solved with ``scipy.optimize.linear_sum_assignment`` on the CPU (one host sync per call);
    the result is a 0/1 matrix on ``scores``' device and dtype, without gradient.
    """
    values = scores.detach().to("cpu", torch.float64).numpy()
    flat = values.reshape(-1, *values.shape[-2:])
    result = np.zeros_like(flat)
    for index, matrix in enumerate(flat):   # scipy solves one assignment problem per call
        rows, cols = linear_sum_assignment(matrix, maximize=True)
        result[index, rows, cols] = 1.0
    return torch.as_tensor(result.reshape(values.shape), dtype=scores.dtype, device=scores.device)
