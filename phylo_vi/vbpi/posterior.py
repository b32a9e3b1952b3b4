"""q_φ,ψ(τ, b) = q_φ(τ) q_ψ(b | τ): the two families joined, and drawing weighted particles.

All randomness of a draw comes from one ``numpy.random.Generator`` (uniforms of the SBN sampler,
then standard normal noise of the branch lengths), so a checkpoint that stores the generator's
state resumes the exact same sequence of particles.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from phylo_vi.errors import PhyloVIError
from phylo_vi.sbn.support import SubsplitSupport
from phylo_vi.trees.taxa import TaxonNamespace
from phylo_vi.vbpi.batch import TopologyBatch
from phylo_vi.vbpi.canonical import ROOTINGS, CanonicalSBNTopologyModel
from phylo_vi.vbpi.branch import INITIAL_LOG_STD, LogNormalBranchModel, PlanarFlowBranchModel
from phylo_vi.vbpi.gnn import GNNBranchModel
from phylo_vi.vbpi.model import PhylogeneticModel
from phylo_vi.vbpi.objectives import Particles
from phylo_vi.vbpi.realnvp import RealNVPBranchModel
from phylo_vi.vbpi.topology import SBNTopologyModel


BRANCH_MODELS = ("lognormal", "planar", "realnvp", "gnn")


class VariationalPosterior(nn.Module):
    """SBN over topologies and log-normal branch lengths on one support: split + PSP features
    (VBPI), pushed through planar or RealNVP flows (VBPI-NF), or from a GNN (VBPI-GNN).

    ``rooting``: ``"all"`` sums the SBN over every rooting (VBPI), ``"canonical"`` reads each
    topology from the pendant edge of taxon 0 (:mod:`phylo_vi.vbpi.canonical`; a sequential model,
    as the unordered-set and sum-and-sample estimators need)."""

    def __init__(self, support: SubsplitSupport, taxa: TaxonNamespace, *, psp: bool = True,
                 branch_model: str = "lognormal", flow_layers: int = 16, gnn_hidden: int = 100, gnn_layers: int = 2,
                 rooting: str = "all", initial_log_std: float = INITIAL_LOG_STD,
                 generator: torch.Generator | None = None):
        super().__init__()
        if branch_model not in BRANCH_MODELS:
            raise PhyloVIError(f"branch_model must be one of {BRANCH_MODELS}, got {branch_model!r}")
        if rooting not in ROOTINGS:
            raise PhyloVIError(f"rooting must be one of {ROOTINGS}, got {rooting!r}")
        self.topology = (CanonicalSBNTopologyModel if rooting == "canonical" else SBNTopologyModel)(support, taxa)
        if branch_model == "planar":
            self.branch = PlanarFlowBranchModel(support, len(taxa), n_layers=flow_layers, psp=psp,
                                                initial_log_std=initial_log_std, generator=generator)
        elif branch_model == "realnvp":
            self.branch = RealNVPBranchModel(support, len(taxa), n_layers=flow_layers, psp=psp,
                                             initial_log_std=initial_log_std, generator=generator)
        elif branch_model == "gnn":
            self.branch = GNNBranchModel(len(taxa), hidden=gnn_hidden, n_layers=gnn_layers, generator=generator)
        else:
            self.branch = LogNormalBranchModel(support, len(taxa), psp=psp,
                                               initial_log_std=initial_log_std, generator=generator)

    def forward(self, model: PhylogeneticModel, batch: TopologyBatch, noise: np.ndarray,
                log_tables: tuple[torch.Tensor, torch.Tensor] | None = None) -> Particles:
        """The log-weight terms of ``batch`` with branch noise ``noise (K, E)``.

        ``log_tables``: the SBN's log tables when already computed. Under ``torch.no_grad()`` the
        likelihood skips the gradient pass.
        """
        logits = self.topology.root_logits
        noise = torch.as_tensor(noise, dtype=logits.dtype, device=logits.device)
        log_branch, log_q_branch = self.branch.sample(batch, noise)
        return Particles(log_likelihood=model.log_likelihood(batch, log_branch),
                         log_branch_prior=model.log_branch_prior(log_branch),
                         log_topology_prior=model.log_topology_prior,
                         log_q_topology=self.topology.log_prob(batch, log_tables), log_q_branch=log_q_branch)

    def draw(self, model: PhylogeneticModel, n: int, rng: np.random.Generator) -> tuple[TopologyBatch, Particles]:
        """``n`` particles: topologies from q_φ, then log b from q_ψ(· | τ)."""
        log_tables = self.topology.log_tables()
        batch = self.topology.sample(n, rng, log_tables)
        noise = rng.standard_normal((n, batch.n_edges))
        return batch, self(model, batch, noise, log_tables)
