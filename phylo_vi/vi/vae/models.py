"""VAEs in the estimator style: hyperparameters in ``__init__``, all work in ``fit`` (returns
``self``), fitted state in attributes ending in ``_``, randomness only through ``random_state``.

* :class:`DiscreteVAE`: a discrete latent (one categorical variable, or a few Bernoulli bits)
  with a uniform prior, trained by any estimator of
  :mod:`phylo_vi.vi.vae.discrete_objectives`; held-out ELBO and ``log p(x)`` are exact by
  enumeration of the latent space.
* :class:`GaussianVAE`: a diagonal-Gaussian latent with prior ``N(0, I)``, trained on the ELBO
  (Monte-Carlo or analytic KL), the IWAE bound or with DReG
  (:mod:`phylo_vi.vi.vae.gaussian_objectives`), the ELBO's terms combined by plain ELBO,
  beta-annealing or GECO (:mod:`phylo_vi.vi.vae.kl_weighting`).

Both are device- and dtype-agnostic (``device``, ``dtype``); the networks are drawn from a CPU
generator, so one seed gives the same initial network on every device.
"""
from __future__ import annotations

import functools
import os
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from torch import Tensor, nn

from phylo_vi.base import (COUNT, POSITIVE, RANDOM_STATE, SAMPLE_SIZE, Estimator, InstanceOf, Interval, Options)
from phylo_vi.vi.logspace import logmeanexp
from phylo_vi.vi.vae.discrete_latents import make_latent
from phylo_vi.vi.vae.discrete_objectives import (Surrogates, check_estimator, decoder_evaluations, discrete_surrogates,
                                                 exact_elbo, exact_log_marginal)
from phylo_vi.vi.vae.errors import VAEConfigurationError
from phylo_vi.vi.vae.gaussian_objectives import GAUSSIAN_OBJECTIVES, gaussian_surrogates, gaussian_terms
from phylo_vi.vi.vae.kl_weighting import BetaAnnealing, GECOWeighting
from phylo_vi.vi.vae.likelihoods import make_likelihood
from phylo_vi.vi.bayesian_layers import SparseVDLinear
from phylo_vi.vi.vae.networks import DiscreteEncoder, GaussianEncoder, initialise, weight_kl
from phylo_vi.vi.vae.training import train_vae

__all__ = ["DiscreteVAE", "GaussianVAE", "integer_seed"]


def integer_seed(random_state: int | np.random.Generator | None) -> int:
    """The integer seed of a run: ``random_state``, a draw from it when it is a Generator, or
    fresh entropy when it is ``None``."""
    if random_state is None:
        return int(np.random.SeedSequence().generate_state(1)[0])
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(2**32))
    return int(random_state)


#: constraints of the hyperparameters every VAE has (the estimator name is checked with the
#: latent and the sample count by :func:`~phylo_vi.vi.vae.discrete_objectives.check_estimator`)
TRAINING_CONSTRAINTS = {
    "hidden": [*COUNT, InstanceOf((tuple, list))], "n_samples": COUNT, "n_steps": SAMPLE_SIZE, "batch_size": COUNT,
    "learning_rate": POSITIVE, "eval_every": SAMPLE_SIZE, "checkpoint_path": [None, InstanceOf((str, os.PathLike))],
    "checkpoint_every": SAMPLE_SIZE, "resume": [InstanceOf((bool,))], "progress": [InstanceOf((bool,))],
    "device": [InstanceOf((str, torch.device))], "dtype": [InstanceOf((torch.dtype,))], "random_state": RANDOM_STATE,
}
LIKELIHOODS = ("bernoulli", "gaussian", "categorical")


def _evaluating(method):
    """Run ``method`` without gradient and with the networks in evaluation mode (pruned
    deterministic weights for a Bayesian decoder), restoring the mode afterwards."""
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        was_training = self.module_.training
        self.module_.eval()
        try:
            with torch.no_grad():
                return method(self, *args, **kwargs)
        finally:
            self.module_.train(was_training)
    return wrapper


def _batch_means(per_datum: Surrogates) -> Surrogates:
    """Minibatch means of per-datum surrogates, keeping "model is guide" (one backward pass)."""
    model = per_datum.model.mean()
    return Surrogates(model, model if per_datum.guide is per_datum.model else per_datum.guide.mean())


class _VAEBase(Estimator, ABC):
    """Shared fitting machinery; subclasses build ``encoder_`` and ``decoder_`` and the losses."""

    @abstractmethod
    def _build(self, n_inputs: int) -> None:
        """Build ``encoder_`` and ``decoder_`` for data of ``n_inputs`` columns."""

    @property
    def _hidden_widths(self) -> tuple[int, ...]:
        """``hidden`` as a tuple of layer widths (one int: one hidden layer)."""
        return (self.hidden,) if isinstance(self.hidden, int) else tuple(self.hidden)

    def _setup(self, x: Tensor) -> Tensor:
        self.validate_params()
        self.seed_ = integer_seed(self.random_state)
        self.device_ = torch.device(self.device)
        x = torch.as_tensor(x).to(device=self.device_, dtype=self.dtype)
        if x.dim() != 2 or x.shape[0] == 0:
            raise VAEConfigurationError(f"data must be a non-empty (n, D) matrix, got shape {tuple(x.shape)}")
        init_generator = torch.Generator().manual_seed(self.seed_)
        self.generator_ = torch.Generator(device=self.device_).manual_seed(self.seed_)
        self.n_train_ = x.shape[0]
        self._build(x.shape[1])
        self.module_ = nn.ModuleDict({"encoder": self.encoder_, "decoder": self.decoder_})
        initialise(self.module_, init_generator, device=self.device_, dtype=self.dtype)
        return x

    def _sparse_vd_generator(self) -> torch.Generator | None:
        """CPU generator of the Bayesian decoder's weights and noise (None: plain decoder)."""
        return torch.Generator().manual_seed(self.seed_ + 1) if self.bayesian_decoder else None

    def _with_weight_kl(self, means: Surrogates) -> Surrogates:
        """Add the Bayesian decoder's weight KL per training point to the model loss."""
        if not self.bayesian_decoder:
            return means
        model = means.model + weight_kl(self.decoder_) / self.n_train_
        return Surrogates(model, model if means.guide is means.model else means.guide)

    def _as_data(self, x) -> Tensor:
        return torch.as_tensor(x).to(device=self.device_, dtype=self.dtype)

    def _fit(self, x: Tensor, x_heldout, evaluate, evaluations_per_datum: int) -> None:
        heldout = None if x_heldout is None else self._as_data(x_heldout)
        self.history_ = train_vae(
            self._step_losses, x, module=self.module_, model_parameters=list(self.decoder_.parameters()),
            guide_parameters=list(self.encoder_.parameters()), n_steps=self.n_steps, batch_size=self.batch_size,
            learning_rate=self.learning_rate, generator=self.generator_,
            evaluations_per_datum=evaluations_per_datum,
            evaluate=None if heldout is None else (lambda: evaluate(heldout)), eval_every=self.eval_every,
            checkpoint_path=self.checkpoint_path, checkpoint_every=self.checkpoint_every, resume=self.resume,
            progress=self.progress, description=self._description())
        if self.bayesian_decoder:
            layers = [m for m in self.decoder_.modules() if isinstance(m, SparseVDLinear)]
            pruned = sum(float((m.log_alpha() > m.threshold).sum()) for m in layers)
            self.decoder_sparsity_ = pruned / sum(m.theta.numel() for m in layers)
        self.n_decoder_evaluations_ = self.n_steps * min(self.batch_size, x.shape[0]) * evaluations_per_datum


class DiscreteVAE(_VAEBase):
    """VAE with a discrete latent and a uniform prior.

    Parameters
    ----------
    latent : ``categorical`` (``latent_size`` categories) or ``bernoulli`` (``latent_size`` bits).
    likelihood : ``bernoulli``, ``gaussian`` or ``categorical`` (``n_values`` levels) data.
    hidden : hidden-layer widths of encoder and decoder (an int: one hidden layer).
    bayesian_decoder : sparse-variational-dropout decoder layers (weight KL per training point in
        the loss; pruned weights at evaluation; ``decoder_sparsity_`` after fitting).
    estimator, n_samples, temperature : see :func:`~phylo_vi.vi.vae.discrete_objectives.discrete_surrogates`.
    n_steps, batch_size, learning_rate : Adam steps, minibatch size and step size.
    eval_every : steps between held-out evaluations (``fit(..., x_heldout=...)``).
    checkpoint_path, checkpoint_every, resume : checkpointing of the training loop.
    progress : a progress bar on stderr.
    device, dtype : torch device and floating-point type of the networks and the data.
    random_state : int seed or numpy Generator (None: fresh entropy); the seed is kept in ``seed_``.

    Attributes
    ----------
    seed_ : the integer seed of the run.
    device_ : the torch device used.
    generator_ : torch generator of the training draws.
    n_train_ : number of training rows.
    latent_ : the latent variable (:mod:`phylo_vi.vi.vae.discrete_latents`).
    encoder_, decoder_ : q(z | x) and p(x | z); ``module_`` holds both.
    history_ : training losses and held-out evaluations (:func:`~phylo_vi.vi.vae.training.train_vae`).
    n_decoder_evaluations_ : decoder evaluations spent in training.
    decoder_sparsity_ : pruned fraction of the Bayesian decoder's weights (``bayesian_decoder`` only).
    """

    parameter_constraints = {
        "latent": [Options(("categorical", "bernoulli"))], "latent_size": COUNT,
        "likelihood": [Options(LIKELIHOODS)], "n_values": [Interval(int, 2)],
        "bayesian_decoder": [InstanceOf((bool,))], "estimator": [InstanceOf((str,))], "temperature": POSITIVE,
        **TRAINING_CONSTRAINTS,
    }

    def __init__(self, *, latent: str = "categorical", latent_size: int = 10, likelihood: str = "bernoulli",
                 n_values: int = 2, hidden: Sequence[int] = (64,), bayesian_decoder: bool = False,
                 estimator: str = "unordered-set",
                 n_samples: int = 4, temperature: float = 0.5, n_steps: int = 2000, batch_size: int = 64,
                 learning_rate: float = 1e-3, eval_every: int = 0, checkpoint_path: str | Path | None = None,
                 checkpoint_every: int = 0, resume: bool = False, progress: bool = False,
                 device: str | torch.device = "cpu", dtype: torch.dtype = torch.float64,
                 random_state: int | None = None):
        self.latent = latent
        self.latent_size = latent_size
        self.likelihood = likelihood
        self.n_values = n_values
        self.hidden = hidden
        self.bayesian_decoder = bayesian_decoder
        self.estimator = estimator
        self.n_samples = n_samples
        self.temperature = temperature
        self.n_steps = n_steps
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.eval_every = eval_every
        self.checkpoint_path = checkpoint_path
        self.checkpoint_every = checkpoint_every
        self.resume = resume
        self.progress = progress
        self.device = device
        self.dtype = dtype
        self.random_state = random_state

    def _build(self, n_inputs: int) -> None:
        self.latent_ = make_latent(self.latent, self.latent_size)
        self.encoder_ = DiscreteEncoder(n_inputs, self.latent_.n_logits, self._hidden_widths)
        self.decoder_ = make_likelihood(self.likelihood, self.latent_.n_features, n_inputs, self._hidden_widths,
                                        n_values=self.n_values, sparse_vd_generator=self._sparse_vd_generator())

    def _description(self) -> str:
        return self.estimator

    def log_prior(self) -> Tensor:
        """Uniform ``log p(z)`` over the latent outcomes."""
        n = self.latent_.n_outcomes
        return torch.full((n,), -float(np.log(n)), device=self.device_, dtype=self.dtype)

    def _encode(self, x: Tensor) -> Tensor:
        return self.encoder_(x)

    def surrogates(self, x: Tensor, generator: torch.Generator | None = None, *,
                   estimator: str | None = None) -> Surrogates:
        """Per-datum surrogate losses of one estimate (``estimator`` defaults to the model's)."""
        return discrete_surrogates(self.estimator if estimator is None else estimator, self.latent_, self._encode(x),
                                   lambda z: self.decoder_.log_prob(x, z), self.log_prior(),
                                   n_samples=self.n_samples, temperature=self.temperature,
                                   generator=self.generator_ if generator is None else generator)

    def _step_losses(self, batch: Tensor, step: int) -> Surrogates:
        return self._with_weight_kl(_batch_means(self.surrogates(batch)))

    def _evaluate(self, x: Tensor) -> dict:
        return {"elbo": float(self.elbo(x).mean()), "log_marginal": float(self.log_marginal(x).mean())}

    def fit(self, x, *, x_heldout=None) -> "DiscreteVAE":
        """Train on the rows of ``x`` (n, D); evaluate on ``x_heldout`` every ``eval_every`` steps."""
        x = self._setup(x)
        check_estimator(self.estimator, self.n_samples, self.latent_)
        self._fit(x, x_heldout, self._evaluate, decoder_evaluations(self.estimator, self.n_samples, self.latent_))
        return self

    @_evaluating
    def posterior_log_probs(self, x) -> Tensor:
        """``log q(z | x)`` over the latent outcomes, (n, n_outcomes)."""
        return self.latent_.outcome_log_probs(self._encode(self._as_data(x)))

    @_evaluating
    def elbo(self, x) -> Tensor:
        """Exact ELBO of each row (enumeration over the latent outcomes)."""
        x = self._as_data(x)
        return exact_elbo(self.latent_, self._encode(x), lambda z: self.decoder_.log_prob(x, z), self.log_prior())

    @_evaluating
    def log_marginal(self, x) -> Tensor:
        """Exact ``log p(x)`` of each row under the fitted decoder."""
        x = self._as_data(x)
        return exact_log_marginal(self.latent_, self._encode(x), lambda z: self.decoder_.log_prob(x, z),
                                  self.log_prior())


class GaussianVAE(_VAEBase):
    """VAE with a ``n_latent``-dimensional Gaussian latent and prior ``N(0, I)``.

    Parameters
    ----------
    n_latent : dimension of the latent.
    objective : ``elbo``, ``elbo-analytic``, ``iwae`` or ``dreg``.
    likelihood, n_values, hidden, bayesian_decoder : as in :class:`DiscreteVAE`.
    n_samples : reparameterised samples per datum and step (``K`` of the IWAE bound).
    kl_weighting : ``elbo``, ``beta-annealing`` (over ``warmup_steps``) or ``geco`` (constraint
        ``-E log p(x | z) <= D reconstruction_target``, GECO's ``geco_alpha`` and
        ``geco_step_size``); the last two need ``objective`` ``elbo-analytic``.
    n_steps, batch_size, learning_rate, eval_every, checkpoint_path, checkpoint_every, resume,
    progress, device, dtype, random_state : as in :class:`DiscreteVAE`.

    Attributes
    ----------
    seed_, device_, generator_, n_train_, encoder_, decoder_, module_, history_,
    n_decoder_evaluations_, decoder_sparsity_ : as in :class:`DiscreteVAE`.
    n_dimensions_ : data dimension D.
    weighting_ : the KL weighting (None for the plain ELBO).
    """

    parameter_constraints = {
        "n_latent": COUNT, "likelihood": [Options(LIKELIHOODS)], "n_values": [Interval(int, 2)],
        "bayesian_decoder": [InstanceOf((bool,))], "objective": [Options(GAUSSIAN_OBJECTIVES)],
        "kl_weighting": [Options(("elbo", "beta-annealing", "geco"))], "warmup_steps": SAMPLE_SIZE,
        "reconstruction_target": [None, Interval(float)], "geco_alpha": [Interval(float, 0.0, 1.0)],
        "geco_step_size": POSITIVE, **TRAINING_CONSTRAINTS,
    }

    def __init__(self, *, n_latent: int = 2, likelihood: str = "bernoulli", n_values: int = 2,
                 hidden: Sequence[int] = (64,), bayesian_decoder: bool = False, objective: str = "elbo-analytic",
                 n_samples: int = 1,
                 kl_weighting: str = "elbo", warmup_steps: int = 1000, reconstruction_target: float | None = None,
                 geco_alpha: float = 0.99, geco_step_size: float = 1e-3, n_steps: int = 2000, batch_size: int = 64,
                 learning_rate: float = 1e-3, eval_every: int = 0, checkpoint_path: str | Path | None = None,
                 checkpoint_every: int = 0, resume: bool = False, progress: bool = False,
                 device: str | torch.device = "cpu", dtype: torch.dtype = torch.float64,
                 random_state: int | None = None):
        self.n_latent = n_latent
        self.likelihood = likelihood
        self.n_values = n_values
        self.hidden = hidden
        self.bayesian_decoder = bayesian_decoder
        self.objective = objective
        self.n_samples = n_samples
        self.kl_weighting = kl_weighting
        self.warmup_steps = warmup_steps
        self.reconstruction_target = reconstruction_target
        self.geco_alpha = geco_alpha
        self.geco_step_size = geco_step_size
        self.n_steps = n_steps
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.eval_every = eval_every
        self.checkpoint_path = checkpoint_path
        self.checkpoint_every = checkpoint_every
        self.resume = resume
        self.progress = progress
        self.device = device
        self.dtype = dtype
        self.random_state = random_state

    def _build(self, n_inputs: int) -> None:
        if self.objective not in GAUSSIAN_OBJECTIVES:
            raise VAEConfigurationError(f"unknown objective {self.objective!r}; choose one of "
                                        f"{', '.join(GAUSSIAN_OBJECTIVES)}")
        self.encoder_ = GaussianEncoder(n_inputs, self.n_latent, self._hidden_widths)
        self.decoder_ = make_likelihood(self.likelihood, self.n_latent, n_inputs, self._hidden_widths,
                                        n_values=self.n_values,
                                        sparse_vd_generator=self._sparse_vd_generator())
        self.n_dimensions_ = n_inputs
        if self.kl_weighting == "elbo":
            self.weighting_ = None
        elif self.objective != "elbo-analytic":
            raise VAEConfigurationError(f"kl_weighting {self.kl_weighting!r} acts on the analytic-KL ELBO: "
                                        "use objective 'elbo-analytic'")
        elif self.kl_weighting == "beta-annealing":
            self.weighting_ = BetaAnnealing(warmup_steps=self.warmup_steps)
        elif self.kl_weighting == "geco":
            if self.reconstruction_target is None:
                raise VAEConfigurationError("GECO needs a reconstruction_target (nats per data dimension)")
            self.weighting_ = GECOWeighting(target=self.reconstruction_target, alpha=self.geco_alpha,
                                            step_size=self.geco_step_size)
        else:
            raise VAEConfigurationError(f"unknown kl_weighting {self.kl_weighting!r}; choose elbo, "
                                        "beta-annealing or geco")

    def _description(self) -> str:
        return f"{self.objective}/{self.kl_weighting}"

    def terms(self, x: Tensor, n_samples: int, generator: torch.Generator | None = None):
        """:class:`~phylo_vi.vi.vae.gaussian_objectives.GaussianTerms` of ``n_samples`` draws per row."""
        mean, log_scale = self.encoder_(x)
        return gaussian_terms(mean, log_scale, lambda z: self.decoder_.log_prob(x, z), n_samples,
                              self.generator_ if generator is None else generator)

    def _step_losses(self, batch: Tensor, step: int) -> Surrogates:
        terms = self.terms(batch, self.n_samples)
        if self.weighting_ is not None:
            loss = self.weighting_(terms.reconstruction.mean(), terms.kl.mean(), self.n_dimensions_)
            return self._with_weight_kl(Surrogates(loss, loss))
        return self._with_weight_kl(_batch_means(gaussian_surrogates(self.objective, terms)))

    @_evaluating
    def _evaluate(self, x: Tensor) -> dict:
        terms = self.terms(x, 1)
        result = {"reconstruction": float(terms.reconstruction.mean()), "kl": float(terms.kl.mean()),
                  "elbo": float((terms.reconstruction - terms.kl).mean())}
        if isinstance(self.weighting_, GECOWeighting):
            result.update(multiplier=self.weighting_.multiplier, constraint=self.weighting_.constraint)
        if isinstance(self.weighting_, BetaAnnealing):
            result.update(beta=self.weighting_.beta)
        return result

    def fit(self, x, *, x_heldout=None) -> "GaussianVAE":
        """Train on the rows of ``x`` (n, D); evaluate on ``x_heldout`` every ``eval_every`` steps."""
        x = self._setup(x)
        self._fit(x, x_heldout, self._evaluate, self.n_samples)
        return self

    @_evaluating
    def encode(self, x) -> tuple[Tensor, Tensor]:
        """``(mean, log_scale)`` of q(z | x)."""
        return self.encoder_(self._as_data(x))

    @_evaluating
    def elbo(self, x, *, n_samples: int = 1, generator: torch.Generator | None = None) -> Tensor:
        """Monte-Carlo ELBO (analytic KL) of each row from ``n_samples`` draws."""
        terms = self.terms(self._as_data(x), n_samples, generator)
        return terms.reconstruction - terms.kl

    @_evaluating
    def iwae_bound(self, x, *, n_samples: int, generator: torch.Generator | None = None) -> Tensor:
        """One draw of the ``K = n_samples`` importance-weighted bound of each row."""
        terms = self.terms(self._as_data(x), n_samples, generator)
        return logmeanexp(terms.log_likelihood + terms.log_prior - terms.log_q, dim=0)
