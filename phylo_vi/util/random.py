"""Random-number generators passed explicitly, never global state (NEP 19)."""
from __future__ import annotations

import numpy as np

from phylo_vi.errors import InvalidParameterError


def check_random_state(random_state: None | int | np.random.Generator) -> np.random.Generator:
    """Return a ``numpy.random.Generator`` for ``None`` (fresh entropy), an int seed or a Generator."""
    if isinstance(random_state, np.random.Generator):
        return random_state
    if random_state is None or isinstance(random_state, (int, np.integer)):
        return np.random.default_rng(random_state)
    raise InvalidParameterError(f"random_state must be None, an int or a numpy Generator, not {type(random_state).__name__}")
