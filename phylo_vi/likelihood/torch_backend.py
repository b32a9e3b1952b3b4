"""Torch twin of the pruning engine: autograd, a leading sample axis, any device.

Shapes (torchtree-style): samples S, branches B = n_nodes - 1, categories K, patterns P,
states 4. ``log_likelihood(t)`` takes branch lengths ``(B,)`` or ``(S, B)`` (branch ``i`` above
post-order node ``i``) and returns ``()`` or ``(S,)``; every intermediate tensor lives on the
device and dtype of the module (float64 by default).

Pruning as in :mod:`phylo_vi.likelihood.kernels` (Felsenstein 1981): node partials
``(S, K, P, 4)`` are products of child messages ``partial_c @ P_c^T``; every internal partial is
divided by its maximum over (k, i) and the logarithms are accumulated (the maxima are detached:
they are exact constants of the rescaling, so gradients are unchanged). Each product of messages
is normalised as it is formed, not after (:func:`_normalised_product`): messages near 1 at
different states across branches of 1e-300 have a product whose entries that count are ~1e-600. Transition matrices
come from the fixed model's eigendecomposition, ``I + sum_{m>=1} U_m expm1(lambda_m tau) U^-1_m`` as
in :mod:`phylo_vi.likelihood.transition`, or, when exchangeabilities or frequencies are passed as
tensors, from ``torch.linalg.matrix_exp`` of the normalised rate matrix built from them
(differentiable also where eigenvalues coincide, as for JC). Both are exact for every finite
t >= 0: ``matrix_exp(tau Q)`` itself is not (scaling and squaring of a matrix with eigenvalue 0
amplifies rounding, 5e3 at tau = 1e17 and inf from 1e100), so it is taken of the deflated
``Q - 1 pi^T``, whose eigenvalues are all negative: ``exp(tau Q) = exp(tau (Q - 1 pi^T)) -
expm1(-tau) 1 pi^T`` (``Q`` and ``1 pi^T`` commute and ``Q 1 pi^T = 0``).
"""
from __future__ import annotations

import numpy as np
import torch

from phylo_vi.alignment import SitePatterns
from phylo_vi.errors import PhyloVIError
from phylo_vi.likelihood.models import EXCHANGEABILITY_PAIRS, SubstitutionModel
from phylo_vi.likelihood.plan import invariant_site_likelihoods
from phylo_vi.likelihood.tree_likelihood import resolve_model
from phylo_vi.trees.tree import Tree

_ALLOWED = ((np.arange(16)[:, None] >> np.arange(4)[None, :]) & 1).astype(np.float64)


def rate_matrix_from(exchangeabilities: torch.Tensor, frequencies: torch.Tensor) -> torch.Tensor:
    """Normalised GTR rate matrix ``(..., 4, 4)`` from exchangeabilities ``(..., 6)`` (AC, AG, AT,
    CG, CT, GT) and frequencies ``(..., 4)``: ``Q_ij = r_ij pi_j``, ``-sum_i pi_i Q_ii = 1``."""
    pairs = EXCHANGEABILITY_PAIRS
    device = exchangeabilities.device
    flat = torch.tensor([4 * i + j for i, j in pairs] + [4 * j + i for i, j in pairs], device=device)
    column = torch.tensor([j for _, j in pairs] + [i for i, _ in pairs], device=device)
    batch = torch.broadcast_shapes(exchangeabilities.shape[:-1], frequencies.shape[:-1])
    r = torch.cat([exchangeabilities, exchangeabilities], dim=-1).expand(*batch, 12)
    pi = frequencies.expand(*batch, 4)
    off = torch.zeros(*batch, 16, dtype=r.dtype, device=device).index_add(-1, flat, r * pi[..., column])
    q = off.reshape(*batch, 4, 4)
    q = q - torch.diag_embed(q.sum(-1))
    scale = -(pi * torch.diagonal(q, dim1=-2, dim2=-1)).sum(-1)
    return q / scale[..., None, None]


def _normalised_product(partial: torch.Tensor, message: torch.Tensor,
                        log_scale: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``partial * message`` (S, K, P, 4) divided by its (detached) maximum over (k, i) per sample and
    pattern (at least the smallest normal double), and ``log_scale`` (S, P) plus its logarithm. The
    division is applied to ``partial`` before ``message`` multiplies in, so entries of the product
    below the range of a double but within it relative to the maximum survive (see
    :func:`phylo_vi.likelihood.messages.normalised_product`)."""
    largest = (partial * message).detach().amax(dim=(1, 3), keepdim=True).clamp_min(torch.finfo(partial.dtype).tiny)
    return (partial / largest) * message, log_scale + torch.log(largest[:, 0, :, 0])


class TorchTreeLikelihood(torch.nn.Module):
    """Differentiable log-likelihood of one topology (see the module docstring).

    Parameters
    ----------
    patterns, tree, model : as for :class:`~phylo_vi.likelihood.TreeLikelihood`.
    device, dtype : where and in which precision to compute (float64 by default).
    """

    def __init__(self, patterns: SitePatterns, tree: Tree, model: SubstitutionModel | str, *,
                 device: torch.device | str | None = None, dtype: torch.dtype = torch.float64):
        super().__init__()
        patterns = patterns.match_taxa(tree.taxa)
        self.model = resolve_model(model, patterns)
        self.tree = tree
        self.n_branches = tree.n_nodes - 1
        self._children = [tree.children(u).tolist() for u in range(tree.n_nodes)]
        self._tip_row = tree.taxon.tolist()
        factory = dict(device=device, dtype=dtype)
        eig = self.model.eigen()
        self.register_buffer("tips", torch.as_tensor(_ALLOWED[patterns.codes], **factory))   # (T, P, 4)
        self.register_buffer("weights", torch.as_tensor(patterns.weights, **factory))
        self.register_buffer("invariant", torch.as_tensor(invariant_site_likelihoods(patterns.codes, self.model),
                                                          **factory))
        self.register_buffer("freqs", torch.as_tensor(self.model.frequencies, **factory))
        self.register_buffer("exchangeabilities", torch.as_tensor(self.model.exchangeabilities, **factory))
        self.register_buffer("rates", torch.as_tensor(self.model.category_rates(), **factory))
        self.register_buffer("cat_weights", torch.as_tensor(self.model.category_weights(), **factory))
        self.register_buffer("eigenvalues", torch.as_tensor(eig.values, **factory))
        self.register_buffer("eigenvectors", torch.as_tensor(eig.vectors, **factory))
        self.register_buffer("eigeninverse", torch.as_tensor(eig.inverse, **factory))

    def transition_matrices(self, branch_lengths: torch.Tensor, exchangeabilities: torch.Tensor | None = None,
                            frequencies: torch.Tensor | None = None) -> torch.Tensor:
        """``P(r_k t_b)`` of shape ``(S, B, K, 4, 4)`` for branch lengths ``(S, B)``."""
        tau = branch_lengths[..., None] * self.rates                             # (S, B, K)
        identity = torch.eye(4, dtype=tau.dtype, device=tau.device)
        if exchangeabilities is None and frequencies is None:
            decay = torch.expm1(tau[..., None] * self.eigenvalues[1:])           # (S, B, K, 3)
            return identity + (self.eigenvectors[:, 1:] * decay[..., None, :]) @ self.eigeninverse[1:]
        r = self.exchangeabilities if exchangeabilities is None else exchangeabilities
        pi = self.freqs if frequencies is None else frequencies
        stationary = torch.ones(4, 1, dtype=pi.dtype, device=pi.device) * pi      # 1 pi^T
        deflated = rate_matrix_from(r, pi) - stationary
        tau = tau[..., None, None]
        return torch.linalg.matrix_exp(tau * deflated) - torch.expm1(-tau) * stationary

    def forward(self, branch_lengths: torch.Tensor, exchangeabilities: torch.Tensor | None = None,
                frequencies: torch.Tensor | None = None) -> torch.Tensor:
        return self.log_likelihood(branch_lengths, exchangeabilities, frequencies)

    def log_likelihood(self, branch_lengths: torch.Tensor, exchangeabilities: torch.Tensor | None = None,
                       frequencies: torch.Tensor | None = None) -> torch.Tensor:
        """log L for branch lengths ``(B,)`` -> ``()`` or ``(S, B)`` -> ``(S,)``.

        ``exchangeabilities`` (6,) and ``frequencies`` (4,), when given, replace the model's
        (unbatched; gradients flow into them).
        """
        t = torch.as_tensor(branch_lengths, dtype=self.weights.dtype, device=self.weights.device)
        single = t.dim() == 1
        t = t[None] if single else t
        if t.shape[-1] != self.n_branches:
            raise PhyloVIError(f"expected {self.n_branches} branch lengths, got shape {tuple(t.shape)}")
        pmats = self.transition_matrices(t, exchangeabilities, frequencies).transpose(-1, -2)   # P^T
        n_samples = t.shape[0]
        n_patterns = self.weights.shape[0]
        partials: dict[int, torch.Tensor] = {}
        log_scale = torch.zeros(n_samples, n_patterns, dtype=t.dtype, device=t.device)
        for u, children in enumerate(self._children):
            if not children:
                continue
            partial = None
            for c in children:
                if self._tip_row[c] >= 0:
                    message = self.tips[self._tip_row[c]] @ pmats[:, c]           # (S, K, P, 4)
                else:
                    message = partials.pop(c) @ pmats[:, c]
                if partial is None:
                    partial = message
                else:
                    partial, log_scale = _normalised_product(partial, message, log_scale)
            if len(children) == 1:
                partial, log_scale = _normalised_product(partial, torch.ones_like(partial), log_scale)
            partials[u] = partial
        root = partials.pop(self.tree.root)
        pi = self.freqs if frequencies is None else frequencies
        tree = torch.einsum("skpi,i,k->sp", root, pi, self.cat_weights)
        log_site = torch.log(tree) + log_scale
        if self.model.invariant_proportion > 0:
            invariant = self.invariant
            if frequencies is not None:
                common = self.tips.prod(dim=0)                                    # (P, 4)
                invariant = self.model.invariant_proportion * common @ frequencies
            # log 0 = -inf where no state is common to all tips; the masked log keeps its
            # gradient 0 there (the plain log's 1/0 times logaddexp's 0 would be NaN)
            constant = invariant > 0
            log_invariant = torch.where(constant, torch.log(torch.where(constant, invariant, 1.0)), -torch.inf)
            log_site = torch.logaddexp(log_site, log_invariant)
        value = log_site @ self.weights
        return value[0] if single else value
