"""Clonal-genotype VAE: an amortised single-cell genotype mixture model.

Cells are data points ``x_i in {0, 1, missing}^m``. Each cell belongs to one of ``C`` clones,
``c_i ~ Categorical(pi)``; clone ``c`` carries mutation ``j`` with probability
``g_cj = sigmoid(G_cj)``; a carried mutation is read as 1 with probability ``1 - fn``, an
absent one with probability ``fp`` (the SCITE/PhISCS error model of
:func:`phylo_vi.genotype.matrix.observation_log_probs`), so

    p(x_ij = 1 | c_i = c) = g_cj (1 - fn) + (1 - g_cj) fp,

and missing entries carry no information. This is the mixture of SCG (Roth et al. 2016) and
BnpC (Borgsmüller et al. 2020) with point estimates of ``pi`` and ``G`` instead of their
Dirichlet(-process) and Beta priors, and an encoder ``q(c | x)`` (an MLP over the observed-one
and observed-zero indicators) in place of per-cell variational parameters, trained by any
discrete estimator of :mod:`phylo_vi.vi.vae.discrete_objectives` (the latent is one categorical).

The clone genotypes are initialised at ``C`` observed cells chosen by k-means++ seeding in
Hamming distance (Arthur & Vassilvitskii 2007), from the run's seed, and the encoder is first
trained alone against them. After training the clone
genotypes are rounded to 0/1 and duplicates merged; clones are then pruned by greedy backward
selection under the log-likelihood minus a per-clone penalty (:func:`prune_clones`, the same
per-clone cost as the conflict-free repair of :mod:`phylo_vi.genotype.repair`), since maximum
likelihood alone keeps components that fit noise. Each cell goes to its most likely remaining
clone and the implied genotype matrix gives it that clone's genotype.

References
----------
1. Roth, A. et al. (2016). Clonal genotype and population structure inference from single-cell
   tumor sequencing. Nature Methods 13:573.
2. Borgsmüller, N. et al. (2020). BnpC: Bayesian non-parametric clustering of single-cell
   mutation profiles. Bioinformatics 36:4854.
3. Jahn, K., Kuipers, J. & Beerenwinkel, N. (2016). Tree inference for single-cell data. Genome
   Biology 17:86 (the FP/FN model).
4. Arthur, D. & Vassilvitskii, S. (2007). k-means++: the advantages of careful seeding. SODA.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from torch import Tensor, nn

from phylo_vi.base import COUNT, NON_NEGATIVE, SAMPLE_SIZE, InstanceOf
from phylo_vi.genotype.matrix import ERROR_RATE, MISSING, check_matrix, check_rates, observation_log_probs
from phylo_vi.genotype.repair import DEFAULT_CLONE_PENALTY
from phylo_vi.vi.vae.discrete_latents import CategoricalLatent
from phylo_vi.vi.vae.discrete_objectives import check_estimator, decoder_evaluations
from phylo_vi.vi.vae.models import TRAINING_CONSTRAINTS, DiscreteVAE
from phylo_vi.vi.vae.networks import DiscreteEncoder
from phylo_vi.vi.vae.training import train_vae

__all__ = ["ClonalGenotypeLikelihood", "ClonalVAE", "encode_calls", "prune_clones"]


def encode_calls(x: Tensor) -> Tensor:
    """Encoder input (n, 2m): indicators of observed ones and of observed zeros."""
    return torch.cat([(x == 1).to(x.dtype), (x == 0).to(x.dtype)], dim=-1)


class ClonalGenotypeLikelihood(nn.Module):
    """``p(x | clone features)`` through the FP/FN channel, with learned genotypes and weights.

    Features (..., B, C) are one-hot clone indicators (or their relaxation): the genotype
    probabilities of a cell are ``features @ sigmoid(G)``.
    """

    def __init__(self, n_clones: int, n_mutations: int, fp: float, fn: float):
        super().__init__()
        check_rates(fp, fn)
        self.genotype_logits = nn.Parameter(torch.zeros(n_clones, n_mutations))
        self.weight_logits = nn.Parameter(torch.zeros(n_clones))
        self.fp = fp
        self.fn = fn

    def log_prob(self, x: Tensor, z: Tensor) -> Tensor:
        carried = z @ torch.sigmoid(self.genotype_logits)                 # (..., B, m)
        p_one = carried * (1.0 - self.fn) + (1.0 - carried) * self.fp
        observed_one = (x == 1).to(p_one.dtype)
        observed_zero = (x == 0).to(p_one.dtype)
        return (observed_one * torch.log(p_one) + observed_zero * torch.log1p(-p_one)).sum(-1)

    def log_prior(self) -> Tensor:
        return torch.log_softmax(self.weight_logits, dim=-1)


def _kmeans_plus_plus(calls: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """Indices of ``k`` rows seeded by k-means++ in Hamming distance over jointly observed entries."""
    observed = calls != MISSING
    chosen = [int(rng.integers(calls.shape[0]))]
    distance = np.full(calls.shape[0], np.inf)
    for _ in range(1, k):
        last = calls[chosen[-1]]
        both = observed & observed[chosen[-1]]
        distance = np.minimum(distance, ((calls != last) & both).sum(1))
        weights = distance.astype(np.float64) ** 2
        if weights.sum() == 0:
            weights = np.ones_like(weights)
        chosen.append(int(rng.choice(calls.shape[0], p=weights / weights.sum())))
    return np.array(chosen)


class ClonalVAE(DiscreteVAE):
    """Clone assignment of single cells from noisy mutation calls (see the module docstring).

    Parameters
    ----------
    fp, fn : false-positive and false-negative rates of the calls (defaults: those of
        ``phylo-vi genotype simulate``, the PhISCS simulations).
    max_clones : ``C``, the number of mixture components.
    clone_penalty : log-likelihood a clone must explain to be kept (see :func:`prune_clones`).
    encoder_warmup_steps : steps that train the encoder alone on the initial genotypes before the
        joint training (a uniform ``q`` would otherwise pull every clone to the mean cell).
    hidden, estimator, n_samples, n_steps, batch_size, learning_rate, eval_every, checkpoint_path,
    checkpoint_every, resume, progress, device, dtype, random_state : as
        :class:`~phylo_vi.vi.vae.models.DiscreteVAE`.

    Attributes
    ----------
    assignments_ : (n,) clone of each cell (0-based, merged clones share a label).
    clone_genotypes_ : (n_clones_, m) 0/1 genotypes of the clones kept.
    genotype_matrix_ : (n, m) the implied genotype matrix.
    n_clones_ : number of clones kept.
    seed_, device_, generator_, n_train_, latent_, encoder_, decoder_, module_, history_,
    n_decoder_evaluations_, decoder_sparsity_ : as :class:`~phylo_vi.vi.vae.models.DiscreteVAE`.
    """

    parameter_constraints = {
        "fp": ERROR_RATE, "fn": ERROR_RATE,
        "max_clones": COUNT, "clone_penalty": NON_NEGATIVE, "encoder_warmup_steps": SAMPLE_SIZE,
        "estimator": [InstanceOf((str,))], **TRAINING_CONSTRAINTS,
    }

    def __init__(self, *, fp: float = 1e-4, fn: float = 0.1, max_clones: int = 20,
                 clone_penalty: float = DEFAULT_CLONE_PENALTY,
                 encoder_warmup_steps: int = 200,
                 hidden: Sequence[int] = (64,), estimator: str = "unordered-set", n_samples: int = 4,
                 n_steps: int = 1500, batch_size: int = 64,
                 learning_rate: float = 1e-2, eval_every: int = 0, checkpoint_path: str | Path | None = None,
                 checkpoint_every: int = 0, resume: bool = False, progress: bool = False,
                 device: str | torch.device = "cpu", dtype: torch.dtype = torch.float64,
                 random_state: int | None = None):
        super().__init__(latent="categorical", latent_size=max_clones, hidden=hidden, estimator=estimator,
                         n_samples=n_samples, n_steps=n_steps, batch_size=batch_size, learning_rate=learning_rate,
                         eval_every=eval_every, checkpoint_path=checkpoint_path, checkpoint_every=checkpoint_every,
                         resume=resume, progress=progress, device=device, dtype=dtype, random_state=random_state)
        self.fp = fp
        self.fn = fn
        self.max_clones = max_clones
        self.encoder_warmup_steps = encoder_warmup_steps
        self.clone_penalty = clone_penalty

    def _build(self, n_inputs: int) -> None:
        self.latent_ = CategoricalLatent(self.max_clones)
        self.encoder_ = DiscreteEncoder(2 * n_inputs, self.max_clones, self._hidden_widths)
        self.decoder_ = ClonalGenotypeLikelihood(self.max_clones, n_inputs, self.fp, self.fn)

    def _encode(self, x: Tensor) -> Tensor:
        return self.encoder_(encode_calls(x))

    def log_prior(self) -> Tensor:
        return self.decoder_.log_prior()

    def _description(self) -> str:
        return f"clones/{self.estimator}"

    def fit(self, x, *, x_heldout=None) -> "ClonalVAE":
        """Fit to the (n, m) call matrix ``x`` (0, 1, 3 = missing)."""
        calls = check_matrix(np.asarray(x))
        x_tensor = self._setup(calls)
        check_estimator(self.estimator, self.n_samples, self.latent_)
        seeds = _kmeans_plus_plus(calls, min(self.max_clones, calls.shape[0]), np.random.default_rng(self.seed_))
        self._initialise_genotypes(calls[seeds])
        if self.encoder_warmup_steps:
            train_vae(self._step_losses, x_tensor, module=self.module_, model_parameters=[],
                      guide_parameters=list(self.encoder_.parameters()), n_steps=self.encoder_warmup_steps,
                      batch_size=self.batch_size, learning_rate=self.learning_rate, generator=self.generator_,
                      evaluations_per_datum=0, progress=self.progress, description="encoder warm-up")
        self._fit(x_tensor, x_heldout, self._evaluate, decoder_evaluations(self.estimator, self.n_samples,
                                                                           self.latent_))
        self._summarise(calls)
        return self

    def _initialise_genotypes(self, rows: np.ndarray) -> None:
        """Clone ``c`` starts at cell ``rows[c]``: logit ±2 where observed, 0 where missing."""
        logits = np.where(rows == MISSING, 0.0, np.where(rows == 1, 2.0, -2.0))
        with torch.no_grad():
            self.decoder_.genotype_logits.zero_()
            self.decoder_.genotype_logits[:len(rows)] = torch.as_tensor(logits).to(self.decoder_.genotype_logits)

    def _summarise(self, calls: np.ndarray) -> None:
        rounded = (torch.sigmoid(self.decoder_.genotype_logits) > 0.5).cpu().numpy().astype(np.int8)
        genotypes = np.unique(rounded, axis=0)
        log0, log1 = observation_log_probs(calls, self.fp, self.fn)
        log_likelihood = log1 @ genotypes.T + log0 @ (1 - genotypes).T            # (n, U)
        active = prune_clones(log_likelihood, self.clone_penalty)
        self.assignments_ = log_likelihood[:, active].argmax(1)
        self.clone_genotypes_ = genotypes[active]
        self.genotype_matrix_ = self.clone_genotypes_[self.assignments_]
        self.n_clones_ = int(len(active))


def prune_clones(log_likelihood: np.ndarray, clone_penalty: float) -> np.ndarray:
    """Clones kept by greedy backward selection under ``sum_i max_c L_ic - penalty * n_clones``.

    ``log_likelihood`` (n, U) is ``log p(x_i | genotype_c)``. Start from the clones that are some
    cell's best; repeatedly drop the clone whose removal (its cells moving to their best remaining
    clone) lowers the log-likelihood least, while that loss is below ``clone_penalty`` (the
    per-clone cost of :func:`phylo_vi.genotype.repair.repair`). Returns the kept column indices.
    """
    active = np.unique(log_likelihood.argmax(1))
    while len(active) > 1:
        best = log_likelihood[:, active].max(1).sum()
        losses = np.array([best - log_likelihood[:, np.delete(active, i)].max(1).sum() for i in range(len(active))])
        weakest = int(losses.argmin())
        if losses[weakest] >= clone_penalty:
            break
        active = np.delete(active, weakest)
    return active
