"""Information criteria and standard errors of a maximum-likelihood fit.

With k free parameters (branch lengths, free model parameters and, as IQ-TREE counts them,
empirical frequencies), n sites and maximised log-likelihood l:

    AIC  = 2k - 2l                          (Akaike 1974, IEEE Trans. Autom. Control 19:716)
    AICc = AIC + 2k(k + 1) / (n - k - 1)    (Hurvich & Tsai 1989, Biometrika 76:297)
    BIC  = k ln n - 2l                      (Schwarz 1978, Ann. Stat. 6:461)

Standard errors come from the observed information, the negative Hessian of log L at the
optimum, in the optimiser's coordinates z (branch lengths t, log of the positive model
parameters, p_inv), by central differences of the gradient (analytic in every coordinate,
:mod:`phylo_vi.likelihood.model_gradient`), step ``1e-4 max(|z_i|, 1e-3)``. Parameters on a
bound are left out of the matrix (their standard error is undefined: NaN). A log coordinate's
error is carried to its parameter by the delta method, ``se(theta) = theta se(log theta)``.
"""
from __future__ import annotations

import math

import numpy as np

from phylo_vi.likelihood.model_gradient import model_gradient
from phylo_vi.likelihood.optimize import BRANCH_BOUNDS, MaximumLikelihoodFit
from phylo_vi.likelihood.tree_likelihood import TreeLikelihood
from phylo_vi.likelihood.model_parameters import ModelParameters


def information_criteria(log_likelihood: float, n_parameters: int, n_sites: int) -> dict[str, float]:
    """``{"AIC", "AICc", "BIC"}`` (module docstring); AICc is infinite when ``n <= k + 1``."""
    k, n = n_parameters, n_sites
    aic = 2.0 * k - 2.0 * log_likelihood
    aicc = aic + 2.0 * k * (k + 1) / (n - k - 1) if n > k + 1 else math.inf
    return {"AIC": aic, "AICc": aicc, "BIC": k * math.log(n) - 2.0 * log_likelihood}


def _gradient(likelihood: TreeLikelihood, parameters: ModelParameters, z: np.ndarray) -> np.ndarray:
    n_branches = likelihood.n_branches
    t, x = z[:n_branches], z[n_branches:]
    likelihood.set_model(parameters.model(x))
    _, branch_gradient, gradient = model_gradient(likelihood, parameters, x, t)
    return np.concatenate([branch_gradient, gradient])


def observed_information(likelihood: TreeLikelihood, parameters: ModelParameters, z: np.ndarray,
                         free: np.ndarray) -> np.ndarray:
    """``-d^2 log L / dz_i dz_j`` over the coordinates where ``free`` is True, by central
    differences of the gradient, symmetrised. ``likelihood`` is left at ``z``."""
    index = np.flatnonzero(free)
    hessian = np.empty((len(index), len(index)))
    for column, i in enumerate(index):
        step = 1e-4 * max(abs(z[i]), 1e-3)
        shift = np.zeros_like(z)
        shift[i] = step
        hessian[:, column] = (_gradient(likelihood, parameters, z + shift)[index]
                              - _gradient(likelihood, parameters, z - shift)[index]) / (2.0 * step)
    likelihood.set_model(parameters.model(z[likelihood.n_branches:]))
    return -0.5 * (hessian + hessian.T)


def standard_errors(likelihood: TreeLikelihood, parameters: ModelParameters,
                    fit: MaximumLikelihoodFit) -> tuple[np.ndarray, dict[str, float]]:
    """Standard errors ``(branch lengths (B,), {free model parameter: se})`` of ``fit`` (module
    docstring); ``likelihood`` must be the one the fit left holding the fitted model."""
    z = fit.coordinates
    n_branches = likelihood.n_branches
    lower = np.concatenate([np.full(n_branches, BRANCH_BOUNDS[0]), parameters.lower])
    upper = np.concatenate([np.full(n_branches, BRANCH_BOUNDS[1]), parameters.upper])
    margin = 1e-4 * np.maximum(np.abs(z), 1e-3)
    free = (z - margin > lower) & (z + margin < upper)
    information = observed_information(likelihood, parameters, z, free)
    errors = np.full(len(z), np.nan)
    try:
        covariance = np.linalg.inv(information)
    except np.linalg.LinAlgError:
        covariance = np.linalg.pinv(information)
    diagonal = np.diag(covariance)
    errors[free] = np.where(diagonal > 0, np.sqrt(np.abs(diagonal)), np.nan)
    model_errors = errors[n_branches:]
    natural = np.array(list(fit.parameters.values()))
    log_coordinate = np.array([name != "p_inv" for name in parameters.names], dtype=bool)
    model_errors = np.where(log_coordinate, natural * model_errors, model_errors)
    return errors[:n_branches], dict(zip(parameters.names, model_errors.tolist()))
