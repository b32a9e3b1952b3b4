"""Relaxations of permutations: log-space Sinkhorn, Gumbel-Sinkhorn, Hungarian rounding, and the
Birkhoff-polytope stick-breaking and rounding reparameterisations."""
from phylo_vi.vi.permutations.birkhoff import (birkhoff_rounding_log_prob, birkhoff_rounding_sample,
                                               birkhoff_stick_breaking)
from phylo_vi.vi.permutations.sinkhorn import gumbel_sinkhorn, hungarian_matching, log_sinkhorn

__all__ = ["log_sinkhorn", "gumbel_sinkhorn", "hungarian_matching", "birkhoff_stick_breaking",
           "birkhoff_rounding_sample", "birkhoff_rounding_log_prob"]
