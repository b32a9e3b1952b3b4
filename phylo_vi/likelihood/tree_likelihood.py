"""``TreeLikelihood``: the typed, validating front of the Numba pruning kernels.

Branch ``i`` is the branch above post-order node ``i`` (``i = 0 .. n_nodes - 2``), the
convention of ``Tree.branch_length[:-1]``. Shapes: branches B = n_nodes - 1, samples S,
categories K.
"""
from __future__ import annotations

import numba
import numpy as np

from phylo_vi.alignment import SitePatterns
from phylo_vi.errors import InvalidParameterError, PhyloVIError, TreeFormatError
from phylo_vi.likelihood import kernels
from phylo_vi.likelihood.frequencies import empirical_frequencies
from phylo_vi.likelihood.gamma import gamma_category_rates_derivative
from phylo_vi.likelihood.model_string import parse_model
from phylo_vi.likelihood.models import SubstitutionModel
from phylo_vi.likelihood.plan import DEFAULT_BLOCK, build_plan, with_model
from phylo_vi.likelihood.rate_matrix_gradient import normalised_rate_gradients, rate_matrix_gradient
from phylo_vi.likelihood.transition_gradient import transition_gradient, transition_gradient_threads
from phylo_vi.trees.bitset import bitset_indices
from phylo_vi.trees.tree import Tree
from phylo_vi.util.deprecation import renamed


_NO_TOPOLOGIES = np.zeros((3, 0, 0), dtype=np.int32)
_NO_SLOTS = np.zeros((0, 0), dtype=np.int32)


def resolve_model(model: SubstitutionModel | str, patterns: SitePatterns) -> SubstitutionModel:
    """``model`` parsed when a string, with empirical (+F) frequencies computed from ``patterns``."""
    if isinstance(model, str):
        model = parse_model(model)
    if not isinstance(model, SubstitutionModel):
        raise PhyloVIError(f"expected a SubstitutionModel or an IQ-TREE model string, got {type(model).__name__}")
    if model.has_empirical_frequencies:
        model = model.with_frequencies(empirical_frequencies(patterns.codes, patterns.weights))
    return model


class TreeLikelihood:
    """Log-likelihood of one tree topology for one alignment under one substitution model.

    Parameters
    ----------
    patterns : site patterns of the alignment (rows are matched to the tree's taxa by name).
    tree : the topology; its branch lengths are the default evaluation point.
    model : a :class:`SubstitutionModel` or an IQ-TREE model string (``"GTR{...}+F+G4{0.5}"``).
    n_threads : Numba threads over pattern blocks (log-likelihood, gradient) and over samples
        (``log_likelihood_batch``); 1 runs the single-thread kernels. (``threads``: its deprecated
        spelling, DeprecationWarning, removed in the next release.)
    block : patterns per cache block.
    site_repeats : evaluate (and differentiate) subtrees with few distinct site patterns once per
        site class (:mod:`phylo_vi.likelihood.site_repeats`); the values are the same, only faster
        (the Hessian diagonal is computed per pattern either way).

    Attributes
    ----------
    plan : the :class:`~phylo_vi.likelihood.plan.Plan` (named tuple of arrays) the Numba kernels of
        :mod:`phylo_vi.likelihood.kernels` take; single-thread kernels use buffer 0.
    model : the resolved model (empirical frequencies filled in).
    """

    def __init__(self, patterns: SitePatterns, tree: Tree, model: SubstitutionModel | str, *,
                 n_threads: int = 1, block: int = DEFAULT_BLOCK, site_repeats: bool = True,
                 threads: int | None = None):
        threads = renamed("TreeLikelihood", "threads", "n_threads", threads, n_threads, default=1)
        if threads < 1:
            raise PhyloVIError(f"n_threads must be at least 1, got {threads}")
        self.tree = tree
        self.patterns = patterns.match_taxa(tree.taxa)
        self.model = resolve_model(model, self.patterns)
        self.threads = int(threads)
        self.plan = build_plan(tree, self.patterns.codes, self.patterns.weights, self.model,
                               n_buffers=self.threads, block=block, site_repeats=site_repeats)
        self._default_lengths = np.ascontiguousarray(tree.branch_length[:-1])
        self._unused_rows = np.empty((1, self.n_branches))
        self._unused_branches = np.empty(self.n_branches)
        self._unused_categories = np.empty((self.n_branches, self.model.n_categories))

    @property
    def n_branches(self) -> int:
        return self.tree.n_nodes - 1

    # ------------------------------------------------------------------------- validation
    def _lengths(self, branch_lengths) -> np.ndarray:
        """Branch lengths as float64 (B,); their values are checked inside the kernels."""
        if branch_lengths is None:
            branch_lengths = self._default_lengths
        t = np.ascontiguousarray(branch_lengths, dtype=np.float64)
        if t.shape != (self.n_branches,):
            raise PhyloVIError(f"expected {self.n_branches} branch lengths, got shape {t.shape}")
        return t

    def _batch(self, branch_lengths) -> np.ndarray:
        t = np.ascontiguousarray(branch_lengths, dtype=np.float64)
        if t.ndim != 2 or t.shape[1] != self.n_branches:
            raise PhyloVIError(f"expected branch lengths of shape (S, {self.n_branches}), got {t.shape}")
        return t

    def _invalid_lengths(self, t: np.ndarray) -> PhyloVIError:
        """The error for branch lengths ``t`` of which one is negative or not finite, naming the first
        such branch by the taxa below it: a :class:`TreeFormatError` when they are the tree's own
        (a caller that knows the file adds it), an :class:`InvalidParameterError` otherwise."""
        rows = t.reshape(-1, self.n_branches)
        sample, branch = np.argwhere(~((rows >= 0) & (rows < np.inf)))[0]
        value = float(rows[sample, branch])
        what = "missing" if np.isnan(value) else "negative" if value < 0 else "infinite"
        clade = "|".join(sorted(self.tree.taxa[i] for i in bitset_indices(self.tree.clades[branch])))
        message = f"the length of the branch above {clade} is {what} ({value!r}): branch lengths must be finite " \
                  f"and non-negative"
        if np.shares_memory(t, self._default_lengths):
            return TreeFormatError(message)
        return InvalidParameterError(message)

    def _set_threads(self) -> None:
        numba.set_num_threads(min(self.threads, numba.config.NUMBA_NUM_THREADS))

    # ----------------------------------------------------------------------------- values
    def _run(self, mode: int, t: np.ndarray, out: np.ndarray, gradients: np.ndarray, hessian: np.ndarray,
             category: np.ndarray, with_hessian: bool) -> None:
        if not kernels.evaluate(mode, t, out, gradients, hessian, category, with_hessian, _NO_TOPOLOGIES,
                                _NO_SLOTS, *self.plan):
            raise self._invalid_lengths(t)

    def log_likelihood(self, branch_lengths=None) -> float:
        """log L (natural log, constants included) at ``branch_lengths`` (B,), default the tree's."""
        t = self._lengths(branch_lengths)
        if self.threads > 1:
            if not kernels.valid_lengths(t):
                raise self._invalid_lengths(t)
            self._set_threads()
            return float(kernels.plan_log_likelihood_threads(self.plan, t))
        out = np.empty(1)
        self._run(kernels.LOG_LIKELIHOOD, t[None], out, self._unused_rows, self._unused_branches,
                  self._unused_categories, False)
        return float(out[0])

    def _derivatives(self, branch_lengths, with_hessian: bool):
        t = self._lengths(branch_lengths)
        gradient = np.zeros(self.n_branches)
        hessian = np.zeros(self.n_branches)
        category = np.zeros((self.n_branches, self.model.n_categories))
        if self.threads > 1:
            if not kernels.valid_lengths(t):
                raise self._invalid_lengths(t)
            self._set_threads()
            value = kernels.plan_gradient_threads(self.plan, t, gradient, hessian, category, with_hessian)
        else:
            out = np.empty(1)
            self._run(kernels.GRADIENT, t[None], out, gradient[None], hessian, category, with_hessian)
            value = out[0]
        return float(value), gradient, hessian, category, t

    def gradient(self, branch_lengths=None) -> tuple[float, np.ndarray]:
        """``(log L, d log L / dt)``: one post-order and one pre-order pass (Ji et al. 2020).

        Where log L = -inf (a zero-length branch between different states) the gradient is NaN:
        log L has no derivative there (:func:`phylo_vi.likelihood.kernels.plan_gradient`)."""
        value, gradient, _, _, _ = self._derivatives(branch_lengths, False)
        return value, gradient

    def hessian_diagonal(self, branch_lengths=None) -> np.ndarray:
        """Diagonal of the Hessian, ``d^2 log L / dt_i^2`` for every branch, shape (B,)."""
        return self._derivatives(branch_lengths, True)[2]

    def derivatives(self, branch_lengths=None) -> tuple[float, np.ndarray, np.ndarray]:
        """``(log L, gradient, Hessian diagonal)`` in one pass."""
        value, gradient, hessian, _, _ = self._derivatives(branch_lengths, True)
        return value, gradient, hessian

    def category_gradient(self, branch_lengths=None) -> tuple[float, np.ndarray, np.ndarray]:
        """``(log L, d log L / dt (B,), d log L / d(r_k t_b) (B, K))`` from one gradient pass."""
        value, gradient, _, category, _ = self._derivatives(branch_lengths, False)
        return value, gradient, category

    def set_model(self, model: SubstitutionModel | str) -> None:
        """Evaluate under another model with the same number of rate categories (the plan's
        topology and work buffers are kept, :func:`~phylo_vi.likelihood.plan.with_model`)."""
        model = resolve_model(model, self.patterns)
        self.plan = with_model(self.plan, model)
        self.model = model

    def optimize(self, model: str | None = None, **options):
        """Maximum-likelihood branch lengths and free parameters of ``model`` (an IQ-TREE string
        whose missing values are estimated; default the current model, all of it fixed) on this
        topology: :func:`phylo_vi.likelihood.optimize.maximize_likelihood`, same options."""
        from phylo_vi.likelihood.optimize import maximize_likelihood

        return maximize_likelihood(self, self.model.to_iqtree() if model is None else model, **options)

    def gamma_shape_derivative(self, branch_lengths=None) -> float:
        """``d log L / d alpha`` of the +G shape: ``sum_k (d log L / d r_k) (d r_k / d alpha)``.

        ``d log L / d r_k = sum_b t_b d log L / d(r_k t_b)`` comes from the same pre-order pass as
        the branch gradient; ``d r_k / d alpha`` from :mod:`phylo_vi.likelihood.gamma`.
        """
        model = self.model
        if model.gamma_shape is None:
            raise PhyloVIError("the model has no +G rate heterogeneity")
        _, _, _, category, t = self._derivatives(branch_lengths, False)
        d_rates = gamma_category_rates_derivative(model.gamma_shape, model.n_categories, median=model.gamma_median)
        return float(t @ category @ (d_rates / (1.0 - model.invariant_proportion)))

    def transition_gradient(self, branch_lengths=None) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
        """``(log L, d log L / d P_bk (B, K, 4, 4), d log L / d pi at the root (4,), p_inv I_p / L_p (P,))``
        from one post-order and one pre-order pass (:mod:`phylo_vi.likelihood.transition_gradient`).
        Where log L = -inf the derivatives are NaN, as those of :meth:`gradient`."""
        t = self._lengths(branch_lengths)
        gradient = np.empty((self.n_branches, self.model.n_categories, 4, 4))
        root = np.empty(4)
        invariant_share = np.empty(self.patterns.n_patterns)
        if self.threads > 1:
            self._set_threads()
            value = transition_gradient_threads(t, gradient, root, invariant_share, *self.plan)
        else:
            value = transition_gradient(t, gradient, root, invariant_share, *self.plan)
        if np.isnan(value):
            raise self._invalid_lengths()
        if value == -np.inf:
            for derivative in (gradient, root, invariant_share):
                derivative[...] = np.nan
        return float(value), gradient, root, invariant_share

    def exchangeability_gradient(self, branch_lengths=None) -> np.ndarray:
        """``d log L / d r`` for the five free exchangeabilities AC, AG, AT, CG, CT (GT = 1 fixed):
        :meth:`transition_gradient` carried through the eigendecomposition and the normalisation
        of Q (:mod:`phylo_vi.likelihood.rate_matrix_gradient`)."""
        t = self._lengths(branch_lengths)
        _, transition, _, _ = self.transition_gradient(t)
        plan = self.plan
        rate_gradient, _ = rate_matrix_gradient(transition, np.multiply.outer(t, plan.rates), plan.values,
                                                plan.vectors, plan.inverse)
        exchangeability, _ = normalised_rate_gradients(rate_gradient, self.model.exchangeabilities,
                                                       self.model.frequencies)
        return exchangeability[:5]

    # ------------------------------------------------------------------------------ batch
    def log_likelihood_batch(self, branch_lengths) -> np.ndarray:
        """log L for every row of ``branch_lengths`` (S, B) in one kernel call, shape (S,)."""
        t = self._batch(branch_lengths)
        out = np.empty(len(t))
        if self.threads > 1:
            if not kernels.valid_lengths(t):
                raise self._invalid_lengths(t)
            self._set_threads()
            kernels.plan_log_likelihood_batch_threads(self.plan, t, out)
        else:
            self._run(kernels.BATCH, t, out, self._unused_rows, self._unused_branches, self._unused_categories,
                      False)
        return out

    def pattern_log_likelihoods(self, branch_lengths=None) -> np.ndarray:
        """log L of every site pattern alone (unweighted), shape (P,); ``weights @ result`` = log L."""
        t = self._lengths(branch_lengths)
        patterns = np.empty((1, self.patterns.n_patterns))
        self._run(kernels.PATTERNS, t[None], np.empty(1), patterns, self._unused_branches,
                  self._unused_categories, False)
        return patterns[0]

    def gradient_batch(self, branch_lengths) -> tuple[np.ndarray, np.ndarray]:
        """``(log L (S,), gradients (S, B))`` for every row of ``branch_lengths`` (S, B), one kernel call."""
        t = self._batch(branch_lengths)
        out = np.empty(len(t))
        gradients = np.empty_like(t)
        self._run(kernels.BATCH_GRADIENT, t, out, gradients, np.empty(self.n_branches),
                  np.empty((self.n_branches, self.model.n_categories)), False)
        return out, gradients

    # ----------------------------------------------------------------------------- labels
    def clade_labels(self) -> list[str]:
        """For every branch, the sorted names of the tips below it joined by ``|``."""
        names = self.tree.taxa
        return ["|".join(sorted(names[i] for i in bitset_indices(clade))) for clade in self.tree.clades[:-1]]

    def __repr__(self) -> str:
        return (f"TreeLikelihood({self.patterns.n_taxa} taxa, {self.patterns.n_patterns} patterns, "
                f"model={self.model.to_iqtree()!r}, threads={self.threads})")
