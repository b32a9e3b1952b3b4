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

import inspect
from abc import ABC, abstractmethod
import math
import time
from typing import Any, ClassVar

import numpy as np

from phylo_vi.errors import PhyloVIError
from phylo_vi.util.random import check_random_state


class MarginalEstimator(ABC):
    """Base class: parameter introspection and the timing/counting wrapper around ``_estimate``."""

    #: short name used on the command line (``gss``, ``ss``, ...)
    name: ClassVar[str] = ""
    #: label of the paper's figures (``GSS``, ``SS``, ...)
    label: ClassVar[str] = ""
    #: True when the estimate does not depend on the random state
    deterministic: ClassVar[bool] = False

    @classmethod
    def _param_names(cls) -> list[str]:
        signature = inspect.signature(cls.__init__)
        return [p.name for p in signature.parameters.values() if p.kind == p.KEYWORD_ONLY]

    def get_params(self) -> dict[str, Any]:
        """Hyperparameters as passed to ``__init__``."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params: Any) -> "MarginalEstimator":
        """Set hyperparameters by name; unknown names are an error."""
        valid = set(self._param_names())
        for key, value in params.items():
            if key not in valid:
                raise PhyloVIError(f"{type(self).__name__} has no parameter {key!r}; valid: {sorted(valid)}")
            setattr(self, key, value)
        return self

    def fit(self, problem) -> "MarginalEstimator":
        """Estimate log p(D | tau) of ``problem``; sets the fitted attributes and returns ``self``."""
        rng = check_random_state(getattr(self, "random_state", None))
        start_count = problem.n_likelihood_evaluations
        start = time.perf_counter()
        log_marginal, standard_error = self._estimate(problem, rng)
        self.wall_time_ = time.perf_counter() - start
        self.n_likelihood_evaluations_ = int(problem.n_likelihood_evaluations - start_count)
        self.log_marginal_ = float(log_marginal)
        self.standard_error_ = float("nan") if standard_error is None else float(standard_error)
        return self

    @abstractmethod
    def _estimate(self, problem, rng: np.random.Generator) -> tuple[float, float | None]:
        """Return ``(log_marginal, standard_error or None)``."""

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({params})"


def log_mean_exp(values: np.ndarray) -> float:
    """log((1/n) sum exp(values)), computed stably."""
    values = np.asarray(values, dtype=np.float64)
    top = float(np.max(values))
    if not math.isfinite(top):
        return top
    return top + math.log(float(np.mean(np.exp(values - top))))
