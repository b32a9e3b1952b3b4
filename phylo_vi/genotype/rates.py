"""Unknown error rates: the FP and FN rates (and the doublet rate) learnt jointly with the
conflict-free matrix.

SCITE learns the FN rate beta by sampling it together with the tree (Jahn et al. 2016, Genome
Biol. 17:86, "Learning the error rates"); here the same joint maximum is reached by
classification EM (Celeux & Govaert 1992, Comput. Stat. Data Anal. 14:315): alternate

- C-step: the conflict-free matrix ``B`` of highest penalised likelihood under the current rates
  (:func:`~phylo_vi.genotype.repair.repair`, started from the previous ``B``);
- M-step: the rates that maximise ``log P(A' | B, alpha, beta)`` for that ``B``, the observed
  flip fractions over the non-missing entries of the singlet cells

      alpha = (#{a'=1, b=0} + 1/2) / (#{a'!=3, b=0} + 1),   beta = (#{a'=0, b=1} + 1/2) / (#{a'!=3, b=1} + 1),

  with the Jeffreys Beta(1/2, 1/2) pseudo-counts (Jeffreys 1946) that keep a rate with no
  observed flip strictly positive; the doublet rate is the called fraction, with the same
  pseudo-counts, and the missing rate is the fraction of ``3`` entries (it does not depend on B);

until ``B`` repeats: a fixed point of both steps, or a cycle (seen on 100 x 100 simulations: two
matrices of 8 and 9 clones alternating), of which the member of highest objective
``log P(A' | B, alpha, beta) - lambda (number of clones)`` is kept with the rates it was repaired
under; or ``max_iterations``.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from phylo_vi.errors import PhyloVIError
from phylo_vi.genotype.matrix import MISSING, check_matrix, check_rates
from phylo_vi.genotype.repair import DEFAULT_CLONE_PENALTY, RepairResult, repair

INITIAL_FP = 0.01
INITIAL_FN = 0.1


@dataclass(frozen=True)
class ErrorRates:
    """Estimated rates and how the estimation ended."""

    fp: float
    fn: float
    missing: float
    doublet: float
    n_iterations: int
    converged: bool
    cycle_length: int = 1  # 1: a fixed point; more: the iterates ended in a cycle of that length

    def as_dict(self) -> dict:
        return asdict(self)


def _jeffreys(successes: int, trials: int) -> float:
    return (successes + 0.5) / (trials + 1.0)


def rates_given_matrix(observed: np.ndarray, matrix: np.ndarray,
                       doublets: np.ndarray | None = None) -> tuple[float, float]:
    """M-step: the (FP, FN) rates of highest likelihood of ``observed`` given the true ``matrix``
    (module formula); rows flagged in ``doublets`` are left out."""
    observed = check_matrix(observed)
    matrix = check_matrix(matrix, allow_missing=False)
    if observed.shape != matrix.shape:
        raise PhyloVIError(f"matrix {matrix.shape} and observation {observed.shape} differ in shape")
    keep = np.ones(observed.shape[0], dtype=bool) if doublets is None else ~np.asarray(doublets, dtype=bool)
    seen = (observed != MISSING) & keep[:, None]
    true0, true1 = seen & (matrix == 0), seen & (matrix == 1)
    fp = _jeffreys(int((true0 & (observed == 1)).sum()), int(true0.sum()))
    fn = _jeffreys(int((true1 & (observed == 0)).sum()), int(true1.sum()))
    return fp, fn


def estimate_rates(observed: np.ndarray, *, fp: float = INITIAL_FP, fn: float = INITIAL_FN,
                   doublet_rate: float = 0.0, max_iterations: int = 15,
                   **repair_options) -> tuple[ErrorRates, RepairResult]:
    """Classification EM over the repair (module docstring): estimated rates and the repair under them.

    ``fp``, ``fn`` and ``doublet_rate`` are the starting values; a zero ``doublet_rate`` keeps the
    doublet model off. ``repair_options`` go to :func:`~phylo_vi.genotype.repair.repair`.
    """
    observed = check_matrix(observed)
    check_rates(fp, fn)
    if max_iterations < 1:
        raise PhyloVIError(f"max_iterations must be >= 1, got {max_iterations}")
    penalty = repair_options.get("clone_penalty", DEFAULT_CLONE_PENALTY)
    result = repair(observed, fp, fn, doublet_rate=doublet_rate, **repair_options)
    history = [(fp, fn, doublet_rate, result)]
    converged = False
    cycle_length = 0
    for _ in range(1, max_iterations):
        fp, fn = rates_given_matrix(observed, result.matrix, result.doublets)
        if doublet_rate > 0:
            doublet_rate = _jeffreys(int(result.doublets.sum()), observed.shape[0])
        result = repair(observed, fp, fn, initial=result.matrix, doublet_rate=doublet_rate, **repair_options)
        repeat = next((k for k, (*_, seen) in enumerate(history) if np.array_equal(seen.matrix, result.matrix)
                       and np.array_equal(seen.doublets, result.doublets)), None)
        history.append((fp, fn, doublet_rate, result))
        if repeat is not None:
            converged = True
            cycle = history[repeat + 1:]  # (rates, the repair under them): consistent pairs
            cycle_length = len(cycle)
            fp, fn, doublet_rate, result = max(cycle, key=lambda h: h[3].log_likelihood - penalty * h[3].n_clones)
            break
    missing = float((observed == MISSING).mean())
    return ErrorRates(fp=fp, fn=fn, missing=missing, doublet=doublet_rate, n_iterations=len(history),
                      converged=converged, cycle_length=cycle_length), result
