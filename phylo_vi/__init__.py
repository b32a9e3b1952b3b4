"""phylo_vi: Bayesian phylogenetic inference toolkit.

Subpackages: ``io`` (file formats), ``trees`` (array trees, bitsets), ``alignment`` (site
patterns), ``likelihood`` (Felsenstein pruning), ``marginal`` (marginal-likelihood
estimators), ``sbn`` (subsplit Bayesian networks), ``vi`` (variational-inference core),
``vbpi`` (variational Bayesian phylogenetic inference), ``genotype`` (tumour genotype matrices),
``diagnostics`` (MCMC convergence and summaries), ``analysis`` (``analyze``: MCMC output to a report),
``report`` (HTML and TSV reports), ``util``. Every estimator follows the contract of :mod:`phylo_vi.base`;
every error a user can cause is a :class:`PhyloVIError` (:mod:`phylo_vi.errors`).
"""
__version__ = "0.1.0"

from phylo_vi.util.numba_cache import use_numba_cache_dir  # noqa: E402  (before any kernel is compiled)

use_numba_cache_dir(__version__)

from phylo_vi.errors import PhyloVIError  # noqa: E402

__all__ = ["PhyloVIError", "__version__", "analyze"]


def __getattr__(name: str):
    if name == "analyze":  # imported on first use: ``import phylo_vi`` stays light
        from phylo_vi.analysis import analyze

        return analyze
    raise AttributeError(f"module 'phylo_vi' has no attribute {name!r}")
