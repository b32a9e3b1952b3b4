"""q_ψ(b | τ): VBPI's log-normal family pushed through RealNVP coupling layers (VBPI-NF).

Zhang (NeurIPS 2020, "Improved variational Bayesian phylogenetic inference with normalizing
flows") puts RealNVP layers (Dinh, Sohl-Dickstein & Bengio 2017, §3) on top of the log-normal
base of VBPI; the code default is 5 layers with one hidden layer of 100 units
(``zcrabbit/vbpi-nf:code/main.py``, spec ``sbn_vbpi.md`` §5). Here the layers are the affine
couplings of :class:`phylo_vi.vi.flows.realnvp.RealNVPCoupling`, acting on the vector
z = (log b_e + 2)_e of the 2n − 3 edges **in split-key order** (``TopologyBatch.canonical_order``:
edges sorted by their split, which depends on the topology only). A coupling is a bijection of
R^{2n−3}, so for every topology

    log q_ψ(log b | τ) = log N(z_0; μ, σ²) − Σ_l log |det ∂z_l / ∂z_{l−1}|      (Rezende & Mohamed 2015, eq. 7)

is an exact density, and reading the edges in split-key order makes it independent of how the
sampled tree's nodes happen to be numbered. Layer l transforms the positions of parity l mod 2
given the others (alternating masks). The output layers of the scale and shift networks start at
zero, so the flow starts as the identity and training starts from the VBPI base (Kingma &
Dhariwal 2018, §3.3, zero initialisation). The per-edge conditioning of VBPI-NF's own RealNVP
(split/PSP embeddings) was not available to check (spec §5 lists only its settings); this
parameterisation is a plain RealNVP over the ordered vector.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from phylo_vi.sbn.support import SubsplitSupport
from phylo_vi.vbpi.batch import TopologyBatch
from phylo_vi.vbpi.branch import LOG_BRANCH_OFFSET, LogNormalBranchModel
from phylo_vi.vi.flows.realnvp import RealNVPCoupling


class RealNVPBranchModel(LogNormalBranchModel):
    """The log-normal base (split and PSP features) followed by ``n_layers`` RealNVP couplings
    of width ``hidden`` over the edges in split-key order (module docstring)."""

    def __init__(self, support: SubsplitSupport, n_taxa: int, *, n_layers: int = 5, hidden: int = 100,
                 psp: bool = True, generator: torch.Generator | None = None, dtype: torch.dtype = torch.float64):
        super().__init__(support, n_taxa, psp=psp, generator=generator, dtype=dtype)
        position = torch.arange(2 * n_taxa - 3)
        self.couplings = nn.ModuleList(
            RealNVPCoupling(((position + layer) % 2).to(dtype), hidden=hidden, generator=generator)
            for layer in range(n_layers))
        with torch.no_grad():
            for coupling in self.couplings:
                for network in (coupling.scale_net, coupling.shift_net):
                    output = [module for module in network if isinstance(module, nn.Linear)][-1]
                    output.weight.zero_()
                    output.bias.zero_()

    def flow(self, batch: TopologyBatch, base: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(z_L (K, E), Σ_l log |det| (K,))`` for base points ``(K, E)`` in the batch's edge order."""
        order = torch.as_tensor(batch.canonical_order, device=base.device)
        z = base.gather(-1, order)
        log_det = torch.zeros_like(base[..., 0])
        for coupling in self.couplings:
            z, layer_log_det = coupling(z)
            log_det = log_det + layer_log_det
        return torch.empty_like(z).scatter(-1, order, z), log_det

    def sample(self, batch: TopologyBatch, noise: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(log b, log q_ψ(log b | τ))``: base log-normal draw, the couplings, then the offset."""
        mean, log_std = self.mean_log_std(batch)
        base = mean + log_std.exp() * noise
        log_q = (-0.5 * math.log(2.0 * math.pi) - 0.5 * noise ** 2 - log_std).sum(dim=-1)
        flowed, log_det = self.flow(batch, base)
        return flowed + LOG_BRANCH_OFFSET, log_q - log_det
