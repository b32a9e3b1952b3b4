"""Several substitution models fitted on one fixed topology, ranked by BIC.

The fixed-topology part of ModelFinder (Kalyaanamoorthy et al. 2017, Nat. Methods 14:587):
every candidate gets maximum-likelihood branch lengths and parameters
(:func:`~phylo_vi.likelihood.optimize.maximize_likelihood`), and the candidates are ranked by
BIC, the criterion IQ-TREE ranks by.
"""
from __future__ import annotations

from typing import Callable, Sequence

from phylo_vi.alignment import SitePatterns
from phylo_vi.likelihood.optimize import MaximumLikelihoodFit, fit_model
from phylo_vi.trees.tree import Tree


def compare_models(patterns: SitePatterns, tree: Tree, models: Sequence[str], *, n_threads: int = 1,
                   on_fit: Callable[[MaximumLikelihoodFit], None] | None = None,
                   **options) -> list[MaximumLikelihoodFit]:
    """Fit every model string in ``models`` on ``tree`` (each with its own likelihood object,
    :func:`~phylo_vi.likelihood.optimize.fit_model`) and return the fits by increasing BIC;
    ``options`` go to ``fit_model``, ``on_fit`` is called after each fit (progress)."""
    fits = []
    for model in models:
        fits.append(fit_model(patterns, tree, model, n_threads=n_threads, **options))
        if on_fit is not None:
            on_fit(fits[-1])
    return sorted(fits, key=lambda fit: fit.criteria["BIC"])
