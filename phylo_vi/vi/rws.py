"""Reweighted wake-sleep (RWS): wake-theta and wake-phi updates.

With ``K`` samples ``z_k ~ q_phi`` and normalised weights ``w~ = softmax(log p(x, z) - log q(z))``
(Bornschein & Bengio 2015, §3; Le et al. 2019, §2):

* **wake-theta** maximises the IWAE bound ``log (1/K) sum_k w_k`` w.r.t. the model parameters;
* **wake-phi** follows ``sum_k sg(w~_k) grad_phi log q(z_k)``, a self-normalised importance
  sampling estimate of ``-grad_phi KL(p(z|x) || q_phi(z))`` (the inclusive KL). It is biased for
  finite ``K`` and is not the gradient of any single objective, so the surrogate's value is not a
  quantity to monitor.

No reparameterised path is used for the guide: samples may be discrete (the tree-topology case
of VBPI, Zhang & Matsen 2019, ``rws_lower_bound`` in zcrabbit/vbpi-torch).

References
----------
1. Bornschein, J. & Bengio, Y. (2015). Reweighted wake-sleep. ICLR.
2. Le, T. A., Kosiorek, A. R., Siddharth, N., Teh, Y. W. & Wood, F. (2019). Revisiting
   reweighted wake-sleep for models with stochastic control flow. UAI.
"""
from __future__ import annotations

import torch
from torch import Tensor

from phylo_vi.vi.logspace import logmeanexp

__all__ = ["wake_theta_surrogate", "wake_phi_surrogate"]


def wake_theta_surrogate(log_joint: Tensor, log_q: Tensor, dim: int = 0) -> Tensor:
    """IWAE bound for the model parameters (maximise); the guide is detached."""
    return logmeanexp(log_joint - log_q.detach(), dim=dim)


def wake_phi_surrogate(log_joint: Tensor, log_q: Tensor, dim: int = 0) -> Tensor:
    """``sum_k sg(w~_k) log q(z_k)`` (maximise w.r.t. the guide parameters).

    ``log_q`` (K, ...) must be differentiable w.r.t. the guide and the samples detached.
    """
    with torch.no_grad():
        normalised = torch.softmax(log_joint.detach() - log_q.detach(), dim=dim)
    return (normalised * log_q).sum(dim=dim)
