"""Score-function (REINFORCE) gradient estimator with baselines.

For ``z ~ q_theta`` and a cost ``f(z, theta)``::

    grad E_q[f] = E_q[(f(z) - b) grad log q(z) + grad f(z)]

for any baseline ``b`` independent of ``z`` (Williams 1992; Mohamed et al. 2020, §4). Two
baselines are provided: an exponential moving average of past costs
(:class:`MovingAverageBaseline`, Mnih & Gregor 2014, §3.3) and the leave-one-out mean of the
other ``K - 1`` samples (:func:`leave_one_out_baseline`, Kool et al. 2019b "Buy 4 REINFORCE
samples"), which keeps the estimator unbiased because sample ``k``'s baseline does not depend
on ``z_k``.

Stable API used by other subpackages::

    surrogate = score_function_surrogate(log_prob, f, baseline=None, dim=0)
    surrogate.backward()        # or (surrogate.sum()).backward() for batched costs

``log_prob`` and ``f`` share a shape with the samples along ``dim``; ``baseline`` broadcasts
against ``f`` (pass ``leave_one_out_baseline(f, dim)`` or ``MovingAverageBaseline(...)(f)``).
The surrogate's *value* is the Monte-Carlo mean of ``f`` (so it can be logged as the
objective) and its *gradient* is the estimator above averaged over the samples.

References
----------
1. Williams, R. J. (1992). Simple statistical gradient-following algorithms for connectionist
   reinforcement learning. Machine Learning 8:229.
2. Mnih, A. & Gregor, K. (2014). Neural variational inference and learning in belief networks.
   ICML.
3. Kool, W., van Hoof, H. & Welling, M. (2019b). Buy 4 REINFORCE samples, get a baseline for
   free! ICLR workshop DeepRLStructPred.
4. Mohamed, S., Rosca, M., Figurnov, M. & Mnih, A. (2020). Monte Carlo gradient estimation in
   machine learning. JMLR 21:132.
"""
from __future__ import annotations

import torch
from torch import Tensor

from phylo_vi.errors import InvalidParameterError

__all__ = ["score_function_surrogate", "leave_one_out_baseline", "MovingAverageBaseline"]


def score_function_surrogate(log_prob: Tensor, f: Tensor, baseline: Tensor | float | None = None,
                             dim: int = 0) -> Tensor:
    """Surrogate whose gradient is the REINFORCE estimator of ``grad E_q[f]``.

    Parameters
    ----------
    log_prob : log q(z_k), differentiable w.r.t. the variational parameters; samples along
        ``dim``.
    f : cost of each sample, same shape; its own gradient (``f`` may depend on theta) is kept.
    baseline : detached before use; ``None`` means no baseline.
    dim : sample axis; the surrogate is averaged over it.

    Returns
    -------
    Tensor with ``dim`` reduced, value ``mean_k f_k``, gradient
    ``mean_k [(f_k - b_k) grad log q(z_k) + grad f_k]``.
    """
    signal = f.detach() if baseline is None else f.detach() - torch.as_tensor(baseline).to(f).detach()
    score = log_prob - log_prob.detach()
    return (f + signal * score).mean(dim=dim)


def leave_one_out_baseline(f: Tensor, dim: int = 0) -> Tensor:
    """``b_k = (sum_j f_j - f_k) / (K - 1)`` along ``dim`` (requires ``K >= 2``), detached."""
    n = f.shape[dim]
    if n < 2:
        raise InvalidParameterError("the leave-one-out baseline needs at least 2 samples along dim")
    f = f.detach()
    return (f.sum(dim=dim, keepdim=True) - f) / (n - 1)


class MovingAverageBaseline:
    """Exponential moving average of the mean cost, ``b <- decay * b + (1 - decay) * mean(f)``.

    Calling the baseline with this step's costs returns the baseline computed from *previous*
    steps (so it is independent of the current samples) and then folds the current mean in.
    The first call returns 0. ``decay = 0.9`` matches Pyro's ``baseline_beta`` default.
    """

    def __init__(self, *, decay: float = 0.9):
        if not 0.0 <= decay < 1.0:
            raise InvalidParameterError(f"decay must lie in [0, 1), got {decay}")
        self.decay = decay
        self.value_: Tensor | None = None

    def __call__(self, f: Tensor, dim: int | None = None) -> Tensor:
        """Baseline for ``f`` (detached); ``dim`` is the sample axis averaged (all axes if None)."""
        current = f.detach().mean() if dim is None else f.detach().mean(dim=dim, keepdim=True)
        previous = torch.zeros_like(current) if self.value_ is None else self.value_.to(current)
        if self.value_ is None:
            self.value_ = current
        else:
            self.value_ = self.decay * previous + (1.0 - self.decay) * current
        return previous
