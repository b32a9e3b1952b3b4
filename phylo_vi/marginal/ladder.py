"""Temperature ladder of the power posteriors p_beta(b) ∝ p(D | b)^beta p(b).

Xie et al. 2011 (Syst. Biol. 60:150, section "Choosing beta") place the inverse temperatures at
quantiles of a Beta(alpha, 1) distribution so that most of them lie near the prior, where the
power posterior changes fastest. physher (Fourment et al. 2020) uses K = 50 values including both
ends: beta_k = BetaQuantile(1 - k / (K - 1); alpha, 1) = (1 - k / (K - 1))^(1 / alpha),
k = 0 .. K - 1, from beta = 1 down to beta = 0, with alpha = 0.3.
"""
from __future__ import annotations

import numpy as np

from phylo_vi.errors import PhyloVIError


def power_posterior_ladder(n_steps: int = 50, alpha: float = 0.3) -> np.ndarray:
    """The ``n_steps`` inverse temperatures in ascending order: 0 = beta_0 < ... < beta_{K-1} = 1.

    Beta(alpha, 1) quantiles of an evenly spaced grid on [0, 1] (Xie et al. 2011, eq. 10),
    i.e. ``linspace(0, 1, K) ** (1 / alpha)``. The paper's chains run them in reverse order
    (from the posterior down to the prior, each chain warm-started from the previous one).
    """
    if n_steps < 2:
        raise PhyloVIError(f"a power-posterior ladder needs at least 2 steps, got {n_steps}")
    if not alpha > 0:
        raise PhyloVIError(f"the Beta(alpha, 1) ladder needs alpha > 0, got {alpha}")
    return np.linspace(0.0, 1.0, n_steps) ** (1.0 / alpha)
