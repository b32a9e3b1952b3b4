"""Encoders: multilayer perceptrons from data to the parameters of q(z | x).

* :class:`GaussianEncoder`: diagonal Gaussian, ``(mean, log_scale)`` (Kingma & Welling 2014,
  appendix C.2); the scale is parameterised through its logarithm, never directly.
* :class:`DiscreteEncoder`: the logits of a discrete latent (a categorical variable or a
  vector of bits, see :mod:`phylo_vi.vi.vae.discrete_latents`).

Shapes: batch ``B``, data dimension ``D``, latent dimension ``L``. Every module is created
in the dtype and on the device the caller asks for, and seeded by an explicit generator.

References
----------
1. Kingma, D. P. & Welling, M. (2014). Auto-encoding variational Bayes. ICLR.
2. Molchanov, D., Ashukha, A. & Vetrov, D. (2017). Variational dropout sparsifies deep neural
   networks. ICML.
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor, nn

from phylo_vi.vi.bayesian_layers import SparseVDLinear

__all__ = ["mlp", "GaussianEncoder", "DiscreteEncoder", "initialise", "weight_kl"]


def mlp(sizes: Sequence[int], activation: type[nn.Module] = nn.Tanh, *,
        sparse_vd_generator: torch.Generator | None = None) -> nn.Sequential:
    """Linear layers ``sizes[0] -> ... -> sizes[-1]`` with ``activation`` between them.

    With ``sparse_vd_generator`` (a CPU generator) the layers are Bayesian:
    :class:`~phylo_vi.vi.bayesian_layers.SparseVDLinear` (sparse variational dropout with local
    reparameterisation, Molchanov et al. 2017), whose weights and noise come from that generator.
    """
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(n_in, n_out) if sparse_vd_generator is None
                      else SparseVDLinear(n_in, n_out, generator=sparse_vd_generator))
        if i < len(sizes) - 2:
            layers.append(activation())
    return nn.Sequential(*layers)


def initialise(module: nn.Module, generator: torch.Generator, *, device: torch.device | str,
               dtype: torch.dtype) -> nn.Module:
    """Move ``module`` to ``device``/``dtype`` and redraw its weights from ``generator``.

    Weights ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))`` (PyTorch's default scale), biases zero, drawn
    on the CPU generator so that a seed gives the same network on every device.
    """
    module.to(device=device, dtype=dtype)
    with torch.no_grad():
        for layer in module.modules():
            if isinstance(layer, nn.Linear):
                bound = layer.in_features ** -0.5
                weight = torch.rand(layer.weight.shape, generator=generator, dtype=torch.float64)
                layer.weight.copy_((2 * weight - 1) * bound)
                layer.bias.zero_()
    return module


def weight_kl(module: nn.Module) -> Tensor | float:
    """Sum of the weight KL terms of the sparse-VD layers in ``module`` (0 without any)."""
    return sum((layer.kl() for layer in module.modules() if isinstance(layer, SparseVDLinear)), 0.0)


class GaussianEncoder(nn.Module):
    """``q(z | x) = N(mean(x), diag(exp(log_scale(x))^2))`` from one MLP with ``2 L`` outputs."""

    def __init__(self, n_inputs: int, n_latent: int, hidden: Sequence[int] = (64,)):
        super().__init__()
        self.n_latent = n_latent
        self.net = mlp([n_inputs, *hidden, 2 * n_latent])

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """``(mean, log_scale)``, each (B, L)."""
        mean, log_scale = self.net(x).chunk(2, dim=-1)
        return mean, log_scale


class DiscreteEncoder(nn.Module):
    """Logits (B, n_logits) of a discrete latent; the latent type gives them their meaning."""

    def __init__(self, n_inputs: int, n_logits: int, hidden: Sequence[int] = (64,)):
        super().__init__()
        self.net = mlp([n_inputs, *hidden, n_logits])

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)
