"""GECO: generalised ELBO with constrained optimisation (Rezende & Viola 2018, Algorithm 1).

Minimise an objective (e.g. ``KL(q || p)``) subject to ``E[C] <= 0`` through the Lagrangian
``objective + lambda * C``. Per step:

1. ``C_ma <- alpha C_ma + (1 - alpha) C_t`` (``C_ma`` starts at the first batch constraint);
2. the loss uses ``C_t + sg(C_ma - C_t)``: its *value* is the moving average while its
   *gradient* comes from the current batch;
3. after the loss is formed, ``lambda <- lambda * exp(nu * C_ma)`` under ``no_grad``: the
   multiplicative update keeps ``lambda > 0``, uses the smoothed constraint rather than the
   noisy batch value, and is clamped to ``[1e-10, 1e10]`` (as in GENESIS ``utils/geco.py``).
   No gradient ever reaches ``lambda``.

At a constrained optimum the multiplier settles where the constraint is active (the toy in
the tests has ``lambda* = 1.5`` in closed form).

References
----------
1. Rezende, D. J. & Viola, F. (2018). Taming VAEs. arXiv:1810.00597, Algorithm 1.
2. Engelcke, M. et al. (2020). GENESIS. ICLR (reference PyTorch GECO, ``utils/geco.py``).
"""
from __future__ import annotations

import torch
from torch import Tensor

from phylo_vi.errors import InvalidParameterError

__all__ = ["GECO"]


class GECO:
    """Lagrange-multiplier wrapper: ``loss = geco(objective, constraint)`` each step.

    Parameters
    ----------
    alpha : moving-average factor of the constraint.
    step_size : ``nu`` of the multiplicative multiplier update.
    initial_multiplier : starting ``lambda``.
    bounds : clamp of ``lambda``.
    """

    def __init__(self, *, alpha: float = 0.99, step_size: float = 1e-2, initial_multiplier: float = 1.0,
                 bounds: tuple[float, float] = (1e-10, 1e10)):
        if not 0.0 <= alpha < 1.0:
            raise InvalidParameterError(f"alpha must lie in [0, 1), got {alpha}")
        if initial_multiplier <= 0:
            raise InvalidParameterError("the Lagrange multiplier must start positive")
        self.alpha = alpha
        self.step_size = step_size
        self.bounds = bounds
        self.multiplier_: Tensor | None = None
        self.initial_multiplier = initial_multiplier
        self.constraint_ma_: Tensor | None = None

    def __call__(self, objective: Tensor, constraint: Tensor) -> Tensor:
        """Lagrangian ``objective + lambda * (C_t + sg(C_ma - C_t))``; then update ``lambda``.

        ``constraint`` is the batch estimate ``C_t`` (a scalar, or a vector of constraints
        with one multiplier each).
        """
        with torch.no_grad():
            current = constraint.detach()
            if self.constraint_ma_ is None:
                self.constraint_ma_ = current.clone()
                self.multiplier_ = torch.full_like(current, self.initial_multiplier)
            else:
                self.constraint_ma_ = self.alpha * self.constraint_ma_ + (1.0 - self.alpha) * current
        smoothed = constraint + (self.constraint_ma_ - constraint).detach()
        loss = objective + (self.multiplier_ * smoothed).sum()
        with torch.no_grad():
            updated = self.multiplier_ * torch.exp(self.step_size * self.constraint_ma_)
            self.multiplier_ = updated.clamp(*self.bounds)
        return loss
