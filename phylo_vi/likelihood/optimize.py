"""Maximum likelihood on a fixed topology: branch lengths and free model parameters.

The scheme is IQ-TREE's (Nguyen et al. 2015, Mol. Biol. Evol. 32:268; ``-te``): rounds that
alternate

1. the free model parameters at fixed branch lengths, by L-BFGS-B (Byrd et al. 1995, SIAM J.
   Sci. Comput. 16:1190) with the derivatives of :mod:`phylo_vi.likelihood.model_gradient`,
   each coordinate within 2 of its value at the start of the round (a trust box: from poor
   starting branch lengths a free jump can land in a spurious optimum, e.g. the gamma shape at
   its lower bound on DS1 tree A under HKY+G4, 6 log-units below the real one). A common factor
   on all branch lengths is optimised with them: it absorbs the strongest coupling between the
   model and the branch lengths (the gamma shape and +I rescale every branch), so that fewer
   rounds are needed;
2. all branch lengths at a fixed model, by L-BFGS-B with the engine's analytic
   gradient (one post-order and one pre-order pass, Ji et al. 2020, Mol. Biol. Evol. 37:3047).

Branch lengths are bounded to ``[1e-6, 10]`` (IQ-TREE's MIN_BRANCH_LEN and MAX_BRANCH_LEN); a
length missing from the tree starts at 0.1, the others at their value clipped to the bounds.
Model bounds and starting values: :mod:`phylo_vi.likelihood.model_parameters`.

Every L-BFGS-B run is diagonally preconditioned: it works on ``u_i = s_i z_i`` with ``s_i`` the
square root of the curvature of log L along coordinate i (the engine's Hessian diagonal for the
branch lengths, second differences for the model), so that every coordinate has unit curvature,
which the identity start of L-BFGS fits; without it the first branch phase on sim100x10000 took
222 iterations instead of 23. The branch scales are computed once, before the first branch phase:
the Hessian diagonal is a pass without site classes (on sim100x10000 as long as five gradients),
and the later rounds, which move the lengths little, took 6 more evaluations in all with the first
round's scales than with fresh ones (8% less CPU time for the fit).

**Convergence.** Each L-BFGS-B run stops when an iteration changes log L by less than
``tolerance / 1000`` (scipy's ``ftol`` relative to |log L|) or the largest projected gradient
component in the preconditioned coordinates falls below ``gradient_tolerance`` (1e-4: the log L a
Newton step would still gain, ``g_u^2 / 2``, is below 1e-8 per coordinate); the rounds stop when a
round raises log L by less than ``tolerance`` (default 1e-5), after which one L-BFGS-B run over
every coordinate together (``t`` and the model coordinates) removes what the alternation leaves
of the coupling between branch lengths and model.
"""
from __future__ import annotations

import functools
import sys
import time
from dataclasses import dataclass, field

import numpy as np
from scipy import optimize
from threadpoolctl import ThreadpoolController

from phylo_vi.alignment import SitePatterns
from phylo_vi.errors import PhyloVIError
from phylo_vi.likelihood.model_gradient import model_gradient
from phylo_vi.likelihood.model_parameters import ModelParameters
from phylo_vi.likelihood.models import SubstitutionModel
from phylo_vi.likelihood.tree_likelihood import TreeLikelihood
from phylo_vi.trees.tree import Tree

BRANCH_BOUNDS = (1e-6, 10.0)
MISSING_LENGTH_START = 0.1
#: largest move of a model coordinate in one model phase (a factor e^2 for the log coordinates)
MODEL_STEP_LIMIT = 2.0


@dataclass
class MaximumLikelihoodFit:
    """Result of :func:`maximize_likelihood`.

    ``branch_lengths`` (B,) follow the engine's branch order (``Tree.branch_length[:-1]``);
    ``parameters`` holds the free model parameters in natural units; ``n_parameters`` counts
    branch lengths, free model parameters and empirical frequencies (IQ-TREE's count);
    ``max_gradient`` is the largest |d log L / dz| over the coordinates z not held at a bound by
    their gradient (branch lengths; log of the positive model parameters; p_inv); ``coordinates``
    are those z at the optimum.
    """

    tree: Tree
    branch_lengths: np.ndarray
    model: SubstitutionModel
    model_string: str
    log_likelihood: float
    parameters: dict[str, float]
    n_parameters: int
    n_sites: int
    n_rounds: int
    n_evaluations: int
    seconds: float
    max_gradient: float
    coordinates: np.ndarray = field(repr=False)
    likelihood: TreeLikelihood = field(repr=False)
    specification: ModelParameters = field(repr=False)

    @property
    def criteria(self) -> dict[str, float]:
        """AIC, AICc and BIC (:func:`phylo_vi.likelihood.information.information_criteria`)."""
        from phylo_vi.likelihood.information import information_criteria

        return information_criteria(self.log_likelihood, self.n_parameters, self.n_sites)

    def standard_errors(self) -> tuple[np.ndarray, dict[str, float]]:
        """Standard errors from the observed information: ``(branch lengths (B,), {parameter: se})``
        (:func:`phylo_vi.likelihood.information.standard_errors`; 2 (B + free) gradient passes)."""
        from phylo_vi.likelihood.information import standard_errors

        return standard_errors(self.likelihood, self.specification, self)


class _Surface:
    """log L as a function of (log t, model coordinates), with counters and progress."""

    def __init__(self, likelihood: TreeLikelihood, parameters: ModelParameters, x: np.ndarray, progress):
        self.likelihood = likelihood
        self.parameters = parameters
        self.x = x.copy()
        self.progress = progress
        self.n_evaluations = 0
        self.best = -np.inf

    def set_model(self, x: np.ndarray) -> None:
        if not np.array_equal(x, self.x):
            self.likelihood.set_model(self.parameters.model(x))
            self.x = x.copy()

    def _count(self, value: float) -> None:
        self.n_evaluations += 1
        if value > self.best:
            self.best = value
        self.progress.set_postfix_str(f"log L {self.best:.4f}", refresh=False)
        self.progress.update(1)

    def branches(self, t: np.ndarray) -> tuple[float, np.ndarray]:
        """Negative log L and its gradient in the branch lengths (model fixed)."""
        value, gradient = self.likelihood.gradient(t)
        self._count(value)
        return -value, -gradient

    def model(self, z: np.ndarray, t: np.ndarray) -> tuple[float, np.ndarray]:
        """Negative log L and its gradient in ``z = (x, log c)``: the model coordinates and the
        logarithm of a factor ``c`` on every branch length (relative lengths fixed), whose
        derivative ``t_c . d log L / dt`` comes free with the model gradient."""
        x, scaled = z[:-1], t * np.exp(z[-1])
        self.set_model(x)
        value, branch_gradient, gradient = model_gradient(self.likelihood, self.parameters, x, scaled)
        self._count(value)
        return -value, -np.append(gradient, scaled @ branch_gradient)

    def model_value(self, z: np.ndarray, t: np.ndarray) -> float:
        """Negative log L at ``z = (x, log c)`` (as :meth:`model`, without the gradient)."""
        self.set_model(z[:-1])
        value = self.likelihood.log_likelihood(t * np.exp(z[-1]))
        self._count(value)
        return -value

    def joint(self, z: np.ndarray) -> tuple[float, np.ndarray]:
        """Negative log L and gradient in ``(t, x)`` together."""
        n_branches = self.likelihood.n_branches
        t, x = z[:n_branches], z[n_branches:]
        self.set_model(x)
        value, branch_gradient, gradient = model_gradient(self.likelihood, self.parameters, x, t)
        self._count(value)
        return -value, -np.concatenate([branch_gradient, gradient])


@functools.cache
def _thread_pools() -> ThreadpoolController:
    """The process's thread pools, inspected once (a fresh inspection of the loaded libraries for
    every L-BFGS-B run cost more than a JC fit's evaluations on DS1)."""
    return ThreadpoolController()


def _minimize(function, start, lower, upper, scale: np.ndarray, value_scale: float, tolerance: float,
              gradient_tolerance: float, max_iterations: int):
    """L-BFGS-B on ``u = z * scale`` (a diagonal preconditioner); returns ``(z, log L)``. BLAS runs
    on one thread: L-BFGS-B's products are tiny, and waking a BLAS thread pool for each of them
    tripled the time of a DS1 fit on a loaded two-core machine."""
    def scaled(u):
        value, gradient = function(u / scale)
        return value, gradient / scale

    with _thread_pools().limit(limits=1, user_api="blas"):
        result = optimize.minimize(scaled, start * scale, jac=True, method="L-BFGS-B",
                                   bounds=list(zip(lower * scale, upper * scale)),
                                   options=dict(ftol=tolerance / 1000.0 / max(1.0, value_scale),
                                                gtol=gradient_tolerance, maxiter=max_iterations, maxcor=20))
    return np.clip(result.x / scale, lower, upper), -float(result.fun)


def diagonal_scales(function, z: np.ndarray, lower: np.ndarray, upper: np.ndarray, step: float = 1e-3) -> np.ndarray:
    """``sqrt(|f''|)`` (at least 1) of every coordinate of ``z`` by second differences of ``f``,
    the step taken inward where ``z`` sits on a bound (2 evaluations per coordinate)."""
    centre = function(z)
    curvature = np.empty(len(z))
    for i in range(len(z)):
        h = np.zeros_like(z)
        h[i] = step
        if z[i] + step > upper[i]:
            h = -h
        elif z[i] - step >= lower[i]:
            curvature[i] = (function(z + h) - 2.0 * centre + function(z - h)) / step**2
            continue
        curvature[i] = (function(z + 2.0 * h) - 2.0 * function(z + h) + centre) / step**2
    return np.sqrt(np.maximum(np.abs(curvature), 1.0))


def branch_scales(likelihood: TreeLikelihood, t: np.ndarray) -> np.ndarray:
    """``sqrt(|d^2 log L / dt_b^2|)`` (at least 1): in ``u_b = s_b t_b`` every branch has unit
    curvature, which L-BFGS-B's identity start fits far better than the raw lengths."""
    return np.sqrt(np.maximum(np.abs(likelihood.hessian_diagonal(t)), 1.0))


def _start_lengths(tree: Tree) -> np.ndarray:
    t = np.array(tree.branch_length[:-1], dtype=np.float64)
    t[~np.isfinite(t)] = MISSING_LENGTH_START
    return np.clip(t, *BRANCH_BOUNDS)


def _likelihood_for(likelihood: TreeLikelihood, model: SubstitutionModel) -> TreeLikelihood:
    if model.n_categories == likelihood.model.n_categories:
        likelihood.set_model(model)
        return likelihood
    return TreeLikelihood(likelihood.patterns, likelihood.tree, model, n_threads=likelihood.threads)


def maximize_likelihood(likelihood: TreeLikelihood, model: str, *, tolerance: float = 1e-5,
                        gradient_tolerance: float = 1e-4, max_rounds: int = 50, max_iterations: int = 1000,
                        gamma_median: bool | None = None, progress: bool = False) -> MaximumLikelihoodFit:
    """Maximum-likelihood branch lengths and free model parameters of ``model`` on the topology of
    ``likelihood`` (module docstring for the scheme, bounds and convergence).

    ``model`` is an IQ-TREE string: values it gives are fixed, parameters without values are
    estimated (``HKY+I+G4``; ``GTR{1,2,1,1,2}+F+G4`` estimates only the shape). ``likelihood`` is
    left holding the fitted model, unless ``model`` has another number of rate categories: then a
    new likelihood object is built (``fit.likelihood``). ``progress`` shows a bar on stderr for fits
    over a second.
    """
    from tqdm import tqdm

    started = time.perf_counter()
    if gamma_median is None:
        gamma_median = likelihood.model.gamma_median
    patterns = likelihood.patterns
    parameters = ModelParameters(model, patterns.codes, patterns.weights, gamma_median=gamma_median)
    x = parameters.start.copy()
    likelihood = _likelihood_for(likelihood, parameters.model(x))
    t = _start_lengths(likelihood.tree)
    branch_lower = np.full(likelihood.n_branches, BRANCH_BOUNDS[0])
    branch_upper = np.full(likelihood.n_branches, BRANCH_BOUNDS[1])
    bar = tqdm(desc=f"ML {model}", unit=" evaluations", file=sys.stderr, leave=False, delay=1.0,
               disable=not progress)
    surface = _Surface(likelihood, parameters, x, bar)
    model_scales = np.ones(parameters.n_free)
    options = dict(tolerance=tolerance, gradient_tolerance=gradient_tolerance, max_iterations=max_iterations)
    with bar:
        value = likelihood.log_likelihood(t)
        scale = abs(value)
        n_rounds = 0
        for n_rounds in range(1, max_rounds + 1):
            previous = value
            if parameters.n_free:
                lower = np.append(np.maximum(parameters.lower, x - MODEL_STEP_LIMIT), -MODEL_STEP_LIMIT)
                upper = np.append(np.minimum(parameters.upper, x + MODEL_STEP_LIMIT), MODEL_STEP_LIMIT)
                z = np.append(x, 0.0)
                scales = diagonal_scales(lambda z: surface.model_value(z, t), z, lower, upper)
                z, value = _minimize(lambda z: surface.model(z, t), z, lower, upper, scales, scale, **options)
                x, t, model_scales = z[:-1], np.clip(t * np.exp(z[-1]), *BRANCH_BOUNDS), scales[:-1]
                surface.set_model(x)
            if n_rounds == 1:
                length_scales = branch_scales(likelihood, t)
            t, value = _minimize(surface.branches, t, branch_lower, branch_upper, length_scales, scale, **options)
            if value - previous < tolerance:
                break
        if parameters.n_free:
            z, value = _minimize(surface.joint, np.concatenate([t, x]),
                                 np.concatenate([branch_lower, parameters.lower]),
                                 np.concatenate([branch_upper, parameters.upper]),
                                 np.concatenate([length_scales, model_scales]), scale, **options)
            t, x = z[:likelihood.n_branches], z[likelihood.n_branches:]
            surface.set_model(x)
    return _result(surface, t, x, n_rounds, started)


def fit_model(patterns: SitePatterns, tree: Tree, model: str, *, n_threads: int = 1, gamma_median: bool = False,
              **options) -> MaximumLikelihoodFit:
    """:func:`maximize_likelihood` of ``model`` on ``tree`` for ``patterns``, with a likelihood object
    built at the model's starting values (one plan, whatever the number of rate categories)."""
    start = ModelParameters(model, patterns.codes, patterns.weights, gamma_median=gamma_median)
    likelihood = TreeLikelihood(patterns, tree, start.model(start.start), n_threads=n_threads)
    return maximize_likelihood(likelihood, model, gamma_median=gamma_median, **options)


def _result(surface: _Surface, t: np.ndarray, x: np.ndarray, n_rounds: int, started: float) -> MaximumLikelihoodFit:
    likelihood, parameters = surface.likelihood, surface.parameters
    value, branch_gradient, gradient = model_gradient(likelihood, parameters, x, t)
    free = np.concatenate([branch_gradient, gradient])
    lower = np.concatenate([np.full(len(t), BRANCH_BOUNDS[0]), parameters.lower])
    upper = np.concatenate([np.full(len(t), BRANCH_BOUNDS[1]), parameters.upper])
    z = np.concatenate([t, x])
    at_lower, at_upper = z <= lower + 1e-12, z >= upper - 1e-12
    projected = np.where((at_lower & (free < 0)) | (at_upper & (free > 0)), 0.0, free)
    tree = likelihood.tree
    lengths = tree.branch_length.copy()
    lengths[:-1] = t
    fitted = Tree(tree.parent, lengths, tree.taxon, tree.taxa, rooted=tree.rooted, name=tree.name)
    n_parameters = likelihood.n_branches + parameters.n_free + (
        parameters.n_frequency_parameters if not parameters.estimates_frequencies else 0)
    if not np.isfinite(value):
        raise PhyloVIError(f"the likelihood is not finite at the fitted parameters of {parameters.text}")
    return MaximumLikelihoodFit(
        tree=fitted, branch_lengths=t, model=likelihood.model, model_string=parameters.model_string(x),
        log_likelihood=value, parameters=parameters.values(x), n_parameters=n_parameters,
        n_sites=likelihood.patterns.n_sites, n_rounds=n_rounds, n_evaluations=surface.n_evaluations,
        seconds=time.perf_counter() - started, max_gradient=float(np.abs(projected).max(initial=0.0)),
        coordinates=z, likelihood=likelihood, specification=parameters)
