"""Derivatives of log L in the free model parameters, in the coordinates of
:class:`~phylo_vi.likelihood.model_parameters.ModelParameters`.

Shapes: branches B, categories K, patterns P. With ``tau_bk = r_k t_b`` and ``G_bk = d log L /
d tau_bk`` (one pre-order pass of the engine, ``TreeLikelihood.category_gradient``):

**Gamma shape** (Yang 1994): ``r_k = g_k(alpha) / (1 - p)``, so
``d log L / d alpha = sum_bk G_bk t_b g_k'(alpha) / (1 - p)``, and ``d / d log alpha`` = alpha times
that (``g'`` by quadrature, :func:`phylo_vi.likelihood.gamma.gamma_category_rates_derivative`).

**Invariant proportion.** ``L_p = p I_p + (1 - p) V_p``, with ``I_p = sum_i pi_i [state i allowed at
every tip]`` and ``V_p`` the mean over categories of the tree likelihoods at rates
``g_k / (1 - p)``. At fixed rates ``dL_p/dp = I_p - V_p = (I_p - L_p) / (1 - p)``; the rates add
``sum_bk G_bk t_b dr_k/dp`` with ``dr_k/dp = r_k / (1 - p)``, i.e. ``t . (d log L / dt) / (1 - p)``::

    d log L / dp = [sum_p w_p (I_p / L_p - 1) + t . d log L / dt] / (1 - p).

**Exchangeabilities and estimated frequencies** enter every transition matrix through the
normalised Q; their derivatives are central differences of the engine's (exact) log-likelihood
in the log coordinates, step ``h = 1e-4`` (error ``O(h^2)``, below 1e-6 relative on the test
data): two evaluations per parameter, each about a quarter of a gradient pass. The torch twin's
autograd (``TreeLikelihood.exchangeability_gradient``) gives the same derivative exactly but costs
about 100 evaluations; the tests compare the two.
"""
from __future__ import annotations

import numpy as np

from phylo_vi.likelihood.gamma import gamma_category_rates_derivative
from phylo_vi.likelihood.model_parameters import ModelParameters
from phylo_vi.likelihood.plan import invariant_site_likelihoods
from phylo_vi.likelihood.tree_likelihood import TreeLikelihood

DIFFERENCE_STEP = 1e-4


def model_gradient(likelihood: TreeLikelihood, parameters: ModelParameters, x: np.ndarray,
                   t: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """``(log L, d log L / dt (B,), d log L / dx (n_free,))`` at branch lengths ``t`` and model
    coordinates ``x``; ``likelihood`` must hold ``parameters.model(x)`` (it does again on return)."""
    value, branch_gradient, category = likelihood.category_gradient(t)
    model = likelihood.model
    gradient = np.zeros(parameters.n_free)
    p_inv = model.invariant_proportion
    if parameters.estimates_gamma:
        index = parameters.names.index("alpha")
        d_rates = gamma_category_rates_derivative(model.gamma_shape, model.n_categories,
                                                   median=model.gamma_median)
        gradient[index] = model.gamma_shape * float(t @ category @ d_rates) / (1.0 - p_inv)
    if parameters.estimates_invariant:
        index = parameters.names.index("p_inv")
        patterns = likelihood.patterns
        constant = invariant_site_likelihoods(patterns.codes, model) / p_inv
        site = np.exp(likelihood.pattern_log_likelihoods(t))
        gradient[index] = (patterns.weights @ (constant / site - 1.0) + t @ branch_gradient) / (1.0 - p_inv)
    n_differenced = parameters.n_base + (3 if parameters.estimates_frequencies else 0)
    for i in range(n_differenced):
        step = np.zeros_like(x)
        step[i] = DIFFERENCE_STEP
        likelihood.set_model(parameters.model(x + step))
        above = likelihood.log_likelihood(t)
        likelihood.set_model(parameters.model(x - step))
        below = likelihood.log_likelihood(t)
        gradient[i] = (above - below) / (2.0 * DIFFERENCE_STEP)
    if n_differenced:
        likelihood.set_model(parameters.model(x))
    return value, branch_gradient, gradient
