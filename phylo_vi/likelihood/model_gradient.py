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
normalised Q: one post-order and one pre-order pass give ``d log L / d P_bk``
(:mod:`phylo_vi.likelihood.transition_gradient`), from which the derivative of the matrix
exponential through the eigendecomposition gives ``d log L / dQ`` and, with the normalisation,
the exchangeabilities and frequencies (:mod:`phylo_vi.likelihood.rate_matrix_gradient`). The
frequencies also enter the root distribution and the +I term ``p I_p``: with ``c_p`` the states
allowed at every tip (``I_p = pi . c_p``), ``d log L / d pi_m`` gains ``sum_p (w_p / L_p) (sum_k w_k
p_root,k,p[m] + p c_p[m])``. The same pass gives ``G_bk`` and ``p I_p / L_p``, so every
derivative costs one pass; with the gamma shape alone free, the engine's gradient pass (with
site classes) is used instead.
"""
from __future__ import annotations

import numpy as np

from phylo_vi.likelihood.gamma import gamma_category_rates_derivative
from phylo_vi.likelihood.model_parameters import ModelParameters
from phylo_vi.likelihood.plan import constant_states
from phylo_vi.likelihood.rate_matrix_gradient import normalised_rate_gradients, rate_matrix_gradient
from phylo_vi.likelihood.tree_likelihood import TreeLikelihood


def model_gradient(likelihood: TreeLikelihood, parameters: ModelParameters, x: np.ndarray,
                   t: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """``(log L, d log L / dt (B,), d log L / dx (n_free,))`` at branch lengths ``t`` and model
    coordinates ``x``; ``likelihood`` must hold ``parameters.model(x)``."""
    model, plan = likelihood.model, likelihood.plan
    gradient = np.zeros(parameters.n_free)
    p_inv = model.invariant_proportion
    if parameters.n_free == int(parameters.estimates_gamma):
        value, branch_gradient, tau_gradient = likelihood.category_gradient(t)
    else:
        value, transition, root, invariant_share = likelihood.transition_gradient(t)
        tau = np.multiply.outer(t, plan.rates)
        rate_gradient, tau_gradient = rate_matrix_gradient(transition, tau, plan.values, plan.vectors, plan.inverse)
        branch_gradient = tau_gradient @ plan.rates
        if parameters.n_base or parameters.estimates_frequencies:
            exchangeability, frequency = normalised_rate_gradients(rate_gradient, model.exchangeabilities,
                                                                   model.frequencies)
            gradient[:parameters.n_base] = parameters.base_gradient(exchangeability, x)
        if parameters.estimates_frequencies:
            frequency += root + _invariant_frequency_gradient(likelihood, invariant_share)
            gradient[parameters.n_base:parameters.n_base + 3] = parameters.frequency_gradient(frequency, x)
        if parameters.estimates_invariant:
            weights = likelihood.patterns.weights
            gradient[parameters.names.index("p_inv")] = (weights @ (invariant_share / p_inv - 1.0)
                                                         + t @ branch_gradient) / (1.0 - p_inv)
    if parameters.estimates_gamma:
        d_rates = gamma_category_rates_derivative(model.gamma_shape, model.n_categories, median=model.gamma_median)
        d_shape = float(t @ tau_gradient @ d_rates) / (1.0 - p_inv)
        gradient[parameters.names.index("alpha")] = model.gamma_shape * d_shape
    return value, branch_gradient, gradient


def _invariant_frequency_gradient(likelihood: TreeLikelihood, invariant_share: np.ndarray) -> np.ndarray:
    """``sum_p (w_p / L_p) p c_p = sum_p w_p (p I_p / L_p) c_p / I_p``: the +I part of d log L / d pi
    (module docstring)."""
    if likelihood.model.invariant_proportion == 0.0:
        return np.zeros(4)
    patterns = likelihood.patterns
    allowed = constant_states(patterns.codes)
    shared = allowed @ likelihood.model.frequencies
    scale = np.divide(patterns.weights * invariant_share, shared, out=np.zeros_like(shared), where=shared > 0)
    return scale @ allowed
