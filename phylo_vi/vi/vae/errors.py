"""Errors of the VAE package (subclasses of :class:`phylo_vi.errors.PhyloVIError`)."""
from __future__ import annotations

from phylo_vi.errors import PhyloVIError

__all__ = ["VAEConfigurationError", "MissingExtraError"]


class VAEConfigurationError(PhyloVIError, ValueError):
    """An unknown or inconsistent VAE option (estimator, likelihood, sample count, ...)."""


class MissingExtraError(PhyloVIError, ImportError):
    """An optional dependency is not installed; the message names the extra that provides it."""
