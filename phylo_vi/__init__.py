"""phylo_vi: Bayesian phylogenetic inference toolkit.

Subpackages: ``io`` (file formats), ``trees`` (array trees, bitsets), ``alignment`` (site
patterns), ``likelihood`` (Felsenstein pruning), ``marginal`` (marginal-likelihood
estimators), ``sbn`` (subsplit Bayesian networks), ``vi`` (variational-inference core),
``vbpi``, ``genotype`` (tumour genotype matrices), ``diagnostics``, ``report``.
"""
from phylo_vi.errors import PhyloVIError

__version__ = "0.1.0"
__all__ = ["PhyloVIError", "__version__", "analyze"]


def __getattr__(name: str):
    if name == "analyze":  # imported on first use: ``import phylo_vi`` stays light
        from phylo_vi.analysis import analyze

        return analyze
    raise AttributeError(f"module 'phylo_vi' has no attribute {name!r}")
