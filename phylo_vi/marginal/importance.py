"""Importance-sampling estimate of a normalising constant from log importance weights.

Z = E_q[p(D, b) / q(b)] ≈ (1/N) Σ_j w_j with w_j = p(D, b_j) / q(b_j), b_j ~ q; in log space
log Z ≈ LSE_j(log w_j) − log N (Fourment et al. 2020, spec table rows 6, 7 and 9). The standard
error of log Ẑ follows from the delta method: se ≈ sd(w) / (sqrt(N) mean(w)).
"""
from __future__ import annotations

import math

import numpy as np
from scipy.special import logsumexp


def importance_sampling_log_marginal(log_weights: np.ndarray) -> tuple[float, float]:
    """``(log Ẑ, standard error of log Ẑ)`` from i.i.d. log importance weights."""
    log_weights = np.asarray(log_weights, dtype=np.float64)
    n = len(log_weights)
    log_mean = float(logsumexp(log_weights)) - math.log(n)
    if not math.isfinite(log_mean) or n < 2:
        return log_mean, float("nan")
    # mean(w^2) / mean(w)^2 - 1 = relative variance of the weights
    log_second = float(logsumexp(2.0 * log_weights)) - math.log(n)
    relative_variance = math.exp(log_second - 2.0 * log_mean) - 1.0
    relative_variance = max(relative_variance, 0.0) * n / (n - 1)
    return log_mean, math.sqrt(relative_variance / n)
