"""Reparameterised evidence lower bound (SGVB), with an analytic-KL option.

``ELBO = E_q[log p(x | z)] - KL(q(z | x) || p(z))`` with ``z = mu + sigma * eps``,
``eps ~ N(0, I)`` (Kingma & Welling 2014, eq. 6 (SGVB estimator A) and eq. 7 (estimator B)). Estimator A uses
``log p(x, z) - log q(z)`` per sample; estimator B replaces the Monte-Carlo KL by its closed form,
e.g. for a diagonal Gaussian against N(0, I),
``KL = -1/2 sum (1 + log sigma^2 - mu^2 - sigma^2)`` (Kingma & Welling 2014, appendix B).
With minibatches of M of N data points the likelihood term must be scaled by N/M
(``likelihood_scale``). Parameterise ``sigma`` through its logarithm (or a softplus), never
directly.

References
----------
1. Kingma, D. P. & Welling, M. (2014). Auto-encoding variational Bayes. ICLR.
2. Roeder, G., Wu, Y. & Duvenaud, D. (2017). Sticking the landing. NeurIPS (stop the guide
   parameters inside log q for a zero-variance gradient at the optimum).
"""
from __future__ import annotations

from torch import Tensor

from phylo_vi.errors import InvalidParameterError

__all__ = ["reparameterized_elbo", "normal_kl_to_standard"]


def normal_kl_to_standard(mean: Tensor, log_scale: Tensor, event_dims: int = 1) -> Tensor:
    """``KL(N(mean, exp(log_scale)^2) || N(0, 1))`` summed over the last ``event_dims`` axes."""
    kl = 0.5 * (mean ** 2 + (2 * log_scale).exp() - 1.0) - log_scale
    return kl.sum(dim=tuple(range(-event_dims, 0))) if event_dims else kl


def reparameterized_elbo(log_likelihood: Tensor, *, log_prior: Tensor | None = None,
                         log_q: Tensor | None = None, kl: Tensor | None = None,
                         likelihood_scale: float = 1.0, dim: int = 0) -> Tensor:
    """Monte-Carlo ELBO over the samples along ``dim`` (maximise it).

    Give either ``kl`` (analytic KL, estimator B) or both ``log_prior`` and ``log_q`` of the
    reparameterised samples (estimator A). ``log_likelihood`` is ``log p(x | z_k)`` per sample.
    """
    if kl is not None:
        if log_prior is not None or log_q is not None:
            raise InvalidParameterError("give either kl or (log_prior, log_q), not both")
        return likelihood_scale * log_likelihood.mean(dim=dim) - kl
    if log_prior is None or log_q is None:
        raise InvalidParameterError("without an analytic kl, log_prior and log_q are required")
    return (likelihood_scale * log_likelihood + log_prior - log_q).mean(dim=dim)
