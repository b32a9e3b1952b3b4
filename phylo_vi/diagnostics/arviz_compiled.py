r"""ArviZ's array-layer diagnostics (``arviz-stats`` 0.8) with its Geyer truncation loop compiled.

``arviz_stats.base.diagnostics._DiagnosticsBase._ess`` walks the autocorrelations lag by lag in
Python, two ``np.mean`` calls per lag: on a slowly mixing chain of 10^5 draws that is tens of
thousands of iterations per parameter, most of ``analyze``'s time in ArviZ. :data:`array_stats`
is ArviZ's ``BaseArray`` with only that loop (Geyer 1992, Stat. Sci. 7:473, initial positive then
initial monotone sequence; Vehtari et al. 2021, Bayesian Analysis 16:667, eq. 10) run in Numba,
the same operations in the same order; splitting, rank normalisation, folding, the FFT
autocovariance and the final sums stay ArviZ's and NumPy's.
"""
from __future__ import annotations

import numpy as np
from arviz_stats.base.array import BaseArray
from numba import njit


@njit(cache=True, nogil=True)
def _chain_mean(acov: np.ndarray, t: int) -> float:
    total = 0.0
    for chain in range(acov.shape[0]):
        total += acov[chain, t]
    return total / acov.shape[0]


@njit(cache=True, nogil=True)
def geyer_autocorrelations(acov: np.ndarray, mean_var: float, var_plus: float) -> tuple[np.ndarray, int]:
    """ArviZ's ``rho_hat_t`` and ``max_t``: initial positive, then initial monotone sequence."""
    n_draw = acov.shape[1]
    rho_hat_t = np.zeros(n_draw)
    rho_hat_even = 1.0
    rho_hat_t[0] = rho_hat_even
    rho_hat_odd = 1.0 - (mean_var - _chain_mean(acov, 1)) / var_plus
    rho_hat_t[1] = rho_hat_odd
    t = 1
    while t < (n_draw - 3) and (rho_hat_even + rho_hat_odd) > 0.0:
        rho_hat_even = 1.0 - (mean_var - _chain_mean(acov, t + 1)) / var_plus
        rho_hat_odd = 1.0 - (mean_var - _chain_mean(acov, t + 2)) / var_plus
        if (rho_hat_even + rho_hat_odd) >= 0:
            rho_hat_t[t + 1] = rho_hat_even
            rho_hat_t[t + 2] = rho_hat_odd
        t += 2
    max_t = t - 2
    if rho_hat_even > 0:
        rho_hat_t[max_t + 1] = rho_hat_even
    t = 1
    while t <= max_t - 2:
        if (rho_hat_t[t + 1] + rho_hat_t[t + 2]) > (rho_hat_t[t - 1] + rho_hat_t[t]):
            rho_hat_t[t + 1] = (rho_hat_t[t - 1] + rho_hat_t[t]) / 2.0
            rho_hat_t[t + 2] = rho_hat_t[t + 1]
        t += 2
    return rho_hat_t, max_t


class CompiledGeyerArray(BaseArray):
    """``BaseArray`` whose ``_ess`` (every ESS method goes through it) runs the lag loop in Numba."""

    def _ess(self, ary, relative=False):
        ary = np.asarray(ary, dtype=float)
        if (np.max(ary) - np.min(ary)) < np.finfo(float).resolution:
            return ary.size
        n_chain, n_draw = ary.shape
        acov = np.ascontiguousarray(self.autocov(ary, axis=1), dtype=np.float64)
        chain_mean = ary.mean(axis=1)
        mean_var = np.mean(acov[:, 0]) * n_draw / (n_draw - 1.0)
        var_plus = mean_var * (n_draw - 1.0) / n_draw
        if n_chain > 1:
            var_plus += np.var(chain_mean, axis=None, ddof=1)
        rho_hat_t, max_t = geyer_autocorrelations(acov, float(mean_var), float(var_plus))
        ess = n_chain * n_draw
        tau_hat = -1.0 + 2.0 * np.sum(rho_hat_t[: max_t + 1]) + np.sum(rho_hat_t[max_t + 1: max_t + 2])
        tau_hat = max(tau_hat, 1 / np.log10(ess))
        ess = (1 if relative else ess) / tau_hat
        if np.isnan(rho_hat_t).any():
            ess = np.nan
        return ess


array_stats = CompiledGeyerArray()
