"""The contract every estimator of phylo_vi follows (scikit-learn's, ``sklearn/base.py``).

- ``__init__`` takes keyword-only hyperparameters and only stores them, unchanged, under their
  own names; it validates nothing and computes nothing.
- ``fit`` does all the work, sets the fitted state in attributes whose names end in ``_`` and
  returns ``self``.
- Randomness comes only from a ``random_state`` hyperparameter (None, an int or a
  ``numpy.random.Generator``).

:class:`Estimator` gives ``get_params`` / ``set_params`` (read from the ``__init__`` signature),
a ``repr`` of the hyperparameters, and the fitted-state check: reading a fitted attribute (or
calling a method that needs one) before ``fit`` raises :class:`~phylo_vi.errors.NotFittedError`.
:func:`clone` makes an unfitted copy with the same hyperparameters.
"""
from __future__ import annotations

import inspect
from typing import Any, TypeVar

from phylo_vi.errors import InvalidParameterError, NotFittedError

EstimatorT = TypeVar("EstimatorT", bound="Estimator")


class Estimator:
    """Base class: hyperparameter introspection and the fitted-state check (module docstring)."""

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

    def __repr__(self) -> str:
        params = ", ".join(f"{key}={value!r}" for key, value in self.get_params().items())
        return f"{type(self).__name__}({params})"

    def _is_fitted(self) -> bool:
        """True once ``fit`` has set a fitted attribute (a public name ending in ``_``)."""
        return any(name.endswith("_") and not name.startswith("_") for name in vars(self))

    def _check_fitted(self) -> None:
        """Raise :class:`NotFittedError` unless ``fit`` has been called."""
        if not self._is_fitted():
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet; call fit() first")

    def __getattr__(self, name: str) -> Any:
        # called only for attributes that do not exist: a fitted attribute read before fit
        # gets the reason; anything else is the usual AttributeError
        if name.endswith("_") and not name.startswith("_") and not self._is_fitted():
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet (no {name}); call fit() first")
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")


def clone(estimator: EstimatorT) -> EstimatorT:
    """A new, unfitted estimator of the same class with the same hyperparameters."""
    return type(estimator)(**estimator.get_params())
