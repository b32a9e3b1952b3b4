"""Variational Bayesian phylogenetic inference (Zhang & Matsen, ICLR 2019) on the Numba engine.

The posterior over unrooted topologies τ and branch lengths b is approximated by
q_φ(τ) q_ψ(b | τ) and fitted by maximising the K-sample importance-weighted bound::

    from phylo_vi.io import read_alignment
    from phylo_vi.sbn import read_tree_arrays
    from phylo_vi.vbpi import VBPI

    patterns = read_alignment("DS1.fasta").site_patterns()
    samples = read_tree_arrays(["rep_1/DS1.trprobs", "rep_2/DS1.trprobs"], per_file=True)
    vbpi = VBPI(estimator="vimco", random_state=1).fit(patterns, samples, n_iter=200_000)
    vbpi.evaluate(golden=...)          # ELBO, 10-sample bound, IS marginal likelihood, KL
    vbpi.distribution_                 # q_φ as a fitted SubsplitBayesianNetwork
    vbpi.sample_trees(1000)            # trees with branch lengths drawn from q

Modules, one job each:

- :mod:`~phylo_vi.vbpi.model`: JC69 (any engine model), Exponential(10) branch lengths,
  uniform unrooted topologies;
- :mod:`~phylo_vi.vbpi.batch`: a draw of K topologies in the forms the other modules need;
- :mod:`~phylo_vi.vbpi.likelihood`: log L and d log L / d b of K sampled trees from the Numba
  engine, one kernel call for the whole batch, as a ``torch.autograd.Function`` (or the
  engine's torch twin on any device);
- :mod:`~phylo_vi.vbpi.topology`: q_φ, the SBN with softmax CPDs (Numba log q and its
  expected-count gradient);
- :mod:`~phylo_vi.vbpi.branch`: q_ψ, log-normal with split and PSP features (VBPI), and with
  planar flows on top (VBPI-NF), :mod:`~phylo_vi.vbpi.realnvp` RealNVP flows on top (VBPI-NF);
  :mod:`~phylo_vi.vbpi.gnn`: q_ψ from EdgeConv layers (VBPI-GNN);
- :mod:`~phylo_vi.vbpi.support`: the support from the 95 % most frequent trees of each sample;
  :mod:`~phylo_vi.vbpi.ufboot`: the samples from IQ-TREE ultrafast-bootstrap replicates;
- :mod:`~phylo_vi.vbpi.objectives`: the bound, VIMCO and RWS, the β warm-up;
  :mod:`~phylo_vi.vbpi.canonical`: q_φ rooted at taxon 0, a sequential model (one decision
  sequence per topology); :mod:`~phylo_vi.vbpi.set_estimators`: the unordered-set and
  sum-and-sample estimators over K distinct topologies;
- :mod:`~phylo_vi.vbpi.evaluation`, :mod:`~phylo_vi.vbpi.output`, :mod:`~phylo_vi.vbpi.report`:
  ELBO, bounds, marginal likelihood, KL; posterior trees as NEXUS; the HTML report;
- :mod:`~phylo_vi.vbpi.estimator`, :mod:`~phylo_vi.vbpi.checkpoint`: training, checkpoints and
  exact resume.
"""
from phylo_vi.vbpi.estimator import VBPI
from phylo_vi.vbpi.evaluation import Evaluation
from phylo_vi.vbpi.model import PhylogeneticModel
from phylo_vi.vbpi.posterior import VariationalPosterior

__all__ = ["VBPI", "Evaluation", "PhylogeneticModel", "VariationalPosterior"]
