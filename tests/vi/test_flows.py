"""Flows: exact log-determinants against autograd slogdet of the Jacobian (spec §1.7), the
planar invertibility constraint, RealNVP inverse, and a normalised pushed-forward density."""
from __future__ import annotations

import math

import pytest
import torch

from phylo_vi.vi.flows import FlowDistribution, PlanarFlow, RadialFlow, RealNVPCoupling


def _layers(dim, device, dtype, seed):
    generator = torch.Generator().manual_seed(seed)
    mask = torch.tensor([1.0, 0.0] * (dim // 2) + [1.0] * (dim % 2), device=device, dtype=dtype)
    return [PlanarFlow(dim, generator=generator, dtype=dtype, device=device),
            RadialFlow(dim, generator=generator, dtype=dtype, device=device),
            RealNVPCoupling(mask, generator=generator)]


@pytest.mark.parametrize("layer_index", [0, 1, 2])
def test_log_det_equals_autograd_slogdet(layer_index, device, dtype):
    # reference: log|det| of torch.autograd.functional.jacobian (spec §1.7: d = 5, 20 points)
    dim = 5
    layer = _layers(dim, device, dtype, seed=layer_index)[layer_index]
    with torch.no_grad():   # push the planar layer into its nonlinear regime
        if isinstance(layer, PlanarFlow):
            layer.u.mul_(4.0)
            layer.w.mul_(4.0)
    points = torch.randn(20, dim, generator=torch.Generator().manual_seed(7), dtype=dtype).to(device)
    _, log_det = layer(points)
    tol = 1e-10 if dtype == torch.float64 else 1e-4
    for point, value in zip(points, log_det):
        jacobian = torch.autograd.functional.jacobian(lambda z: layer(z)[0], point)
        assert value.item() == pytest.approx(torch.linalg.slogdet(jacobian).logabsdet.item(), abs=tol)


def test_planar_constraint_keeps_w_dot_u_above_minus_one(device, dtype):
    layer = PlanarFlow(3, dtype=dtype, device=device)
    with torch.no_grad():
        layer.w.copy_(torch.tensor([1.0, 2.0, -1.0], device=device, dtype=dtype))
        layer.u.copy_(torch.tensor([-5.0, -3.0, 2.0], device=device, dtype=dtype))   # w.u = -13
    u_hat = layer.constrained_u()
    assert (layer.w @ u_hat).item() == pytest.approx(-1.0 + math.log1p(math.exp(-13.0)), abs=1e-6)
    with pytest.raises(TypeError):
        layer.inverse(torch.zeros(3, device=device, dtype=dtype))


def test_realnvp_inverse_and_flow_distribution_log_prob(device, dtype):
    dim = 4
    generator = torch.Generator().manual_seed(3)
    masks = [torch.tensor(m, device=device, dtype=dtype) for m in ([1.0, 0.0, 1.0, 0.0], [0.0, 1.0, 0.0, 1.0])]
    layers = [RealNVPCoupling(m, generator=generator) for m in masks]
    base = torch.distributions.Independent(
        torch.distributions.Normal(torch.zeros(dim, device=device, dtype=dtype), torch.ones(dim, device=device, dtype=dtype)), 1)
    flow = FlowDistribution(base, layers)
    torch.manual_seed(0)
    z, log_q = flow.rsample_and_log_prob((50,))
    tol = 1e-10 if dtype == torch.float64 else 1e-4
    torch.testing.assert_close(flow.log_prob(z), log_q, atol=tol, rtol=0)
    x, log_det = layers[0](z)
    back, inverse_log_det = layers[0].inverse(x)
    torch.testing.assert_close(back, z, atol=tol, rtol=0)
    torch.testing.assert_close(inverse_log_det, -log_det, atol=tol, rtol=0)


def test_pushed_forward_density_integrates_to_one(device, dtype):
    # quadrature of exp(log q) over a 2-D grid wide enough to hold the mass
    generator = torch.Generator().manual_seed(5)
    layers = [RealNVPCoupling(torch.tensor(m, device=device, dtype=dtype), generator=generator)
              for m in ([1.0, 0.0], [0.0, 1.0], [1.0, 0.0])]
    base = torch.distributions.Independent(
        torch.distributions.Normal(torch.zeros(2, device=device, dtype=dtype), torch.ones(2, device=device, dtype=dtype)), 1)
    flow = FlowDistribution(base, layers)
    axis = torch.linspace(-14, 14, 281, device=device, dtype=dtype)
    grid = torch.stack(torch.meshgrid(axis, axis, indexing="ij"), -1).reshape(-1, 2)
    with torch.no_grad():
        mass = flow.log_prob(grid).exp().sum().item() * (axis[1] - axis[0]).item() ** 2
    assert mass == pytest.approx(1.0, abs=2e-3)
