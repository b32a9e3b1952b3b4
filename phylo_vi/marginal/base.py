"""The contract every marginal-likelihood estimator follows (scikit-learn style).

``__init__`` only stores keyword-only hyperparameters (defaults = the settings of Fourment et
al. 2020, Syst. Biol. 69:209, read from their pipeline, see ``specs/marginal_likelihood.md``);
:meth:`MarginalEstimator.fit` does all the work on a
:class:`~phylo_vi.marginal.problem.FixedTopologyProblem` and returns ``self`` with

- ``log_marginal_``: the estimate of log p(D | tau);
- ``standard_error_``: its Monte Carlo standard error, or NaN where the method defines none;
- ``wall_time_``: seconds spent in ``fit``;
- ``n_likelihood_evaluations_``: likelihood (or likelihood-and-gradient) evaluations made.

Subclasses implement ``_estimate(problem, rng) -> (log_marginal, standard_error)``.
"""
from __future__ import annotations

import time
from abc import ABC, abstractmethod
from typing import Callable, ClassVar

import numpy as np

from phylo_vi.base import Estimator
from phylo_vi.util.random import check_random_state


class MarginalEstimator(Estimator, ABC):
    """Base class: the timing/counting wrapper around ``_estimate``.

    Attributes
    ----------
    log_marginal_ : float
        The estimate of log p(D | tau).
    standard_error_ : float
        Its Monte Carlo standard error, NaN where the method defines none.
    wall_time_ : float
        Seconds spent in ``fit``.
    n_likelihood_evaluations_ : int
        Likelihood (or likelihood-and-gradient) evaluations made by ``fit``.
    """

    #: short name used on the command line (``gss``, ``ss``, ...)
    name: ClassVar[str] = ""
    #: label of the paper's figures (``GSS``, ``SS``, ...)
    label: ClassVar[str] = ""
    #: True when the estimate does not depend on the random state
    deterministic: ClassVar[bool] = False
    _progress: Callable[[float], None] | None = None

    def fit(self, problem, *, progress: Callable[[float], None] | None = None) -> "MarginalEstimator":
        """Estimate log p(D | tau) of ``problem``; sets the fitted attributes and returns ``self``.

        ``progress``, when given, is called with the fraction of the fit just done by estimators
        that work in steps (the power-posterior ladders, one call per β step); it does not touch
        the random stream, so the estimate is the same with or without it.
        """
        self.validate_params()
        rng = check_random_state(getattr(self, "random_state", None))
        start_count = problem.n_likelihood_evaluations
        start = time.perf_counter()
        self._progress = progress
        try:
            log_marginal, standard_error = self._estimate(problem, rng)
        finally:
            self._progress = None
        self.wall_time_ = time.perf_counter() - start
        self.n_likelihood_evaluations_ = int(problem.n_likelihood_evaluations - start_count)
        self.log_marginal_ = float(log_marginal)
        self.standard_error_ = float("nan") if standard_error is None else float(standard_error)
        return self

    def _report_progress(self, fraction: float) -> None:
        if self._progress is not None:
            self._progress(fraction)

    @abstractmethod
    def _estimate(self, problem, rng: np.random.Generator) -> tuple[float, float | None]:
        """Return ``(log_marginal, standard_error or None)``."""
