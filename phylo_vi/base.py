"""The contract every estimator of phylo_vi follows (scikit-learn's, ``sklearn/base.py``).

- ``__init__`` takes keyword-only hyperparameters and only stores them, unchanged, under their
  own names; it validates nothing and computes nothing.
- ``fit`` does all the work, sets the fitted state in attributes whose names end in ``_`` and
  returns ``self``.
- Randomness comes only from a ``random_state`` hyperparameter (None, an int or a
  ``numpy.random.Generator``).

:class:`Estimator` gives ``get_params`` / ``set_params`` (read from the ``__init__`` signature),
a ``repr`` of the hyperparameters, the fitted-state check (reading a fitted attribute, or calling
a method that needs one, before ``fit`` raises :class:`~phylo_vi.errors.NotFittedError`) and the
hyperparameter check: a class declares what each hyperparameter accepts in
``parameter_constraints`` (:class:`Interval`, :class:`Options`, :class:`InstanceOf`, ``None``,
``"random_state"``),
and ``fit`` starts with :meth:`Estimator.validate_params`, which raises
:class:`~phylo_vi.errors.InvalidParameterError` naming the parameter, as scikit-learn's
``_param_validation`` does. Methods that need a fit call :func:`check_is_fitted`; :func:`clone`
makes an unfitted copy with the same hyperparameters.
"""
from __future__ import annotations

import functools
import inspect
import math
import warnings
from dataclasses import dataclass
from numbers import Integral, Real
from typing import Any, ClassVar, Sequence, TypeVar

import numpy as np

from phylo_vi.errors import InvalidParameterError, NotFittedError

EstimatorT = TypeVar("EstimatorT", bound="Estimator")


@dataclass(frozen=True)
class Interval:
    """Integers (``kind=int``) or finite reals (``kind=float``) between ``low`` and ``high``
    (None: unbounded); ``closed`` is ``"both"``, ``"left"``, ``"right"`` or ``"neither"``."""

    kind: type
    low: float | None = None
    high: float | None = None
    closed: str = "both"

    def accepts(self, value: Any) -> bool:
        number_type = Integral if self.kind is int else Real
        if isinstance(value, bool) or not isinstance(value, number_type) or not math.isfinite(value):
            return False
        if self.low is not None and (value < self.low or (value == self.low and self.closed in ("right", "neither"))):
            return False
        return self.high is None or not (value > self.high
                                         or (value == self.high and self.closed in ("left", "neither")))

    def __str__(self) -> str:
        left = "(" if self.low is None or self.closed in ("right", "neither") else "["
        right = ")" if self.high is None or self.closed in ("left", "neither") else "]"
        low = "-inf" if self.low is None else self.low
        high = "inf" if self.high is None else self.high
        return f"{'an integer' if self.kind is int else 'a number'} in {left}{low}, {high}{right}"


@dataclass(frozen=True)
class Options:
    """One of the given values."""

    values: tuple

    def accepts(self, value: Any) -> bool:
        return isinstance(value, str) and value in self.values

    def __str__(self) -> str:
        return f"one of {', '.join(map(repr, self.values))}"


@dataclass(frozen=True)
class InstanceOf:
    """An instance of one of the given types (a model object or its name, a path, a flag)."""

    types: tuple

    def accepts(self, value: Any) -> bool:
        return isinstance(value, self.types)

    def __str__(self) -> str:
        return "an instance of " + " or ".join(kind.__name__ for kind in self.types)


#: constraints shared by many hyperparameters
COUNT = (Interval(int, 1),)
POSITIVE = (Interval(float, 0.0, closed="right"),)
NON_NEGATIVE = (Interval(float, 0.0),)
RANDOM_STATE = ("random_state",)
SAMPLE_SIZE = (Interval(int, 0),)
PROBABILITY_LEVEL = (Interval(float, 0.0, 1.0, closed="right"),)


def accepts(constraint: Interval | Options | InstanceOf | str | None, value: Any) -> bool:
    """True when ``value`` meets ``constraint`` (an :class:`Interval`, :class:`Options`,
    :class:`InstanceOf`, None or ``"random_state"``)."""
    if constraint is None:
        return value is None
    if constraint == "random_state":
        return value is None or isinstance(value, (Integral, np.random.Generator)) and not isinstance(value, bool)
    return constraint.accepts(value)


def _describe(constraint: Interval | Options | InstanceOf | str | None) -> str:
    return {None: "None", "random_state": "None, an int or a numpy Generator"}.get(constraint, str(constraint))


def check_parameter(name: str, value: Any, constraints: Sequence) -> None:
    """Raise :class:`InvalidParameterError` unless one of ``constraints`` accepts ``value``."""
    if not any(accepts(c, value) for c in constraints):
        raise InvalidParameterError(f"{name} must be {' or '.join(_describe(c) for c in constraints)}, got {value!r}")


def _accepting_old_names(init, renamed: dict[str, str]):
    """``init`` that also takes each old name of ``renamed`` for its new one, with a DeprecationWarning."""
    @functools.wraps(init)   # inspect.signature follows __wrapped__: the parameters stay the new names
    def wrapper(self, *args: Any, **params: Any) -> None:
        for old, new in renamed.items():
            if old in params:
                if new in params:
                    raise InvalidParameterError(f"{type(self).__name__}() got both {new!r} and its deprecated "
                                                f"spelling {old!r}")
                warnings.warn(f"{type(self).__name__}(): {old!r} is deprecated and will be removed in the next "
                              f"release; use {new!r}", DeprecationWarning, stacklevel=2)
                params[new] = params.pop(old)
        init(self, *args, **params)
    return wrapper


class Estimator:
    """Base class: hyperparameter introspection and checks, the fitted-state check (module docstring)."""

    #: hyperparameter name -> list of accepted constraints (any one suffices)
    parameter_constraints: ClassVar[dict[str, Sequence]] = {}
    #: old hyperparameter name -> its new name, accepted by ``__init__`` for one release with a
    #: DeprecationWarning (the new name alone is a parameter: ``get_params`` never shows the old one)
    deprecated_parameters: ClassVar[dict[str, str]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "__init__" in vars(cls) and cls.deprecated_parameters:
            cls.__init__ = _accepting_old_names(cls.__init__, cls.deprecated_parameters)

    @classmethod
    def param_names(cls) -> list[str]:
        """Names of the keyword-only parameters of ``__init__``, in signature order."""
        signature = inspect.signature(cls.__init__)
        return [p.name for p in signature.parameters.values() if p.kind == p.KEYWORD_ONLY]

    def get_params(self) -> dict[str, Any]:
        """Hyperparameters as passed to ``__init__``."""
        return {name: getattr(self, name) for name in self.param_names()}

    def set_params(self: EstimatorT, **params: Any) -> EstimatorT:
        """Set hyperparameters by name (unknown names are an error); returns ``self``."""
        valid = self.param_names()
        for key, value in params.items():
            if key not in valid:
                raise InvalidParameterError(f"{type(self).__name__} has no parameter {key!r}; valid: {sorted(valid)}")
            setattr(self, key, value)
        return self

    def validate_params(self) -> None:
        """Raise :class:`InvalidParameterError` for the first hyperparameter no constraint accepts."""
        for name, value in self.get_params().items():
            if name in self.parameter_constraints:
                check_parameter(f"{type(self).__name__}: {name}", value, self.parameter_constraints[name])

    def __repr__(self) -> str:
        params = ", ".join(f"{key}={value!r}" for key, value in self.get_params().items())
        return f"{type(self).__name__}({params})"

    def __getattr__(self, name: str) -> Any:
        # called only for attributes that do not exist: a fitted attribute read before fit
        # gets the reason; anything else is the usual AttributeError
        if _is_fitted_name(name) and not any(map(_is_fitted_name, vars(self))):
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet (no {name}); call fit() first")
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")


def _is_fitted_name(name: str) -> bool:
    """Fitted state lives in public attributes whose names end in ``_``."""
    return name.endswith("_") and not name.startswith("_")


def check_is_fitted(estimator: Estimator) -> None:
    """Raise :class:`NotFittedError` unless ``fit`` has set a fitted attribute (scikit-learn's
    ``check_is_fitted``)."""
    if not any(map(_is_fitted_name, vars(estimator))):
        raise NotFittedError(f"this {type(estimator).__name__} is not fitted yet; call fit() first")


def clone(estimator: EstimatorT) -> EstimatorT:
    """A new, unfitted estimator of the same class with the same hyperparameters."""
    return type(estimator)(**estimator.get_params())
