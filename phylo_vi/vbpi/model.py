"""The phylogenetic model of the VBPI benchmarks: likelihood, branch-length and topology priors.

Zhang & Matsen (ICLR 2019), code ``zcrabbit/vbpi-torch:unrooted/phyloModel.py`` and ``vbpi.py``:

- likelihood: any substitution model of the engine (JC69 by default, as the benchmarks);
- branch lengths i.i.d. Exponential(λ), λ = 10 (mean 0.1); on the log scale the VBPI variable,
  log p(log b) = Σ_e (log λ − λ b_e + log b_e) (density plus log-Jacobian);
- topologies uniform over the (2n − 5)!! unrooted binary trees, log p(τ) = −Σ_{k=3,5,…,2n−5} log k.

The unnormalised log posterior of one particle is log p(D | τ, b) + log p(log b) + log p(τ).
"""
from __future__ import annotations

import math

import numpy as np
import torch

from phylo_vi.alignment import SitePatterns
from phylo_vi.errors import PhyloVIError
from phylo_vi.likelihood import SubstitutionModel
from phylo_vi.trees.taxa import TaxonNamespace
from phylo_vi.vbpi.batch import TopologyBatch
from phylo_vi.vbpi.likelihood import TopologyLikelihoods, TorchTopologyLikelihoods, log_likelihood


def log_unrooted_topology_count(n_taxa: int) -> float:
    """log (2n − 5)!!, the number of unrooted binary topologies on ``n_taxa`` taxa."""
    return float(np.sum(np.log(np.arange(3, 2 * n_taxa - 4, 2, dtype=np.float64))))


BACKENDS = ("numba", "torch")


class PhylogeneticModel:
    """Alignment + substitution model + Exponential(λ) branch prior + uniform topology prior.

    ``backend``: ``"numba"`` (the engine's kernels, CPU) or ``"torch"`` (its torch twin on
    ``device``); by default Numba on the CPU and the twin on any other device. ``threads``:
    trees of a batch evaluated concurrently (Numba backend); ``cache_size``: torch twins kept
    (torch backend).
    """

    def __init__(self, patterns: SitePatterns, taxa: TaxonNamespace, model: SubstitutionModel | str = "JC", *,
                 prior_rate: float = 10.0, device: torch.device | str = "cpu", backend: str | None = None,
                 threads: int = 1, cache_size: int | None = None):
        if not prior_rate > 0:
            raise PhyloVIError(f"the exponential prior needs a positive rate, got {prior_rate}")
        device = torch.device(device)
        backend = backend or ("numba" if device.type == "cpu" else "torch")
        if backend not in BACKENDS or (backend == "numba" and device.type != "cpu"):
            raise PhyloVIError(f"backend must be one of {BACKENDS} (numba on the CPU only), "
                               f"got {backend!r} on {device}")
        options = {} if cache_size is None else {"cache_size": cache_size}
        self.backend = backend
        self.likelihoods = (TopologyLikelihoods(patterns, taxa, model, threads=threads) if backend == "numba"
                            else TorchTopologyLikelihoods(patterns, taxa, model, device=device, **options))
        self.prior_rate = float(prior_rate)
        self.n_taxa = len(taxa)
        self.log_topology_prior = -log_unrooted_topology_count(self.n_taxa)

    def log_likelihood(self, batch: TopologyBatch, log_branch: torch.Tensor) -> torch.Tensor:
        """``(K,)`` log p(D | τ_k, exp(log b_k)); differentiable in ``log_branch`` when it requires grad."""
        return log_likelihood(log_branch, self.likelihoods, batch)

    def log_branch_prior(self, log_branch: torch.Tensor) -> torch.Tensor:
        """``(K,)`` log density of log b under i.i.d. Exponential(λ) branch lengths."""
        rate = self.prior_rate
        return (math.log(rate) - rate * log_branch.exp() + log_branch).sum(dim=-1)
