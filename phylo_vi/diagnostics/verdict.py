"""The convergence verdict: every check with its value, threshold and outcome, and one line.

Default thresholds: ESS ≥ 200 (minimum over parameters of MrBayes' minimum per-run ESS, and the
approximate topological ESS of every run), PSRF ≤ 1.01 (the largest of MrBayes 3.2.7a's value
and the textbook Gelman–Rubin value over parameters), ASDSF ≤ 0.01 (MrBayes convention).
A check whose value is undefined (one run: no PSRF or ASDSF; a constant trace) is skipped and
listed as such; it neither passes nor fails.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

MIN_ESS = 200.0
MAX_PSRF = 1.01
MAX_ASDSF = 0.01


@dataclass(frozen=True)
class Thresholds:
    min_ess: float = MIN_ESS
    max_psrf: float = MAX_PSRF
    max_asdsf: float = MAX_ASDSF


@dataclass(frozen=True)
class Check:
    """One check: ``value`` of the worst item ``where`` against ``threshold`` (``at_least``: value ≥ threshold)."""

    name: str
    value: float
    threshold: float
    at_least: bool
    where: str

    @property
    def defined(self) -> bool:
        return not math.isnan(self.value)

    @property
    def passed(self) -> bool:
        if not self.defined:
            return True
        return self.value >= self.threshold if self.at_least else self.value <= self.threshold

    def describe(self) -> str:
        relation = "≥" if self.at_least else "≤"
        if not self.defined:
            return f"{self.name}: undefined ({self.where}), skipped"
        mark = "ok" if self.passed else "FAILS"
        return f"{self.name} {self.value:.4g} ({self.where}) {mark}: needs {relation} {self.threshold:g}"


@dataclass(frozen=True)
class Verdict:
    checks: tuple[Check, ...]

    @property
    def converged(self) -> bool:
        return all(check.passed for check in self.checks)

    @property
    def failed(self) -> list[Check]:
        return [check for check in self.checks if not check.passed]

    def line(self) -> str:
        """``CONVERGED`` or ``NOT CONVERGED``, then the failing checks (or all, when converged)."""
        if self.converged:
            return "CONVERGED: " + "; ".join(check.describe() for check in self.checks)
        return "NOT CONVERGED: " + "; ".join(check.describe() for check in self.failed)


def worst(values: dict[str, float], largest: bool) -> tuple[float, str]:
    """The worst defined value of ``values`` and its key (NaN, "" when none is defined)."""
    defined = {key: value for key, value in values.items() if not math.isnan(value)}
    if not defined:
        return math.nan, "no defined value"
    key = (max if largest else min)(defined, key=defined.get)
    return defined[key], key
