"""Exact final repair: turn any 0/1/missing matrix into a conflict-free one of high likelihood.

The output is always conflict-free because every returned row is the genotype of a leaf of one
rooted tree on which each mutation sits on exactly one edge (infinite sites). The search
maximises the penalised log-likelihood

    log P(A' | B) - lambda * (number of distinct rows of B),

with log P(A' | B) the FP/FN model (:func:`~phylo_vi.genotype.matrix.observation_log_probs`)
and ``lambda`` a per-clone cost (a prior preferring few clones, in the spirit of the BIC used
by clustering genotypers such as BnpC, Borgsmüller et al. 2020, Bioinformatics 36:4665):

1. cells are clustered (average linkage on the initial matrix — the network's output when the
   repair follows the pointer network, else the observation) and every mutation is placed on
   its best clade (ScisTree's exact genotype-calling step), after one sweep of SPR moves over the
   tree of single cells (regrafts within a radius; above ``max_tree_cells`` cells the tree is
   built over evenly spaced cells and every cell takes its best node, so memory stays linear);
2. the distinct rows become groups; then, until nothing changes, (a) a tree over the groups is
   improved by SPR hill climbing with exact placement (incremental move scores, see
   :mod:`.tree_search`), (b) the genotypes of all its nodes become candidates, (c) candidates
   are dropped, cheapest first, while moving their cells to the next-best candidate costs less
   than ``lambda``, and every cell takes its best remaining candidate.

Rows are always genotypes of nodes of one tree, hence conflict-free; the search is a local
optimum of the penalised likelihood, not a certified global one.

Missing entries (``3``) carry no information (gain 0), so they are imputed by the tree. With a
``doublet_rate`` > 0, after step (c) every cell is tested against all pairs of the kept clones
(:func:`~phylo_vi.genotype.doublets.call_doublets`); cells called doublets are left out of the
next round's tree and of the dissolution (their reads would pull the tree towards unions of
clones) and are given their best single clone in the conflict-free matrix.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.cluster.hierarchy import linkage
from scipy.spatial.distance import pdist

from phylo_vi.errors import PhyloVIError
from phylo_vi.genotype.doublets import call_doublets
from phylo_vi.genotype.tree_search import leaf_genotypes, placement, spr_hill_climb
from phylo_vi.genotype.matrix import MISSING, check_matrix, observation_log_probs

DEFAULT_CLONE_PENALTY = 15.0  # tuned on 100 x 100 clonal simulations (seed 123), not on benchmark data
# regraft radius of the sweep over single cells: 8 gives the same matrices as an unlimited radius on the
# 18 shared PhISCS files and Demo.SC (4 does not) at a tenth of the time, and 1,000 cells in seconds
DEFAULT_INITIAL_RADIUS = 8
# the first tree is built over at most this many cells (its UPGMA needs n^2 / 2 distances: 16 MB here);
# above it, over every k-th cell, and all cells then take their best node of that tree
DEFAULT_MAX_TREE_CELLS = 2000
ASSIGN_CHUNK = 1024  # cells scored against the candidates at a time (memory linear in the entries)


@dataclass(frozen=True)
class RepairResult:
    """The conflict-free matrix and how it was reached."""

    matrix: np.ndarray
    log_likelihood: float
    n_clones: int
    n_rounds: int
    doublets: np.ndarray  # (n,) bool: cells called doublets (all False without a doublet rate)


def linkage_tree(profiles: np.ndarray) -> np.ndarray:
    """Parent array of the average-linkage (UPGMA) tree over the rows of ``profiles``."""
    k = profiles.shape[0]
    parent = np.full(2 * k - 1, -1, dtype=np.int64)
    if k == 1:
        return parent
    merges = linkage(pdist(profiles.astype(np.float64), metric="cityblock"), method="average")
    for step, (a, b) in enumerate(merges[:, :2].astype(np.int64)):
        parent[a] = parent[b] = k + step
    return parent


def _tree_genotypes(profiles: np.ndarray, gain: np.ndarray, max_sweeps: int, radius: int = -1) -> np.ndarray:
    """Node genotypes (2k - 1, m), leaves first, of the SPR-improved tree over ``k`` groups
    (regrafts within ``radius`` edges; -1: anywhere)."""
    k = gain.shape[0]
    parent = linkage_tree(profiles)
    if k > 2 and max_sweeps > 0:
        parent, _ = spr_hill_climb(parent, gain, max_sweeps, 2 * k - 1, radius)
    best_node, _ = placement(parent, gain)
    return leaf_genotypes(parent, best_node, k)


def _best_rows(cell_gain: np.ndarray, candidates: np.ndarray) -> np.ndarray:
    """Each cell's best candidate row, scored ``ASSIGN_CHUNK`` cells at a time."""
    scores = candidates.T.astype(np.float64)
    best = np.concatenate([np.argmax(cell_gain[i:i + ASSIGN_CHUNK] @ scores, axis=1)
                           for i in range(0, cell_gain.shape[0], ASSIGN_CHUNK)])
    return candidates[best]


def _first_rows(start: np.ndarray, cell_gain: np.ndarray, sweeps: int, radius: int, max_cells: int) -> np.ndarray:
    """Step 1: rows of the leaves of the SPR-improved cell tree; with more than ``max_cells`` cells
    the tree is built over every k-th cell and each cell takes its best node genotype of it."""
    n_cells = start.shape[0]
    if n_cells <= max_cells:
        return _tree_genotypes(start, cell_gain, sweeps, radius)[:n_cells]
    subset = np.arange(0, n_cells, -(-n_cells // max_cells))
    nodes = np.unique(_tree_genotypes(start[subset], cell_gain[subset], sweeps, radius), axis=0)
    return _best_rows(cell_gain, nodes)


def _group_gain(labels: np.ndarray, cell_gain: np.ndarray, k: int) -> np.ndarray:
    gain = np.zeros((k, cell_gain.shape[1]))
    np.add.at(gain, labels, cell_gain)
    return gain


def _dissolve(fit: np.ndarray, penalty: float) -> np.ndarray:
    """Columns of ``fit`` (cells x candidate genotypes) kept after greedily dropping, cheapest
    first, every genotype whose cells lose less than ``penalty`` log-likelihood by moving to
    their next-best kept genotype."""
    active = np.arange(fit.shape[1])
    while len(active) > 1:
        sub = fit[:, active]
        best = np.argmax(sub, axis=1)
        order = np.argsort(sub, axis=1)
        runner_up = np.where(order[:, -1] == best, order[:, -2], order[:, -1])
        loss = sub[np.arange(len(sub)), best] - sub[np.arange(len(sub)), runner_up]
        cost = np.bincount(best, weights=loss, minlength=len(active))
        used = np.bincount(best, minlength=len(active)) > 0
        cost[~used] = -np.inf  # groups no cell prefers cost nothing to drop
        drop = int(np.argmin(cost))
        if cost[drop] >= penalty:
            break
        active = np.delete(active, drop)
    return active


def repair(observed: np.ndarray, fp: float, fn: float, *, initial: np.ndarray | None = None,
           clone_penalty: float = DEFAULT_CLONE_PENALTY, doublet_rate: float = 0.0, max_rounds: int = 20,
           max_sweeps: int = 3, initial_sweeps: int = 1, initial_radius: int = DEFAULT_INITIAL_RADIUS,
           max_tree_cells: int = DEFAULT_MAX_TREE_CELLS) -> RepairResult:
    """Conflict-free matrix maximising the penalised FP/FN log-likelihood of ``observed``.

    Parameters
    ----------
    observed : (n, m) 0/1/3 matrix (3 = missing), the data the likelihood is taken of.
    fp, fn : error rates of the observation model.
    initial : (n, m) 0/1 matrix used only to cluster the cells at the start (e.g. the pointer
        network's output); defaults to ``observed`` with missing entries read as 0.
    clone_penalty : log-likelihood cost of one more distinct row (0 = pure maximum likelihood).
    doublet_rate : prior probability that a cell is a doublet (0 = no doublet model).
    max_rounds : rounds of (group tree, reassignment, dissolution) at most.
    max_sweeps, initial_sweeps : SPR sweeps over the group tree per round and over the first
        tree of single cells.
    initial_radius : regrafts of that first sweep stay within this many edges (-1: anywhere).
    max_tree_cells : the first tree is built over at most this many (evenly spaced) cells.
    """
    observed = check_matrix(observed)
    if clone_penalty < 0:
        raise PhyloVIError(f"clone_penalty must be >= 0, got {clone_penalty}")
    if not 0.0 <= doublet_rate < 1.0:
        raise PhyloVIError(f"doublet_rate must be in [0, 1), got {doublet_rate}")
    if max_tree_cells < 2:
        raise PhyloVIError(f"max_tree_cells must be >= 2, got {max_tree_cells}")
    log0, log1 = observation_log_probs(observed, fp, fn)
    cell_gain = log1 - log0
    start = np.where(observed == MISSING, 0, observed) if initial is None else check_matrix(initial, allow_missing=False)
    if start.shape != observed.shape:
        raise PhyloVIError(f"initial matrix {start.shape} and observation {observed.shape} differ in shape")
    # 1. cell tree + exact placement; its distinct rows are the first groups
    rows = _first_rows(start, cell_gain, initial_sweeps, initial_radius, max_tree_cells)
    genotypes, labels = np.unique(rows, axis=0, return_inverse=True)
    doublets = np.zeros(observed.shape[0], dtype=bool)
    rounds = 0
    for rounds in range(1, max_rounds + 1):
        singlets = ~doublets
        # 2a. tree over the groups; candidates are all its node genotypes and the normal (all-0) row
        gain = _group_gain(labels[singlets], cell_gain[singlets], len(genotypes))
        candidates = np.unique(np.vstack([_tree_genotypes(genotypes, gain, max_sweeps),
                                          np.zeros((1, observed.shape[1]), np.int8)]), axis=0)
        # 2b-c. cells to their best candidate, after dissolving groups cheaper than the penalty
        fit = cell_gain @ candidates.T.astype(np.float64)
        active = _dissolve(fit[singlets], clone_penalty)
        new_doublets = (call_doublets(cell_gain, candidates[active], doublet_rate) if doublet_rate > 0
                        else doublets)
        used, labels = np.unique(np.argmax(fit[:, active], axis=1), return_inverse=True)
        genotypes = candidates[active[used]]
        new_rows = genotypes[labels]
        converged = np.array_equal(new_rows, rows) and np.array_equal(new_doublets, doublets)
        rows, doublets = new_rows, new_doublets
        if converged:
            break
    matrix = rows.astype(np.int8)
    log_lik = float(np.where(matrix == 1, log1, log0).sum())
    return RepairResult(matrix=matrix, log_likelihood=log_lik, n_clones=len(genotypes), n_rounds=rounds,
                        doublets=doublets)
