"""Unrooted subsplit Bayesian network fitted by simple averaging (SA), EM or EM-α.

Zhang & Matsen, "Generalizing tree probability estimation via Bayesian networks", NeurIPS 2018
(arXiv:1805.07834), §3–4. An unrooted tree's probability sums the rooted SBN over its 2n − 3
rootings, q(Tᵘ) = Σ_e P(Tᵘ rooted on e) (eq. 5); the root position is latent.

- SA (§4.1): every rooting of every training tree counts 1/(2n − 3).
- EM (§4.2, Theorem 1): E-step π_T(e) = P(T rooted on e)/q(T); M-step root-split and PCSP
  probabilities proportional to the expected counts m̄. Started from the SA estimate, also for
  EM-α (the authors' code starts EM-α from the regularised SA counts instead; the plain SA start
  reproduces the EM-α iteration counts of ``shared/specs/sbn_vbpi.md`` §2 on all ten DS1
  replicates, and the published DS1 mean to 3.4e-6); the score Σ_T w_T log q(T) never decreases.
- EM-α (§4.2, "regularization"): Dirichlet prior on each CPD centred on the SA estimate, in the
  form of the authors' code (``zcrabbit/sbn:models.py``, reproduces their published table):
  P(r) = (m̄(r) + α m̃(r)) / (1 + α) and
  P(s | Y,Z) = (m̄(Y,Z→s) + α m̃(Y,Z)/|C(Y,Z)|) / (m̄(Y,Z) + α m̃(Y,Z)),
  where m̃ counts each training tree once with weight w_T/(2n − 3) and |C(Y,Z)| is the number
  of children of (Y,Z) in the support. The score adds the log prior
  α Σ_r m̃(r) log P(r) + Σ_{(Y,Z)} α m̃(Y,Z)/|C(Y,Z)| Σ_s log P(s | Y,Z).

Stopping rule of the authors' ``bn_em_prob``: iteration k (0-based) stops when k > min_iter and
|score_k − score_{k−1}| < tol, or after max_iter iterations; defaults are the settings of their
real-data experiments (max_iter 1000, min_iter 50, tol 1e-5).
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Sequence

import numpy as np

from phylo_vi.base import COUNT, NON_NEGATIVE, Interval, Options
from phylo_vi.sbn.base import SubsplitModel
from phylo_vi.sbn.edges import EdgeTables, distinct_topologies
from phylo_vi.sbn.kernels import expected_counts_kernel, map_parameters_kernel, pad_log_table, tree_once_counts_kernel
from phylo_vi.sbn.support import PackedTrees, SubsplitSupport, pack_support
from phylo_vi.trees.arrays import TreeArrays
from phylo_vi.trees.tree import Tree

METHODS = ("sa", "em")


def _tree_once_counts(packed: PackedTrees, weights: np.ndarray, n_root: int, n_pcsp: int):
    """SA counts: every tree adds w_T/(2n − 3) once to each of its root splits and PCSPs."""
    return tree_once_counts_kernel(packed.factors, weights / (packed.parent.shape[1] - 1), n_root, n_pcsp)


class SubsplitBayesianNetwork(SubsplitModel):
    """Unrooted SBN over the subsplit support of a tree sample (Zhang & Matsen 2018).

    Parameters
    ----------
    method : {"sa", "em"}, default "em"
        ``"sa"`` (simple average over rootings) or ``"em"`` (EM over the latent root).
    alpha : float, default 0.0
        Dirichlet regularisation of EM (SBN-EM-α; 0 for plain EM; the paper uses 1e-4).
    max_iter, min_iter : int, default 1000, 50
        EM stopping rule of the authors' code (module docstring).
    tol : float, default 1e-5
        EM stops once the score changes by less than ``tol`` after ``min_iter`` iterations.
    n_threads : int, default 1
        Threads for the E-step (the trees are split into ``n_threads`` contiguous chunks; the
        Numba kernel releases the GIL). The counts are summed per chunk, so results agree across
        ``n_threads`` to rounding (~1e-16), and exactly for a fixed ``n_threads``.

    Attributes
    ----------
    taxa_ : TaxonNamespace
        Taxa of the training trees.
    support_ : SubsplitSupport
        Clades, root splits, parent subsplits and PCSPs of all rootings of the sample.
    log_root_ : ndarray of shape (n_root_splits,)
        log P of each root split.
    log_cpd_ : ndarray of shape (n_pcsps,)
        log P of each PCSP given its parent subsplit.
    scores_ : list of float
        EM score Σ_T w_T log q(T) (plus the log prior for EM-α) per iteration, SA start first;
        empty for SA.
    n_iter_ : int
        EM iterations run (``len(scores_)``).
    n_trees_ : int
        Distinct training topologies.
    root_prior_, parent_prior_ : ndarray
        SA counts m̃ of root splits and parent subsplits (the centre of the EM-α prior).
    n_children_ : ndarray of shape (n_parents,)
        Number of PCSPs |C(Y,Z)| below each parent subsplit in the support.
    """

    rooted = False
    deprecated_parameters = {"n_jobs": "n_threads"}
    parameter_constraints = {"method": [Options(METHODS)], "alpha": NON_NEGATIVE, "max_iter": COUNT,
                             "min_iter": [Interval(int, 0)], "tol": NON_NEGATIVE, "n_threads": COUNT}

    def __init__(self, *, method: str = "em", alpha: float = 0.0, max_iter: int = 1000, min_iter: int = 50,
                 tol: float = 1e-5, n_threads: int = 1):
        self.method = method
        self.alpha = alpha
        self.max_iter = max_iter
        self.min_iter = min_iter
        self.tol = tol
        self.n_threads = n_threads

    def fit(self, trees: Sequence[Tree] | TreeArrays | EdgeTables, sample_weight: Sequence[float] | None = None
            ) -> "SubsplitBayesianNetwork":
        """Fit to unrooted trees; ``sample_weight`` defaults to each tree's ``weight``."""
        self._fit(trees, sample_weight)
        return self

    def fit_log_prob(self, trees: Sequence[Tree] | TreeArrays | EdgeTables,
                     sample_weight: Sequence[float] | None = None) -> np.ndarray:
        """Fit, then log q(Tᵘ) of every training tree (``(n_trees,)``; one per row for ``EdgeTables``).

        Scores the packed tables of the fit instead of indexing the trees again: the same kernel and
        summation as ``fit(trees).log_prob(trees)``, so equal to it bit for bit on the first tree of
        each topology (its repeats get that value; ``log_prob`` of a repeat stored in another node
        order sums its rootings in another order, equal to rounding). Trees of zero total weight are
        outside the fit and scored by :meth:`log_prob`.
        """
        arrays, inverse, fitted, packed = self._fit(trees, sample_weight)
        log_q = np.empty(len(arrays))
        log_q[fitted] = self._packed_log_prob(packed)
        if not np.all(fitted):
            log_q[~fitted] = self.log_prob(arrays.subset(~fitted))
        return log_q[inverse]

    def _fit(self, trees, sample_weight) -> tuple[TreeArrays, np.ndarray, np.ndarray, PackedTrees]:
        """Fit (class docstring); returns the distinct topologies, every tree's row among them, which rows were
        fitted (positive weight) and their packed tables."""
        self.validate_params()
        arrays, inverse = distinct_topologies(trees, sample_weight)
        fitted = arrays.weights > 0
        training = arrays if np.all(fitted) else arrays.subset(fitted)
        support, packed = pack_support(training)
        n_root, n_pcsp = len(support.root_splits), len(support.pcsp_keys)
        pcsp_parent = support.pcsp_parent
        n_parents = len(support.parent_keys)
        root_sa, pcsp_sa = _tree_once_counts(packed, training.weights, n_root, n_pcsp)
        self.taxa_ = arrays.taxa
        self.support_ = support
        self.n_trees_ = len(training)
        self.root_prior_ = root_sa
        self.parent_prior_ = np.bincount(pcsp_parent, weights=pcsp_sa, minlength=n_parents)
        self.n_children_ = np.bincount(pcsp_parent, minlength=n_parents)
        self._pcsp_parent = pcsp_parent
        alpha = self.alpha if self.method == "em" else 0.0
        self.log_root_, self.log_cpd_ = self._map_parameters(root_sa, pcsp_sa, 0.0)
        self.scores_ = []
        if self.method == "em":
            self._run_em(packed, training.weights, alpha)
        self.n_iter_ = len(self.scores_)
        return arrays, inverse, fitted, packed

    def _map_parameters(self, root_counts: np.ndarray, pcsp_counts: np.ndarray, alpha: float):
        """M-step: (regularised) normalisation of expected counts into log probabilities."""
        log_root, log_cpd = np.empty(len(root_counts)), np.empty(len(pcsp_counts))
        map_parameters_kernel(root_counts, pcsp_counts, self._pcsp_parent, self.parent_prior_, self.n_children_,
                              self.root_prior_, float(alpha), log_root, log_cpd)
        return log_root, log_cpd

    def _log_prior(self, alpha: float) -> float:
        """Log Dirichlet prior of the current parameters (zero without regularisation)."""
        if alpha == 0.0:
            return 0.0
        pseudo = (alpha * self.parent_prior_ / np.maximum(self.n_children_, 1))[self._pcsp_parent]
        return float(alpha * np.sum(self.root_prior_ * self.log_root_) + np.sum(pseudo * self.log_cpd_))

    def _run_em(self, packed: PackedTrees, weights: np.ndarray, alpha: float) -> None:
        """EM iterations on the packed tables (:func:`~phylo_vi.sbn.support.pack_support`); padded log tables
        and count buffers are allocated once."""
        n_root, n_pcsp = len(self.log_root_), len(self.log_cpd_)
        log_root, log_cpd = pad_log_table(self.log_root_), pad_log_table(self.log_cpd_)
        self.log_root_, self.log_cpd_ = log_root[:n_root], log_cpd[:n_pcsp]
        bounds = np.linspace(0, len(weights), max(1, min(self.n_threads, len(weights))) + 1).astype(int)
        chunks = [(a, b, np.zeros(n_root + 2), np.zeros(n_pcsp + 2)) for a, b in zip(bounds[:-1], bounds[1:])]

        def e_step(chunk):
            a, b, root_counts, pcsp_counts = chunk
            root_counts.fill(0.0)
            pcsp_counts.fill(0.0)
            return expected_counts_kernel(packed.parent[a:b], packed.factors[a:b], log_root, log_cpd, weights[a:b],
                                          root_counts, pcsp_counts)

        with ThreadPoolExecutor(max_workers=len(chunks)) as pool:
            for iteration in range(self.max_iter):
                if len(chunks) == 1:
                    score = e_step(chunks[0])
                    root_counts, pcsp_counts = chunks[0][2], chunks[0][3]
                else:
                    score = sum(pool.map(e_step, chunks))
                    root_counts = sum(chunk[2] for chunk in chunks)
                    pcsp_counts = sum(chunk[3] for chunk in chunks)
                self.scores_.append(score + self._log_prior(alpha))
                map_parameters_kernel(root_counts[:n_root], pcsp_counts[:n_pcsp], self._pcsp_parent,
                                      self.parent_prior_, self.n_children_, self.root_prior_, float(alpha),
                                      self.log_root_, self.log_cpd_)
                if iteration > self.min_iter and abs(self.scores_[-1] - self.scores_[-2]) < self.tol:
                    break
        self.log_root_, self.log_cpd_ = self.log_root_.copy(), self.log_cpd_.copy()

    # ------------------------------------------------------------------------- persistence
    def _state_dict(self) -> dict:
        return {"support": self.support_.to_dict(), "log_root": self.log_root_.tolist(),
                "log_cpd": self.log_cpd_.tolist(), "root_prior": self.root_prior_.tolist(),
                "parent_prior": self.parent_prior_.tolist(), "n_children": self.n_children_.tolist(),
                "scores": list(self.scores_), "n_iter": self.n_iter_, "n_trees": self.n_trees_}

    def _load_state(self, state: dict) -> None:
        self.support_ = SubsplitSupport.from_dict(state["support"])
        self.log_root_ = np.array(state["log_root"], dtype=np.float64)
        self.log_cpd_ = np.array(state["log_cpd"], dtype=np.float64)
        self.root_prior_ = np.array(state["root_prior"], dtype=np.float64)
        self.parent_prior_ = np.array(state["parent_prior"], dtype=np.float64)
        self.n_children_ = np.array(state["n_children"], dtype=np.int64)
        self._pcsp_parent = self.support_.pcsp_parent
        self.scores_ = list(state["scores"])
        self.n_iter_ = int(state["n_iter"])
        self.n_trees_ = int(state["n_trees"])
