"""A 5-taxon test problem with an exact answer: 15 unrooted topologies, each integrated tightly.

The alignment is simulated under JC69 on ((t0,t1),t2,(t3,t4)) with a numpy generator of fixed
seed; 40 sites leave the topology posterior spread over several trees. The reference for each
topology τ is log Z(τ) = log ∫ p(D | τ, b) p(b) db (Exponential(10) branch lengths) by
importance sampling from the gamma Laplus proposal of :mod:`phylo_vi.marginal` with 20,000
draws (``GLIS``; Monte Carlo standard errors 0.005-0.03 nats per topology, 0.01 for log p(D)),
independent of every VBPI component. With the uniform topology prior,

    log p(D) = log Σ_τ Z(τ) − log 15,    p(τ | D) = Z(τ) / Σ_τ' Z(τ').
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch

from phylo_vi.alignment import Alignment, SitePatterns
from phylo_vi.marginal.gamma_laplus_importance import GammaLaplusImportanceSampling
from phylo_vi.marginal.problem import FixedTopologyProblem
from phylo_vi.trees.arrays import TreeArrays
from phylo_vi.trees.taxa import TaxonNamespace
from phylo_vi.trees.tree import Tree
from tests.sbn.enumeration import all_unrooted_trees

N_TAXA = 5
N_SITES = 40
NUCLEOTIDE_BITS = np.array([1, 2, 4, 8], dtype=np.uint8)
# ((t0:0.08,t1:0.12):0.06,t2:0.1,(t3:0.15,t4:0.05):0.07) as (child, parent, length) from the root "r"
SIMULATION_EDGES = [("a", "r", 0.06), ("b", "r", 0.07), ("t2", "r", 0.10), ("t0", "a", 0.08), ("t1", "a", 0.12),
                    ("t3", "b", 0.15), ("t4", "b", 0.05)]


def simulate_jc69(n_sites: int, seed: int) -> dict[str, np.ndarray]:
    """States 0-3 at every node: root uniform, each edge resamples uniformly with prob 1 − e^{−4t/3}."""
    rng = np.random.default_rng(seed)
    states = {"r": rng.integers(0, 4, n_sites)}
    for child, parent, length in SIMULATION_EDGES:
        resample = rng.random(n_sites) < 1.0 - np.exp(-4.0 * length / 3.0)
        states[child] = np.where(resample, rng.integers(0, 4, n_sites), states[parent])
    return states


def five_taxon_alignment(n_sites: int = N_SITES, seed: int = 7) -> Alignment:
    taxa, _ = all_unrooted_trees(N_TAXA)
    states = simulate_jc69(n_sites, seed)
    codes = np.stack([NUCLEOTIDE_BITS[states[name]] for name in taxa])
    return Alignment(taxa, codes)


def fasta_text(alignment: Alignment) -> str:
    letters = {1: "A", 2: "C", 4: "G", 8: "T"}
    return "".join(f">{name}\n{''.join(letters[int(c)] for c in row)}\n"
                   for name, row in zip(alignment.taxa, alignment.codes))


@dataclass(frozen=True)
class ExactAnswer:
    taxa: TaxonNamespace
    trees: list[Tree]
    patterns: SitePatterns
    log_marginals: np.ndarray
    standard_errors: np.ndarray

    @property
    def log_evidence(self) -> float:
        """log p(D) under the uniform prior on the 15 topologies."""
        peak = self.log_marginals.max()
        return float(peak + np.log(np.exp(self.log_marginals - peak).sum()) - np.log(len(self.trees)))

    @property
    def log_evidence_standard_error(self) -> float:
        posterior = self.posterior
        return float(np.sqrt(np.sum((posterior * self.standard_errors) ** 2)))

    @property
    def posterior(self) -> np.ndarray:
        weights = np.exp(self.log_marginals - self.log_marginals.max())
        return weights / weights.sum()

    def arrays(self) -> TreeArrays:
        return TreeArrays.from_trees(self.trees, np.ones(len(self.trees)))


@lru_cache(maxsize=1)
def exact_answer() -> ExactAnswer:
    alignment = five_taxon_alignment()
    taxa = alignment.taxa
    _, trees = all_unrooted_trees(N_TAXA)
    trees = [Tree(t.parent, t.branch_length, t.taxon, taxa) for t in trees]
    patterns = alignment.site_patterns()
    estimates = [GammaLaplusImportanceSampling(n_samples=20_000, random_state=11 + i).fit(
        FixedTopologyProblem(patterns, tree)) for i, tree in enumerate(trees)]
    return ExactAnswer(taxa, trees, patterns, np.array([e.log_marginal_ for e in estimates]),
                       np.array([e.standard_error_ for e in estimates]))


def random_logits(model, seed: int) -> None:
    """Standard normal logits for an :class:`~phylo_vi.vbpi.topology.SBNTopologyModel` (non-uniform q)."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        model.root_logits.copy_(torch.randn(model.root_logits.shape, generator=generator, dtype=torch.float64))
        model.pcsp_logits.copy_(torch.randn(model.pcsp_logits.shape, generator=generator, dtype=torch.float64))
