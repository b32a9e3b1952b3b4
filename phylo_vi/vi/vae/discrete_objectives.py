"""Training signals for VAEs with a discrete latent, through the estimators of :mod:`phylo_vi.vi`.

With ``log w(z) = log p(x | z) + log p(z) - log q(z | x)`` and cost ``f(z) = -log w(z)``, the
negative ELBO is ``E_q[f]``. Each estimator turns ``k`` decoder evaluations per data point into
two per-datum surrogate losses, one for the model parameters (decoder, prior) and one for the
guide (encoder); they are the same tensor except for RWS. Their gradients are:

* ``reinforce``: ``k`` iid samples, ``mean_k [f_k grad log q(z_k) + grad f_k]`` (Williams 1992);
* ``reinforce-loo``: the same with the leave-one-out baseline (Kool et al. 2019b);
* ``sum-and-sample``: ``k - 1`` most probable outcomes summed, one sampled (Liu et al. 2019);
* ``unordered-set``: ``k`` samples without replacement, built-in baseline (Kool et al. 2020, §4);
* ``vimco``: the ``k``-sample bound ``L_k`` with leave-one-out signals (Mnih & Rezende 2016);
* ``rws``: wake-theta (``L_k`` for the model) and wake-phi (inclusive KL for the guide,
  Bornschein & Bengio 2015; Le et al. 2019);
* ``gumbel-softmax`` / ``straight-through``: ``k`` Concrete samples at temperature ``tau`` fed
  to the decoder; the surrogate objective is ``E_relaxed[log p(x | y)] - KL(q || p)`` with the
  *discrete* KL in closed form (Jang et al. 2017, §3.1): biased, and a different objective from
  the ELBO except in the limit ``tau -> 0``;
* ``exact``: the ELBO summed over every outcome (``n_outcomes`` evaluations), the reference.

The first four and ``exact`` are unbiased for the ELBO gradient; ``vimco`` is unbiased for the
gradient of ``L_k`` (tests/vi/vae). Held-out scores are exact by enumeration:
:func:`exact_elbo` and :func:`exact_log_marginal` (``log p(x) = logsumexp_z log p(x, z)``).

References
----------
1. Williams, R. J. (1992). Machine Learning 8:229.
2. Kool, W., van Hoof, H. & Welling, M. (2019b). Buy 4 REINFORCE samples, get a baseline for free!
3. Liu, R., Regier, J., Tripuraneni, N., Jordan, M. I. & McAuliffe, J. (2019). ICML.
4. Kool, W., van Hoof, H. & Welling, M. (2020). Estimating gradients for discrete random
   variables by sampling without replacement. ICLR.
5. Mnih, A. & Rezende, D. J. (2016). Variational inference for Monte Carlo objectives. ICML.
6. Bornschein, J. & Bengio, Y. (2015). Reweighted wake-sleep. ICLR.
7. Le, T. A. et al. (2019). Revisiting reweighted wake-sleep. UAI.
8. Jang, E., Gu, S. & Poole, B. (2017). Categorical reparameterization with Gumbel-softmax. ICLR.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
from torch import Tensor

from phylo_vi.vi.gumbel_top_k import gumbel_top_k
from phylo_vi.vi.logspace import sample_gumbel
from phylo_vi.vi.rws import wake_phi_surrogate, wake_theta_surrogate
from phylo_vi.vi.score_function import leave_one_out_baseline, score_function_surrogate
from phylo_vi.vi.sum_and_sample import sum_and_sample_surrogate
from phylo_vi.vi.unordered_set import unordered_set_surrogate
from phylo_vi.vi.vae.discrete_latents import BernoulliLatent, CategoricalLatent
from phylo_vi.vi.vae.errors import VAEConfigurationError
from phylo_vi.vi.vimco import vimco_surrogate

__all__ = ["DISCRETE_ESTIMATORS", "Surrogates", "discrete_surrogates", "exact_elbo", "exact_log_marginal",
           "decoder_evaluations", "check_estimator"]

DISCRETE_ESTIMATORS = ("reinforce", "reinforce-loo", "sum-and-sample", "unordered-set", "vimco", "rws",
                       "gumbel-softmax", "straight-through", "exact")
_NEEDS_TWO = ("reinforce-loo", "vimco", "rws", "sum-and-sample")

Latent = CategoricalLatent | BernoulliLatent
LogLikelihood = Callable[[Tensor], Tensor]


@dataclass
class Surrogates:
    """Per-datum losses (B,) to minimise: ``model`` for decoder and prior, ``guide`` for the encoder."""

    model: Tensor
    guide: Tensor


def decoder_evaluations(estimator: str, n_samples: int, latent: Latent) -> int:
    """Decoder evaluations per data point of one estimate."""
    return latent.n_outcomes if estimator == "exact" else n_samples


def check_estimator(estimator: str, n_samples: int, latent: Latent) -> None:
    """Raise :class:`VAEConfigurationError` unless ``estimator`` can run with ``n_samples`` on ``latent``."""
    if estimator not in DISCRETE_ESTIMATORS:
        raise VAEConfigurationError(f"unknown estimator {estimator!r}; choose one of {', '.join(DISCRETE_ESTIMATORS)}")
    if estimator in _NEEDS_TWO and n_samples < 2:
        raise VAEConfigurationError(f"{estimator} needs at least 2 samples, got {n_samples}")
    if estimator in ("unordered-set", "sum-and-sample") and n_samples > latent.n_outcomes:
        raise VAEConfigurationError(f"{estimator} draws without replacement: at most {latent.n_outcomes} samples")
    if n_samples < 1:
        raise VAEConfigurationError("n_samples must be at least 1")


def _at(table: Tensor, index: Tensor) -> Tensor:
    """``table[b, index[..., b]]`` for a (B, O) table and an index (k, B) or (B,)."""
    if index.dim() == 1:
        return table.gather(-1, index.unsqueeze(-1)).squeeze(-1)
    return table.gather(-1, index.T).T


def _log_prior_at(log_prior: Tensor, index: Tensor) -> Tensor:
    return log_prior[index] if log_prior.dim() == 1 else _at(log_prior, index)


def _iid(log_q: Tensor, k: int, generator: torch.Generator | None) -> Tensor:
    noise = sample_gumbel((k,) + tuple(log_q.shape), like=log_q, generator=generator)
    return torch.argmax(log_q.detach() + noise, dim=-1)                     # (k, B)


def discrete_surrogates(estimator: str, latent: Latent, logits: Tensor, log_likelihood: LogLikelihood,
                        log_prior: Tensor, *, n_samples: int, temperature: float = 0.5,
                        generator: torch.Generator | None = None) -> Surrogates:
    """Surrogate losses of one estimate of the negative ELBO's gradient (or of ``-L_k``).

    Parameters
    ----------
    latent : the discrete latent space.
    logits : (B, latent.n_logits) encoder output.
    log_likelihood : maps features (..., B, L) to ``log p(x | z)`` (..., B).
    log_prior : (n_outcomes,) or (B, n_outcomes) normalised ``log p(z)``.
    n_samples : ``k``, decoder evaluations per data point (all outcomes for ``exact``).
    """
    check_estimator(estimator, n_samples, latent)
    log_q = latent.outcome_log_probs(logits)                                # (B, O)

    def log_joint(index: Tensor) -> Tensor:
        return log_likelihood(latent.features(index, like=logits)) + _log_prior_at(log_prior, index)

    def cost(index: Tensor) -> Tensor:
        return _at(log_q, index) - log_joint(index)

    if estimator == "exact":
        everything = torch.arange(latent.n_outcomes, device=logits.device).unsqueeze(-1).expand(-1, logits.shape[0])
        loss = (log_q.exp() * cost(everything).T).sum(-1)
        return Surrogates(loss, loss)
    if estimator in ("gumbel-softmax", "straight-through"):
        relaxed = latent.relaxed_features(logits, temperature, n_samples, hard=estimator == "straight-through",
                                          generator=generator)
        log_prior_full = log_prior if log_prior.dim() == 2 else log_prior.expand_as(log_q)
        kl = (log_q.exp() * (log_q - log_prior_full)).sum(-1)
        loss = -log_likelihood(relaxed).mean(0) + kl
        return Surrogates(loss, loss)
    if estimator == "sum-and-sample":
        loss = sum_and_sample_surrogate(log_q, cost, n_samples - 1, generator=generator)
        return Surrogates(loss, loss)
    if estimator == "unordered-set":
        index, _ = gumbel_top_k(log_q, n_samples, generator=generator)      # (B, k)
        loss = unordered_set_surrogate(log_q.gather(-1, index), cost(index.T).T)
        return Surrogates(loss, loss)
    index = _iid(log_q, n_samples, generator)                               # (k, B)
    log_q_k = _at(log_q, index)
    if estimator in ("reinforce", "reinforce-loo"):
        f = log_q_k - log_joint(index)
        baseline = leave_one_out_baseline(f) if estimator == "reinforce-loo" else None
        loss = score_function_surrogate(log_q_k, f, baseline)
        return Surrogates(loss, loss)
    log_joint_k = log_joint(index)
    if estimator == "vimco":
        loss = -vimco_surrogate(log_joint_k - log_q_k, log_q_k)
        return Surrogates(loss, loss)
    return Surrogates(-wake_theta_surrogate(log_joint_k, log_q_k), -wake_phi_surrogate(log_joint_k, log_q_k))


def _all_log_joints(latent: Latent, logits: Tensor, log_likelihood: LogLikelihood, log_prior: Tensor) -> Tensor:
    everything = torch.arange(latent.n_outcomes, device=logits.device).unsqueeze(-1).expand(-1, logits.shape[0])
    return (log_likelihood(latent.features(everything, like=logits)) + _log_prior_at(log_prior, everything)).T


def exact_elbo(latent: Latent, logits: Tensor, log_likelihood: LogLikelihood, log_prior: Tensor) -> Tensor:
    """``sum_z q(z | x) [log p(x, z) - log q(z | x)]`` by enumeration, (B,)."""
    log_q = latent.outcome_log_probs(logits)
    joint = _all_log_joints(latent, logits, log_likelihood, log_prior)
    q = log_q.exp()
    return (q * torch.where(q > 0, joint - log_q, torch.zeros_like(joint))).sum(-1)


def exact_log_marginal(latent: Latent, logits: Tensor, log_likelihood: LogLikelihood,
                       log_prior: Tensor) -> Tensor:
    """``log p(x) = logsumexp_z log p(x, z)`` by enumeration, (B,)."""
    return torch.logsumexp(_all_log_joints(latent, logits, log_likelihood, log_prior), dim=-1)
