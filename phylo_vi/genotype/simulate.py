"""Simulated tumour genotype matrices: clonal-tree and coalescent models plus FP/FN/missing noise.

- :func:`simulate_clonal` follows the PhISCS simulator (Malikic et al. 2019, Genome Res.
  29:1860, "Simulated data"): a random tree over ``n_clones`` clones whose root is the normal
  (all-zero) clone, every mutation placed on the edge into one non-root clone (infinite sites),
  every cell drawn from one clone; each clone holds at least one cell and each non-root clone
  at least one mutation, so the truth has exactly ``n_clones`` distinct rows.
  ``linear=True`` draws the clone tree as a chain from the same generator (used to train and
  test branching inference without the generator artefacts noted for PhyloM).
- :func:`simulate_coalescent` is the model PhyloM trains on (Hudson's ``ms <n> 1 -s <m>``):
  a Kingman coalescent genealogy of the cells (``msprime``, Baumdicker et al. 2022, Genetics
  220:iyab229) with exactly ``n_mutations`` segregating sites dropped on its branches with
  probability proportional to branch length.
- :func:`add_doublets` merges each cell, with probability ``doublet_rate``, with another cell
  drawn uniformly: the droplet reads the union of the two genotypes (the doublet model of
  SCITE's successor ∞SCITE, Kuipers et al. 2017, Genome Biol. 18:178, and of the PhISCS
  simulator's ``d`` field). The truth of a doublet cell stays its own (singlet) genotype.
- :func:`add_noise` flips true 0s with probability ``fp``, true 1s with probability ``fn`` and
  masks entries with probability ``missing_rate`` (written as ``3``).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from phylo_vi.errors import PhyloVIError
from phylo_vi.genotype.matrix import MISSING
from phylo_vi.util.random import check_random_state


@dataclass(frozen=True)
class SimulatedMatrix:
    """A noise-free matrix, its noisy observation and the settings that produced it."""

    truth: np.ndarray
    observed: np.ndarray
    fp: float
    fn: float
    missing_rate: float
    doublet_rate: float = 0.0
    doublets: np.ndarray | None = None  # (n,) bool: cells observed as doublets

    @property
    def entry_noise(self) -> float:
        """Fraction of observed (non-missing) entries that differ from the truth."""
        return float(np.mean(np.where(self.observed == MISSING, self.truth, self.observed) != self.truth))


def simulate_clonal(n_cells: int, n_mutations: int, n_clones: int, *, linear: bool = False,
                    random_state=None) -> np.ndarray:
    """Noise-free (n_cells, n_mutations) int8 matrix of a random clonal tree (PhISCS model)."""
    if not 1 <= n_clones - 1 <= n_mutations or n_clones > n_cells:
        raise PhyloVIError(f"need 2 <= n_clones <= min(n_cells, n_mutations + 1), got {n_clones}")
    rng = check_random_state(random_state)
    parent = np.array([-1] + [k - 1 if linear else int(rng.integers(0, k)) for k in range(1, n_clones)])
    # mutations of each non-root clone: a random composition of n_mutations into n_clones - 1 parts
    cuts = np.sort(rng.choice(np.arange(1, n_mutations), size=n_clones - 2, replace=False))
    sizes = np.diff(np.concatenate([[0], cuts, [n_mutations]]))
    owner = rng.permutation(np.repeat(np.arange(1, n_clones), sizes))
    genotype = np.zeros((n_clones, n_mutations), dtype=np.int8)
    for clone in range(1, n_clones):  # parents precede children, so one pass fills ancestry
        genotype[clone] = genotype[parent[clone]]
        genotype[clone, owner == clone] = 1
    weights = rng.dirichlet(np.ones(n_clones))
    clone_of_cell = np.concatenate([np.arange(n_clones),
                                    rng.choice(n_clones, size=n_cells - n_clones, p=weights)])
    return genotype[rng.permutation(clone_of_cell)]


def simulate_coalescent(n_cells: int, n_mutations: int, *, random_state=None) -> np.ndarray:
    """Noise-free matrix of an ``ms``-style coalescent with exactly ``n_mutations`` sites."""
    import msprime

    if n_cells < 2 or n_mutations < 1:
        raise PhyloVIError("a coalescent needs at least 2 cells and 1 mutation")
    rng = check_random_state(random_state)
    ts = msprime.sim_ancestry(samples=n_cells, ploidy=1, sequence_length=1.0,
                              random_seed=int(rng.integers(1, 2**31 - 1)))
    tree = ts.first()
    nodes = np.array([u for u in tree.nodes() if u != tree.root])
    lengths = np.array([tree.branch_length(u) for u in nodes])
    chosen = rng.choice(nodes, size=n_mutations, p=lengths / lengths.sum())
    matrix = np.zeros((n_cells, n_mutations), dtype=np.int8)
    for j, node in enumerate(chosen):
        matrix[list(tree.samples(node)), j] = 1
    return matrix


def add_noise(truth: np.ndarray, fp: float, fn: float, missing_rate: float = 0.0, *,
              random_state=None) -> np.ndarray:
    """Observed matrix: 0→1 with prob ``fp``, 1→0 with prob ``fn``, masked (3) with prob ``missing_rate``."""
    for name, rate in (("fp", fp), ("fn", fn), ("missing_rate", missing_rate)):
        if not 0.0 <= rate < 1.0:
            raise PhyloVIError(f"{name} must be in [0, 1), got {rate}")
    rng = check_random_state(random_state)
    truth = np.asarray(truth, dtype=np.int8)
    u = rng.random(truth.shape)
    flip = np.where(truth == 1, u < fn, u < fp)
    observed = np.where(flip, 1 - truth, truth).astype(np.int8)
    observed[rng.random(truth.shape) < missing_rate] = MISSING
    return observed


def add_doublets(truth: np.ndarray, doublet_rate: float, *, random_state=None) -> tuple[np.ndarray, np.ndarray]:
    """(merged matrix, doublet mask): each cell becomes, with probability ``doublet_rate``, the
    union (entrywise OR) of its genotype and that of another cell drawn uniformly."""
    if not 0.0 <= doublet_rate < 1.0:
        raise PhyloVIError(f"doublet_rate must be in [0, 1), got {doublet_rate}")
    truth = np.asarray(truth, dtype=np.int8)
    n_cells = truth.shape[0]
    if doublet_rate == 0.0 or n_cells < 2:  # no draw: seeds of doublet-free simulations are unchanged
        return truth.copy(), np.zeros(n_cells, dtype=bool)
    rng = check_random_state(random_state)
    doublets = rng.random(n_cells) < doublet_rate
    partner = (np.arange(n_cells) + rng.integers(1, n_cells, size=n_cells)) % n_cells  # never the cell itself
    merged = np.where(doublets[:, None], truth | truth[partner], truth).astype(np.int8)
    return merged, doublets


def simulate_dataset(n_matrices: int, n_cells: int, n_mutations: int, *, fp: float, fn: float,
                     missing_rate: float = 0.0, model: str = "clonal", n_clones: int | tuple[int, int] = 10,
                     random_state=None) -> list[SimulatedMatrix]:
    """``n_matrices`` independent (truth, observed) pairs; ``n_clones`` may be a (low, high) range."""
    rng = check_random_state(random_state)
    out = []
    for _ in range(n_matrices):
        if model == "clonal":
            k = n_clones if isinstance(n_clones, int) else int(rng.integers(n_clones[0], n_clones[1] + 1))
            truth = simulate_clonal(n_cells, n_mutations, k, random_state=rng)
        elif model == "coalescent":
            truth = simulate_coalescent(n_cells, n_mutations, random_state=rng)
        else:
            raise PhyloVIError(f"unknown model {model!r}; choose 'clonal' or 'coalescent'")
        observed = add_noise(truth, fp, fn, missing_rate, random_state=rng)
        out.append(SimulatedMatrix(truth, observed, fp, fn, missing_rate))
    return out


def simulate_experiment(model: str = "clonal", n_cells: int = 100, n_mutations: int = 100, *, n_clones: int = 10,
                        linear: bool = False, fp: float = 1e-4, fn: float = 0.1, missing_rate: float = 0.0,
                        doublet_rate: float = 0.0, random_state=None) -> SimulatedMatrix:
    """One noise-free matrix (``clonal``: :func:`simulate_clonal`; ``coalescent``:
    :func:`simulate_coalescent`) and its noisy observation (:func:`add_doublets` then
    :func:`add_noise`), from one generator (the design of ``phylo-vi genotype simulate``)."""
    rng = check_random_state(random_state)
    if model == "clonal":
        truth = simulate_clonal(n_cells, n_mutations, n_clones, linear=linear, random_state=rng)
    elif model == "coalescent":
        truth = simulate_coalescent(n_cells, n_mutations, random_state=rng)
    else:
        raise PhyloVIError(f"unknown model {model!r}; choose 'clonal' or 'coalescent'")
    merged, doublets = add_doublets(truth, doublet_rate, random_state=rng)
    observed = add_noise(merged, fp, fn, missing_rate, random_state=rng)
    return SimulatedMatrix(truth, observed, fp, fn, missing_rate, doublet_rate, doublets)
