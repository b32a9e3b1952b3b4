"""Old argument spellings kept for one release (issue 13: one vocabulary across the API)."""
from __future__ import annotations

import warnings
from typing import Any

def renamed(function: str, old: str, new: str, old_value: Any, new_value: Any, default: Any = None) -> Any:
    """The value of ``new``, taking it from the deprecated ``old`` (with a DeprecationWarning) when
    only ``old`` was given; giving both is a :class:`TypeError`, as for any repeated argument.

    ``default`` is the value ``new`` has when not given (``old`` is unset when it is None).
    """
    if old_value is None:
        return new_value
    if new_value is not default:
        raise TypeError(f"{function}() got both {new!r} and its deprecated spelling {old!r}")
    warnings.warn(f"{function}(): {old!r} is deprecated and will be removed in the next release; use {new!r}",
                  DeprecationWarning, stacklevel=3)
    return old_value
