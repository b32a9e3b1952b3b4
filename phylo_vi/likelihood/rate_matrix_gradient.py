"""From ``d log L / d P_bk`` to the rate matrix, the exchangeabilities and the frequencies of a
normalised time-reversible model.

Shapes: branches B, categories K; ``tau_bk = r_k t_b``; ``D_bk = d log L / d P(tau_bk)`` (B, K, 4, 4)
from :mod:`phylo_vi.likelihood.transition_gradient`.

**Derivative of the matrix exponential** through the eigendecomposition ``Q = U diag(lambda) U^-1``
(Kalbfleisch & Lawless 1985, J. Am. Stat. Assoc. 80:863, sec. 2; Kenney & Gu 2012, Stat. Appl.
Genet. Mol. Biol. 11(4):3, eq. 9): for any parameter theta of Q,

    dP(tau)/dtheta = U (F(tau) o (U^-1 dQ/dtheta U)) U^-1,
    F_ij(tau) = tau e^(lambda_i tau)                                   if lambda_i = lambda_j,
                (e^(lambda_i tau) - e^(lambda_j tau)) / (lambda_i - lambda_j)   otherwise,

evaluated as ``tau e^(lambda_max tau) expm1(-|lambda_i - lambda_j| tau) / (-|lambda_i - lambda_j| tau)``
(no cancellation for close eigenvalues, no overflow for long branches). Summed over branches and
categories, ``d log L / dtheta = <C, dQ/dtheta>`` with

    C = U^-T [sum_bk F(tau_bk) o (U^T D_bk U^-T)] U^T             (= d log L / dQ, 4 x 4),

one 4 x 4 contraction per parameter. The diagonal of the same eigenbasis products gives the
branch derivatives, ``d log L / dtau_bk = sum_i (U^T D_bk U^-T)_ii lambda_i e^(lambda_i tau_bk)``.

**Normalisation.** ``Q = S / mu`` with ``S_ij = r_ij pi_j`` (i != j), rows summing to zero, and
``mu = sum_i pi_i sum_(j != i) r_ij pi_j`` (one substitution per unit time), so every
``dQ/dtheta = (dS/dtheta - Q dmu/dtheta) / mu`` involves all rates and frequencies. With
``W_ij = C_ij - C_ii`` and ``c = <C, Q>``:

    d log L / d r_ab = (pi_b W_ab + pi_a W_ba - 2 pi_a pi_b c) / mu,
    d log L / d pi_m (through Q) = (sum_i r_im W_im - 2 (R pi)_m c) / mu,

``pi`` taken as four free numbers (the root distribution and +I add their own terms,
:mod:`phylo_vi.likelihood.model_gradient`).
"""
from __future__ import annotations

import numpy as np

from phylo_vi.likelihood.models import EXCHANGEABILITY_PAIRS, N_STATES


def exponential_derivative_weights(values: np.ndarray, tau: np.ndarray) -> np.ndarray:
    """``F(tau)`` of the module docstring for eigenvalues ``values`` (4,) and every entry of
    ``tau``: shape ``(*tau.shape, 4, 4)``."""
    tau = np.asarray(tau, dtype=np.float64)[..., None, None]
    gap = -np.abs(values[:, None] - values[None, :])
    largest = np.maximum(values[:, None], values[None, :])
    x = gap * tau
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(x == 0.0, 1.0, np.expm1(x) / x)
    return tau * np.exp(largest * tau) * ratio


def rate_matrix_gradient(transition_gradient: np.ndarray, tau: np.ndarray, values: np.ndarray,
                         vectors: np.ndarray, inverse: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(d log L / dQ (4, 4), d log L / dtau (B, K))`` from ``D = d log L / d P(tau)`` (B, K, 4, 4)
    and ``Q = vectors diag(values) inverse`` (module docstring)."""
    eigenbasis = vectors.T @ transition_gradient @ inverse.T
    weighted = (exponential_derivative_weights(values, tau) * eigenbasis).sum(axis=(0, 1))
    diagonal = np.diagonal(eigenbasis, axis1=-2, axis2=-1)
    tau_gradient = (diagonal * values * np.exp(tau[..., None] * values)).sum(axis=-1)
    return inverse.T @ weighted @ vectors.T, tau_gradient


def _exchangeability_matrix(exchangeabilities: np.ndarray) -> np.ndarray:
    matrix = np.zeros((N_STATES, N_STATES))
    for (i, j), r in zip(EXCHANGEABILITY_PAIRS, exchangeabilities):
        matrix[i, j] = matrix[j, i] = r
    return matrix


def normalised_rate_gradients(rate_gradient: np.ndarray, exchangeabilities: np.ndarray,
                              frequencies: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(d log L / d r (6,), d log L / d pi (4,))`` through the normalised rate matrix, from
    ``C = d log L / dQ``, for exchangeabilities r (AC, AG, AT, CG, CT, GT) and frequencies pi
    (module docstring; pi as four free numbers, Q's part only)."""
    r, pi, c = _exchangeability_matrix(exchangeabilities), frequencies, rate_gradient
    unscaled = r * pi[None, :]
    unscaled[np.diag_indices(N_STATES)] = -unscaled.sum(axis=1)
    mu = -pi @ np.diag(unscaled)
    trace = float(np.sum(c * unscaled)) / mu                     # <C, Q>
    w = c - np.diag(c)[:, None]
    rows, columns = np.array(EXCHANGEABILITY_PAIRS).T
    exchangeability = (pi[columns] * w[rows, columns] + pi[rows] * w[columns, rows]
                       - 2.0 * pi[rows] * pi[columns] * trace) / mu
    frequency = ((r * w).sum(axis=0) - 2.0 * (r @ pi) * trace) / mu
    return exchangeability, frequency
