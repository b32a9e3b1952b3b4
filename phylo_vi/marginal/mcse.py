"""Monte Carlo standard errors of means of autocorrelated MCMC output (batch means).

The variance of a sample mean of a stationary chain is estimated from ``floor(sqrt(n))`` batch
means (Flegal & Jones 2010, Ann. Stat. 38:1034, eq. 5); for independent draws it reduces to
the usual ``var / n``.
"""
from __future__ import annotations

import math

import numpy as np


def batch_means_variance(values: np.ndarray) -> float:
    """Estimated variance of ``mean(values)`` for a (possibly autocorrelated) chain."""
    values = np.asarray(values, dtype=np.float64)
    n = len(values)
    if n < 4:
        return float("nan")
    batch_size = max(1, int(math.isqrt(n)))
    n_batches = n // batch_size
    batches = values[: n_batches * batch_size].reshape(n_batches, batch_size).mean(axis=1)
    independent = float(np.var(values, ddof=1)) / n
    if n_batches < 2:
        return independent
    correlated = float(np.var(batches, ddof=1)) * batch_size / n
    return max(independent, correlated)

