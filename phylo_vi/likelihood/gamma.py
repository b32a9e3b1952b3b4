"""Discrete gamma rate categories (Yang 1994, J. Mol. Evol. 39:306) and their shape derivative.

Rates follow Gamma(alpha, alpha) (mean one), cut into K equal-probability categories. With
``y_k`` the ``k/K`` quantile of Gamma(alpha, 1) and ``P(a, y)`` the regularised lower incomplete
gamma function, the *mean* of category k is (Yang 1994, eq. 10)

    r_k = K [P(alpha + 1, y_k) - P(alpha + 1, y_{k-1})],     y_0 = 0, y_K = inf,

and the *median* variant uses the ``(2k - 1) / 2K`` quantiles divided by their mean.

Shape derivative: with ``p(a, y)`` the Gamma(a, 1) density, ``dy_k / dalpha =
-dP(alpha, y_k)/dalpha / p(alpha, y_k)`` (implicit function theorem) and

    dP(a, y)/da = [int_0^y ln(t) t^(a-1) e^(-t) dt] / Gamma(a) - psi(a) P(a, y),

where the integral is evaluated by QUADPACK with the ``x^(a-1) log x`` weight (``scipy.integrate.quad``,
``weight="alg-loga"``), so the derivative is accurate to quadrature precision (~1e-12).
``scipy.integrate`` is imported on the first derivative: it is the largest import of a
``phylo-vi likelihood`` process that never needs it (a model without +G).
"""
from __future__ import annotations

import numpy as np
from scipy import special


def _quantiles(alpha: float, probabilities: np.ndarray) -> np.ndarray:
    return special.gammaincinv(alpha, probabilities)


def gamma_category_rates(alpha: float, n_categories: int, *, median: bool = False) -> np.ndarray:
    """Rates of the K discrete gamma categories, mean one, increasing."""
    k = np.arange(1, n_categories + 1)
    if median:
        y = _quantiles(alpha, (2 * k - 1) / (2.0 * n_categories))
        return y / y.mean()
    y = _quantiles(alpha, k[:-1] / n_categories)
    upper = np.append(special.gammainc(alpha + 1.0, y), 1.0)
    lower = np.concatenate([[0.0], upper[:-1]])
    return n_categories * (upper - lower)


def _density(a: float, y: np.ndarray) -> np.ndarray:
    return np.exp((a - 1.0) * np.log(y) - y - special.gammaln(a))


LARGE_SHAPE = 50.0


def _d_incomplete_gamma_d_shape(a: float, y: float) -> float:
    """``dP(a, y)/da`` by quadrature (module docstring).

    For ``a >= LARGE_SHAPE`` the scaled form below overflows (``Gamma(a)``, ``y^a``), and the density
    is smooth and bounded near 0, so the same quantity is integrated directly as
    ``int_0^y (ln t - psi(a)) p(a, t) dt`` with ``p`` evaluated in log space.
    """
    from scipy import integrate

    if a >= LARGE_SHAPE:
        psi = special.digamma(a)
        log_norm = special.gammaln(a)
        value, _ = integrate.quad(lambda t: (np.log(t) - psi) * np.exp((a - 1.0) * np.log(t) - t - log_norm),
                                  0.0, y, points=[a - 1.0] if a - 1.0 < y else None, epsabs=0.0, epsrel=1e-13,
                                  limit=200)
        return value
    # int_0^y ln t t^(a-1) e^-t dt, with t = y s:
    #   y^a [ln y int_0^1 s^(a-1) e^(-ys) ds + int_0^1 s^(a-1) ln s e^(-ys) ds]
    plain = special.gammainc(a, y) * special.gamma(a) / y**a
    logged, _ = integrate.quad(lambda s: np.exp(-y * s), 0.0, 1.0, weight="alg-loga", wvar=(a - 1.0, 0.0),
                               epsabs=0.0, epsrel=1e-13, limit=200)
    integral = np.exp(a * np.log(y) - special.gammaln(a)) * (np.log(y) * plain + logged)
    return integral - special.digamma(a) * special.gammainc(a, y)


def gamma_category_rates_derivative(alpha: float, n_categories: int, *, median: bool = False) -> np.ndarray:
    """``d r_k / d alpha`` for the rates of :func:`gamma_category_rates`, shape (K,)."""
    k = np.arange(1, n_categories + 1)
    if median:
        y = _quantiles(alpha, (2 * k - 1) / (2.0 * n_categories))
        dy = np.array([-_d_incomplete_gamma_d_shape(alpha, yi) for yi in y]) / _density(alpha, y)
        mean, dmean = y.mean(), dy.mean()
        return (dy * mean - y * dmean) / mean**2
    y = _quantiles(alpha, k[:-1] / n_categories)
    dy = np.array([-_d_incomplete_gamma_d_shape(alpha, yi) for yi in y]) / _density(alpha, y)
    # d/dalpha P(alpha + 1, y(alpha)) = dP/da (alpha + 1, y) + p(alpha + 1, y) dy/dalpha
    d_upper = np.array([_d_incomplete_gamma_d_shape(alpha + 1.0, yi) for yi in y]) + _density(alpha + 1.0, y) * dy
    d_upper = np.append(d_upper, 0.0)
    d_lower = np.concatenate([[0.0], d_upper[:-1]])
    return n_categories * (d_upper - d_lower)
