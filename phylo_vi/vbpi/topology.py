"""q_φ(τ): a subsplit Bayesian network whose CPDs are softmaxes of free parameters.

VBPI (Zhang & Matsen, ICLR 2019, §3.1; code ``zcrabbit/vbpi-torch:unrooted/vector_sbnModel.py``)
keeps the support of an SBN fixed (root splits and PCSPs of a tree sample) and parameterises

    P(root split r) = softmax(φ_root)_r,    P(s | parent p) = softmax(φ_p)_s over the children of p,

with φ = 0 at the start (uniform CPDs; a parent with one child has probability 1 whatever φ).
The unrooted probability sums over the 2n − 3 rootings (Zhang & Matsen 2018, eq. 5),

    log q_φ(τ) = log Σ_e P(τ rooted on e),

computed by the two-pass kernel of :mod:`phylo_vi.sbn.kernels`. Its gradient with respect to
the log CPDs is the posterior expected count of each root split and PCSP over the rootings (the
E-step of SBN-EM, :func:`~phylo_vi.sbn.kernels.expected_counts_kernel`, with the tree weights
set to the incoming gradient), so log q and its gradient cost O(n) per tree in Numba; torch
carries the chain rule through the segmented log-softmax.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from phylo_vi.errors import PhyloVIError
from phylo_vi.sbn.base import log_sum_exp_rows
from phylo_vi.sbn.kernels import (expected_counts_kernel, packed_tables, pad_log_table, padded_indices,
                                  rooting_log_probs_kernel)
from phylo_vi.sbn.sampling import prepare_sampler
from phylo_vi.sbn.support import SubsplitSupport
from phylo_vi.sbn.unrooted import SubsplitBayesianNetwork
from phylo_vi.trees.taxa import TaxonNamespace
from phylo_vi.vbpi.batch import TopologyBatch, topology_batch


def segment_log_softmax(logits: torch.Tensor, segment: torch.Tensor, n_segments: int) -> torch.Tensor:
    """log softmax of ``logits`` within each segment (``segment[i]`` = segment of entry ``i``)."""
    peak = torch.full((n_segments,), -torch.inf, dtype=logits.dtype, device=logits.device)
    peak = peak.scatter_reduce(0, segment, logits.detach(), reduce="amax", include_self=True)
    shifted = logits - peak[segment]
    totals = torch.zeros(n_segments, dtype=logits.dtype, device=logits.device).index_add(0, segment, shifted.exp())
    return shifted - totals.log()[segment]


class _SBNLogProb(torch.autograd.Function):
    """log q(τ_k) of every tree of a batch from the (unpadded) log tables; backward = expected counts."""

    @staticmethod
    def forward(ctx, log_root: torch.Tensor, log_cpd: torch.Tensor, batch: TopologyBatch):
        n_root, n_pcsp = log_root.shape[0], log_cpd.shape[0]
        indexed = batch.indexed
        padded_root = pad_log_table(log_root.detach().cpu().numpy())
        padded_cpd = pad_log_table(log_cpd.detach().cpu().numpy())
        rooting = rooting_log_probs_kernel(padded_indices(indexed.root_split, n_root),
                                           padded_indices(indexed.pcsp_root, n_pcsp),
                                           padded_indices(indexed.pcsp_sib, n_pcsp), indexed.children,
                                           padded_root, padded_cpd)
        ctx.tables = packed_tables(indexed.root_split, indexed.pcsp_root, indexed.pcsp_sib, indexed.children,
                                   n_root, n_pcsp)
        ctx.padded = (padded_root, padded_cpd)
        ctx.device, ctx.dtype = log_root.device, log_root.dtype
        return torch.as_tensor(log_sum_exp_rows(rooting), dtype=log_root.dtype, device=log_root.device)

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor):
        padded_root, padded_cpd = ctx.padded
        root_counts, pcsp_counts = np.zeros(padded_root.size), np.zeros(padded_cpd.size)
        edges, directed = ctx.tables
        expected_counts_kernel(edges, directed, padded_root, padded_cpd,
                               np.ascontiguousarray(grad_output.detach().cpu().numpy(), dtype=np.float64),
                               root_counts, pcsp_counts)
        as_tensor = lambda counts: torch.as_tensor(counts[:-2], dtype=ctx.dtype, device=ctx.device)  # noqa: E731
        return as_tensor(root_counts), as_tensor(pcsp_counts), None


def sbn_log_prob(log_root: torch.Tensor, log_cpd: torch.Tensor, batch: TopologyBatch) -> torch.Tensor:
    """``(K,)`` log q(τ_k) from log root-split and log PCSP probabilities; differentiable in both."""
    return _SBNLogProb.apply(log_root, log_cpd, batch)


class SBNTopologyModel(nn.Module):
    """Softmax-parameterised unrooted SBN over a fixed support (module docstring).

    Parameters ``root_logits`` (one per root split) and ``pcsp_logits`` (one per PCSP), both
    zero at the start.
    """

    def __init__(self, support: SubsplitSupport, taxa: TaxonNamespace, dtype: torch.dtype = torch.float64):
        super().__init__()
        self.support = support
        self.taxa = taxa
        self.root_logits = nn.Parameter(torch.zeros(len(support.root_splits), dtype=dtype))
        self.pcsp_logits = nn.Parameter(torch.zeros(len(support.pcsp_keys), dtype=dtype))
        self.register_buffer("pcsp_parent", torch.as_tensor(support.pcsp_parent, dtype=torch.long))
        self.n_parents = len(support.parent_keys)
        self._sampler = prepare_sampler(support, taxa, rooted=False)  # the sampler's network, built once

    def log_tables(self) -> tuple[torch.Tensor, torch.Tensor]:
        """``(log P(root split), log P(PCSP | parent))`` from the logits."""
        return (torch.log_softmax(self.root_logits, dim=0),
                segment_log_softmax(self.pcsp_logits, self.pcsp_parent, self.n_parents))

    def warm_start(self, network: SubsplitBayesianNetwork) -> None:
        """Start from a fitted SBN on the same support: logits = its log probabilities (softmax
        inverts them exactly; a probability 0 becomes a logit of log(1e-300))."""
        fitted = network.support_
        if not (np.array_equal(fitted.clade_keys, self.support.clade_keys)
                and np.array_equal(fitted.root_splits, self.support.root_splits)
                and np.array_equal(fitted.pcsp_keys, self.support.pcsp_keys)):
            raise PhyloVIError("the warm-start SBN was fitted on another support")
        floor = np.log(1e-300)
        with torch.no_grad():
            self.root_logits.copy_(torch.as_tensor(np.maximum(network.log_root_, floor)))
            self.pcsp_logits.copy_(torch.as_tensor(np.maximum(network.log_cpd_, floor)))

    def distribution(self) -> SubsplitBayesianNetwork:
        """The current q_φ as a fitted :class:`SubsplitBayesianNetwork` (log_prob, sampling, KL, credible sets)."""
        with torch.no_grad():
            log_root, log_cpd = self.log_tables()
        network = SubsplitBayesianNetwork(method="sa")
        network.taxa_ = self.taxa
        network.support_ = self.support
        network.log_root_ = log_root.cpu().numpy().copy()
        network.log_cpd_ = log_cpd.cpu().numpy().copy()
        return network

    def sample(self, n: int, rng: np.random.Generator,
               log_tables: tuple[torch.Tensor, torch.Tensor] | None = None) -> TopologyBatch:
        """``n`` topologies drawn by ancestral sampling (:class:`~phylo_vi.sbn.sampling.PreparedSampler`,
        the draws of :func:`~phylo_vi.sbn.sampling.sample_topologies`); ``log_tables`` as
        returned by :meth:`log_tables` when already computed."""
        log_root, log_cpd = self.log_tables() if log_tables is None else log_tables
        arrays = self._sampler.draw(log_root.detach().exp().cpu().numpy(), log_cpd.detach().exp().cpu().numpy(), n, rng)
        return topology_batch(arrays, self.support)

    def log_prob(self, batch: TopologyBatch, log_tables: tuple[torch.Tensor, torch.Tensor] | None = None
                 ) -> torch.Tensor:
        """``(K,)`` log q_φ(τ_k), differentiable in the logits (through ``log_tables`` when given)."""
        return sbn_log_prob(*(self.log_tables() if log_tables is None else log_tables), batch)
