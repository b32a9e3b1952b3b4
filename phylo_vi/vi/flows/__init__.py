"""Normalising flows with exact log-determinants, composable with base distributions.

``PlanarFlow`` and ``RadialFlow`` (Rezende & Mohamed 2015) have no analytic inverse; a
``FlowDistribution`` therefore scores the samples it draws (``rsample_and_log_prob``) and only
evaluates ``log_prob`` of arbitrary points when every layer is invertible (``RealNVPCoupling``).
"""
from phylo_vi.vi.flows.base import Flow, FlowDistribution
from phylo_vi.vi.flows.planar import PlanarFlow
from phylo_vi.vi.flows.radial import RadialFlow
from phylo_vi.vi.flows.realnvp import RealNVPCoupling

__all__ = ["Flow", "FlowDistribution", "PlanarFlow", "RadialFlow", "RealNVPCoupling"]
