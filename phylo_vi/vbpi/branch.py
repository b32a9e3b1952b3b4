"""q_ψ(b | τ): independent log-normal branch lengths with split and PSP features (VBPI).

Zhang & Matsen (ICLR 2019, §3.2; code ``zcrabbit/vbpi-torch:unrooted/base_branchModel.py``):
every edge ``e`` of τ gets

    (μ_e, log σ_e) = ψ[split(e)] + ψ[PSP₁(e)] + ψ[PSP₂(e)],     log b_e = μ_e + σ_e ε_e − 2,

with ε ~ N(0, I) and a fixed offset −2 (so b starts near e^{−2} ≈ 0.14). ψ holds one 2-vector per
root split of the support and, with ``psp=True``, one per *primary subsplit pair*: a PCSP whose
parent is a root split. The two PSPs of edge e are the subsplits at its two ends, each seen with
the edge as the root: PSP₁ = (parent (clade(e), rest), child = subsplit of the rest at the upper
end) and PSP₂ = (parent (rest, clade(e)), child = subsplit of clade(e)); a leaf edge has no
PSP₂ (a zero feature). In the support tables these are the PCSPs ``pcsp_root`` of the edge's two
directed edges. ψ is Xavier-uniform initialised (bound √(6 / (rows + 2))) as in the reference,
except that the log σ column of the split rows starts at ``initial_log_std`` (default −1, σ ≈ 0.37;
the reference's 0 gives σ ≈ 1). A feature row that training seldom reaches keeps its initial
value, and a particle that uses it has a near-zero importance weight, so the K-sample bound hardly
trains it: with σ ≈ 1 such edges draw lengths spread by a factor e^{±1}, and on DS1 after the
SBN-EM warm start the draws that hit them (under 1 % of q) lose hundreds to thousands of nats of
log-likelihood, 1 nat of ELBO in all (UFBoot support, seed 1, 200k iterations: ELBO −7111.9 at
σ ≈ 1, −7110.9 at σ ≈ 0.37, −7110.5 at σ ≈ 0.14; KL 0.054–0.055 and marginal likelihood
−7108.38 for all three). Smaller is not always better: at σ ≈ 0.14 early topology updates, made
while the branch lengths are still poor, emptied CPDs of the DS1 short-run support (KL 2.23
against 0.76 at σ ≈ 1 and 0.75 at σ ≈ 0.37).

The density of log b is q(log b) = Π_e N(log b_e; μ_e − 2, σ_e²), the variable VBPI integrates
(the prior carries the matching Jacobian, :mod:`phylo_vi.vbpi.model`).
"""
from __future__ import annotations

import abc
import math

import numpy as np
import torch
from torch import nn

from phylo_vi.sbn.support import SubsplitSupport
from phylo_vi.trees import bitset
from phylo_vi.vbpi.batch import TopologyBatch

LOG_BRANCH_OFFSET = -2.0
#: log σ of the split rows before training (module docstring).
INITIAL_LOG_STD = -1.0


def primary_subsplit_rows(support: SubsplitSupport, n_taxa: int) -> np.ndarray:
    """Feature row (after the root splits) of every PCSP whose parent is a root split, else -1."""
    sizes = bitset.popcount(support.clades)
    parent = support.pcsp_parent
    is_primary = sizes[support.parent_sister[parent]] + sizes[support.parent_focal[parent]] == n_taxa
    rows = np.full(len(support.pcsp_keys), -1, dtype=np.int64)
    rows[is_primary] = len(support.root_splits) + np.arange(int(is_primary.sum()))
    return rows


class LogNormalBranchModel(nn.Module):
    """VBPI's log-normal branch-length family (module docstring).

    Parameters
    ----------
    support : the SBN support (root splits and PCSPs give the feature rows).
    n_taxa : number of taxa.
    psp : add the two primary-subsplit-pair features of each edge.
    initial_log_std : added to the log σ column of the split rows at initialisation (module docstring).
    generator : torch generator of the Xavier initialisation.
    """

    def __init__(self, support: SubsplitSupport, n_taxa: int, *, psp: bool = True,
                 initial_log_std: float = INITIAL_LOG_STD, generator: torch.Generator | None = None,
                 dtype: torch.dtype = torch.float64):
        super().__init__()
        self.psp = psp
        self.n_root = len(support.root_splits)
        self.n_pcsp = len(support.pcsp_keys)
        psp_rows = primary_subsplit_rows(support, n_taxa) if psp else np.full(self.n_pcsp, -1, dtype=np.int64)
        n_rows = self.n_root + int((psp_rows >= 0).sum())
        self.padding_row = n_rows
        # padded lookup: unknown (-1) and missing (-2) PCSPs and non-primary ones map to the zero row
        self._psp_lookup = np.concatenate([np.where(psp_rows >= 0, psp_rows, n_rows), [n_rows, n_rows]])
        bound = math.sqrt(6.0 / (n_rows + 2))
        initial = (2.0 * torch.rand((n_rows, 2), generator=generator, dtype=dtype) - 1.0) * bound
        initial[:self.n_root, 1] += initial_log_std
        self.features = nn.Parameter(initial)

    def feature_rows(self, batch: TopologyBatch) -> torch.Tensor:
        """``(K, E, 1 or 3)`` feature rows of each edge: split, then PSP₁ and PSP₂ when ``psp``."""
        indexed = batch.indexed
        n_edges = batch.n_edges
        split = np.where(indexed.root_split >= 0, indexed.root_split, self.padding_row)
        if not self.psp:
            return torch.as_tensor(split[..., None], device=self.features.device)
        pcsp = np.where(indexed.pcsp_root >= 0, indexed.pcsp_root, np.where(indexed.pcsp_root == -1, self.n_pcsp,
                                                                             self.n_pcsp + 1))
        upper, lower = self._psp_lookup[pcsp[:, n_edges:]], self._psp_lookup[pcsp[:, :n_edges]]
        return torch.as_tensor(np.stack([split, upper, lower], axis=-1), device=self.features.device)

    def mean_log_std(self, batch: TopologyBatch) -> tuple[torch.Tensor, torch.Tensor]:
        """``(μ, log σ)`` of log b + 2, each ``(K, E)``."""
        padded = torch.cat([self.features, self.features.new_zeros(1, 2)])
        summed = padded[self.feature_rows(batch)].sum(dim=-2)
        return summed[..., 0], summed[..., 1]

    def sample(self, batch: TopologyBatch, noise: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(log b (K, E), log q_ψ(log b | τ) (K,))`` from standard normal ``noise (K, E)`` (reparameterised)."""
        mean, log_std = self.mean_log_std(batch)
        log_branch = mean + log_std.exp() * noise + LOG_BRANCH_OFFSET
        log_q = (-0.5 * math.log(2.0 * math.pi) - 0.5 * noise ** 2 - log_std).sum(dim=-1)
        return log_branch, log_q


class FlowBranchModel(LogNormalBranchModel, abc.ABC):
    """The log-normal base pushed through a normalising flow ``flow(batch, base) -> (z, log |det|)``
    that subclasses define; the density is the base's by the change of variables,
    log q(z) = log q_0(base) − log |det ∂z/∂base|."""

    @abc.abstractmethod
    def flow(self, batch: TopologyBatch, base: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(z (K, E), log |det ∂z/∂base| (K,))`` for base points ``(K, E)``."""

    def sample(self, batch: TopologyBatch, noise: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(log b, log q_ψ(log b | τ))``: base log-normal draw, the flow, then the offset."""
        mean, log_std = self.mean_log_std(batch)
        base = mean + log_std.exp() * noise
        log_q = (-0.5 * math.log(2.0 * math.pi) - 0.5 * noise ** 2 - log_std).sum(dim=-1)
        flowed, log_det = self.flow(batch, base)
        return flowed + LOG_BRANCH_OFFSET, log_q - log_det


class PlanarFlowBranchModel(FlowBranchModel):
    """VBPI-NF: the log-normal base pushed through permutation-equivariant planar layers.

    Zhang (NeurIPS 2020, "Improved variational Bayesian phylogenetic inference with normalizing
    flows"; code ``zcrabbit/vbpi-nf``): layer ``l`` maps the vector z of log branch lengths (before
    the −2 offset, which is applied after the flow) by the planar map of Rezende & Mohamed (2015,
    eq. 10) whose per-edge vectors are sums of learned edge features, like μ and log σ:

        z ← z + û_l tanh(w_l · z + c_l),    (u_{l,e}, w_{l,e}) = Σ_{features f of edge e} θ[f, l],

    with û = u + (m(w·u) − w·u) w / ‖w‖², m(x) = −1 + softplus(x), so that w·û > −1 and the map is
    invertible; log |det| = log |1 + (1 − tanh²(w·z + c)) w·û|. Relabelling the edges permutes
    u and w with z, so the density does not depend on the edge order.
    """

    def __init__(self, support: SubsplitSupport, n_taxa: int, *, n_layers: int = 16, psp: bool = True,
                 initial_log_std: float = INITIAL_LOG_STD, generator: torch.Generator | None = None,
                 dtype: torch.dtype = torch.float64):
        super().__init__(support, n_taxa, psp=psp, initial_log_std=initial_log_std, generator=generator, dtype=dtype)
        self.n_layers = n_layers
        n_rows = self.features.shape[0]
        self.flow_features = nn.Parameter(0.1 * torch.randn((n_rows, 2 * n_layers), generator=generator, dtype=dtype))
        self.flow_bias = nn.Parameter(0.1 * torch.randn(n_layers, generator=generator, dtype=dtype))

    def flow(self, batch: TopologyBatch, base: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(z_L (K, E), Σ_l log |det| (K,))`` for base points ``(K, E)``."""
        padded = torch.cat([self.flow_features, self.flow_features.new_zeros(1, 2 * self.n_layers)])
        edge = padded[self.feature_rows(batch)].sum(dim=-2)                          # (K, E, 2L)
        u_all, w_all = edge[..., :self.n_layers], edge[..., self.n_layers:]
        z = base
        log_det = torch.zeros_like(base[..., 0])
        for layer in range(self.n_layers):
            u, w = u_all[..., layer], w_all[..., layer]
            wu = (w * u).sum(-1, keepdim=True)
            u_hat = u + (-1.0 + nn.functional.softplus(wu) - wu) * w / (w * w).sum(-1, keepdim=True)
            activation = torch.tanh((w * z).sum(-1) + self.flow_bias[layer])
            z = z + activation[..., None] * u_hat
            log_det = log_det + torch.log(torch.abs(1.0 + (1.0 - activation ** 2) * (w * u_hat).sum(-1)))
        return z, log_det
