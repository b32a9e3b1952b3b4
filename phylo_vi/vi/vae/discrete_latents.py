"""Discrete latent spaces seen as one flat categorical over their outcomes.

Every discrete estimator of :mod:`phylo_vi.vi` that sums or samples without replacement
(sum-and-sample, unordered set) works on a flat categorical, so a latent space is described by

* ``outcome_log_probs(logits)`` (..., n_outcomes): normalised ``log q(z | x)`` of every outcome;
* ``features(index)`` (..., L): the decoder input of outcome ``index`` (one-hot for a
  categorical, the bit vector for Bernoulli bits);
* ``relaxed_features(logits, temperature, n_samples, hard)`` (n, ..., L): the Concrete
  (Gumbel-softmax) relaxation of ``features`` in log space (Maddison et al. 2017; Jang et al.
  2017), or its straight-through version.

:class:`CategoricalLatent` is one variable with ``n_categories`` values (Kool et al. 2020, §6.3,
the small-domain VAE). :class:`BernoulliLatent` is ``n_bits`` independent bits; its
``2**n_bits`` outcomes are enumerated (``log q(b) = sum_i log sigmoid(+-l_i)``) so it is
meant for small ``n_bits`` (at most :data:`MAX_BITS`). The relaxation of a bit is the binary
Concrete, a two-class ExpConcrete on the logits ``(0, l_i)``.

References
----------
1. Maddison, C. J., Mnih, A. & Teh, Y. W. (2017). The Concrete distribution. ICLR.
2. Jang, E., Gu, S. & Poole, B. (2017). Categorical reparameterization with Gumbel-softmax. ICLR.
3. Kool, W., van Hoof, H. & Welling, M. (2020). Estimating gradients for discrete random
   variables by sampling without replacement. ICLR.
"""
from __future__ import annotations

import torch
from torch import Tensor
from torch.nn.functional import logsigmoid

from phylo_vi.vi.concrete import sample_log_concrete, straight_through
from phylo_vi.vi.vae.errors import VAEConfigurationError

__all__ = ["CategoricalLatent", "BernoulliLatent", "MAX_BITS", "make_latent"]

MAX_BITS = 12


class CategoricalLatent:
    """One categorical variable with ``n_categories`` values; features are one-hot."""

    def __init__(self, n_categories: int):
        if n_categories < 2:
            raise VAEConfigurationError(f"a categorical latent needs at least 2 categories, got {n_categories}")
        self.n_categories = n_categories

    @property
    def n_logits(self) -> int:
        return self.n_categories

    @property
    def n_outcomes(self) -> int:
        return self.n_categories

    @property
    def n_features(self) -> int:
        return self.n_categories

    def outcome_log_probs(self, logits: Tensor) -> Tensor:
        return torch.log_softmax(logits, dim=-1)

    def features(self, index: Tensor, like: Tensor) -> Tensor:
        return torch.nn.functional.one_hot(index, self.n_categories).to(like)

    def relaxed_features(self, logits: Tensor, temperature: float, n_samples: int, *, hard: bool,
                         generator: torch.Generator | None = None) -> Tensor:
        log_y = sample_log_concrete(logits, temperature, (n_samples,), generator=generator)
        return straight_through(log_y) if hard else log_y.exp()


class BernoulliLatent:
    """``n_bits`` independent bits ``b_i ~ Bernoulli(sigmoid(l_i))``; features are the bits."""

    def __init__(self, n_bits: int):
        if not 1 <= n_bits <= MAX_BITS:
            raise VAEConfigurationError(f"a Bernoulli latent is enumerated: n_bits must lie in [1, {MAX_BITS}]")
        self.n_bits = n_bits
        codes = torch.arange(2 ** n_bits)
        shifts = torch.arange(n_bits - 1, -1, -1)
        self._bits = (codes.unsqueeze(-1) >> shifts) & 1                      # (2^n, n)

    @property
    def n_logits(self) -> int:
        return self.n_bits

    @property
    def n_outcomes(self) -> int:
        return 2 ** self.n_bits

    @property
    def n_features(self) -> int:
        return self.n_bits

    def outcome_log_probs(self, logits: Tensor) -> Tensor:
        bits = self._bits.to(logits)
        log_one = logsigmoid(logits).unsqueeze(-2)
        log_zero = logsigmoid(-logits).unsqueeze(-2)
        return (bits * log_one + (1 - bits) * log_zero).sum(-1)

    def features(self, index: Tensor, like: Tensor) -> Tensor:
        return self._bits.to(device=like.device)[index].to(like)

    def relaxed_features(self, logits: Tensor, temperature: float, n_samples: int, *, hard: bool,
                         generator: torch.Generator | None = None) -> Tensor:
        two_class = torch.stack([torch.zeros_like(logits), logits], dim=-1)
        log_y = sample_log_concrete(two_class, temperature, (n_samples,), generator=generator)
        y = straight_through(log_y) if hard else log_y.exp()
        return y[..., 1]


def make_latent(name: str, size: int) -> CategoricalLatent | BernoulliLatent:
    """``categorical`` (``size`` categories) or ``bernoulli`` (``size`` bits)."""
    if name == "categorical":
        return CategoricalLatent(size)
    if name == "bernoulli":
        return BernoulliLatent(size)
    raise VAEConfigurationError(f"unknown discrete latent {name!r}; choose categorical or bernoulli")
