"""Transition matrices ``P(r_k t) = U diag(exp(lambda r_k t)) U^-1`` of every branch and rate category,
and the register-held 4 x 4 entries the pruning kernels read them through.

The eigensystem is the symmetrised one of :meth:`phylo_vi.likelihood.models.SubstitutionModel.eigen`
(Felsenstein 2004, *Inferring Phylogenies*, ch. 13), with the stationary pair exactly at index 0,
and P is evaluated as ``I + sum_{m>=1} U_m expm1(lambda_m r_k t) U^-1_m``: exact to rounding in
every entry for every finite t >= 0 (the reasons are in :mod:`phylo_vi.likelihood.models`).
"""
from __future__ import annotations

import math

from numba import njit

#: options of the inner kernels: fused multiply-add allowed (``contract``), nothing else relaxed
HOT = dict(cache=True, nogil=True, fastmath={"contract"})


@njit(cache=True, nogil=True)
def transition_matrices(branch_lengths, values, vectors, inverse, rates, pmats):
    """``pmats[b, k] = I + sum_{m>=1} U_m expm1(values[m] rates[k] t[b]) U^-1_m`` for every branch b and
    category k: ``U diag(exp(values r_k t)) U^-1`` with the stationary term (m = 0, eigenvalue 0)
    folded into the identity, so that ``P(0) = I`` and ``P(t) -> 1 pi^T`` exactly."""
    for b in range(branch_lengths.shape[0]):
        t = branch_lengths[b]
        for k in range(rates.shape[0]):
            rt = rates[k] * t
            e1 = math.expm1(values[1] * rt)
            e2 = math.expm1(values[2] * rt)
            e3 = math.expm1(values[3] * rt)
            for i in range(4):
                a1 = vectors[i, 1] * e1
                a2 = vectors[i, 2] * e2
                a3 = vectors[i, 3] * e3
                for j in range(4):
                    change = a1 * inverse[1, j] + a2 * inverse[2, j] + a3 * inverse[3, j]
                    pmats[b, k, i, j] = 1.0 + change if i == j else change


@njit(**HOT)
def square_entries(matrix):
    """The 16 entries of a 4 x 4 ``matrix`` row by row (kept in registers by the kernels)."""
    return (matrix[0, 0], matrix[0, 1], matrix[0, 2], matrix[0, 3], matrix[1, 0], matrix[1, 1], matrix[1, 2],
            matrix[1, 3], matrix[2, 0], matrix[2, 1], matrix[2, 2], matrix[2, 3], matrix[3, 0], matrix[3, 1],
            matrix[3, 2], matrix[3, 3])


@njit(**HOT)
def matrix_entries(pmats, m, k, transposed):
    """The 16 entries of ``P = pmats[m, k]`` (or of ``P^T`` when ``transposed``) row by row, for
    kernels that keep a transition matrix in registers."""
    if transposed:
        return (pmats[m, k, 0, 0], pmats[m, k, 1, 0], pmats[m, k, 2, 0], pmats[m, k, 3, 0],
                pmats[m, k, 0, 1], pmats[m, k, 1, 1], pmats[m, k, 2, 1], pmats[m, k, 3, 1],
                pmats[m, k, 0, 2], pmats[m, k, 1, 2], pmats[m, k, 2, 2], pmats[m, k, 3, 2],
                pmats[m, k, 0, 3], pmats[m, k, 1, 3], pmats[m, k, 2, 3], pmats[m, k, 3, 3])
    return (pmats[m, k, 0, 0], pmats[m, k, 0, 1], pmats[m, k, 0, 2], pmats[m, k, 0, 3],
            pmats[m, k, 1, 0], pmats[m, k, 1, 1], pmats[m, k, 1, 2], pmats[m, k, 1, 3],
            pmats[m, k, 2, 0], pmats[m, k, 2, 1], pmats[m, k, 2, 2], pmats[m, k, 2, 3],
            pmats[m, k, 3, 0], pmats[m, k, 3, 1], pmats[m, k, 3, 2], pmats[m, k, 3, 3])

