"""Tumour single-cell genotype matrices (cells x mutations, 0/1, missing ``3``).

- I/O: :func:`read_genotype` / :func:`write_genotype` (PhISCS/HUNTRESS SC and CFMatrix, SCITE,
  SPhyR, CSV) in :mod:`.formats`.
- Simulation: :func:`simulate_clonal` (PhISCS model), :func:`simulate_coalescent` (ms model),
  :func:`add_noise` in :mod:`.simulate`.
- Exact checks: :func:`conflicting_pairs`, :func:`is_conflict_free`, :func:`is_linear`,
  :func:`check_matrix_structure` in :mod:`.conflicts`.
- Noise elimination: :func:`denoise` (pointer network + exact conflict-free :func:`repair`, with
  missing entries and doublets); unknown rates learnt with the matrix by :func:`estimate_rates`.
- The mutation tree and cell placement of a conflict-free matrix: :func:`mutation_tree`.
- Classifiers: :class:`MatrixClassifier` with :func:`compare_with_exact` in :mod:`.classifiers`.
- Metrics: :func:`evaluate` (entry error, HUNTRESS AD/DL accuracy) in :mod:`.metrics`.
"""
from phylo_vi.genotype.conflicts import (
    check_matrix_structure,
    conflicting_pairs,
    is_conflict_free,
    is_linear,
)
from phylo_vi.genotype.denoise import DenoiseResult, denoise, load_network, save_network
from phylo_vi.genotype.formats import read_genotype, write_genotype
from phylo_vi.genotype.matrix import MISSING, GenotypeMatrix, log_likelihood
from phylo_vi.genotype.metrics import evaluate
from phylo_vi.genotype.mutation_tree import MutationTree, mutation_tree
from phylo_vi.genotype.rates import ErrorRates, estimate_rates
from phylo_vi.genotype.repair import RepairResult, repair
from phylo_vi.genotype.simulate import add_doublets, add_noise, simulate_clonal, simulate_coalescent

__all__ = [
    "MISSING", "GenotypeMatrix", "read_genotype", "write_genotype", "simulate_clonal", "simulate_coalescent",
    "add_noise", "conflicting_pairs", "is_conflict_free", "is_linear", "check_matrix_structure", "denoise",
    "DenoiseResult", "load_network", "save_network", "repair", "RepairResult", "evaluate", "log_likelihood",
    "add_doublets", "estimate_rates", "ErrorRates", "mutation_tree", "MutationTree",
]
