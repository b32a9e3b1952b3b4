"""The estimators by the names of the SBN paper's table (Zhang & Matsen, NeurIPS 2018, Table 1)."""
from __future__ import annotations

from phylo_vi.errors import InvalidParameterError
from phylo_vi.sbn.base import TreeDistribution
from phylo_vi.sbn.ccd import ConditionalCladeDistribution
from phylo_vi.sbn.rooted import RootedSubsplitBayesianNetwork
from phylo_vi.sbn.srf import SampleRelativeFrequency
from phylo_vi.sbn.unrooted import SubsplitBayesianNetwork
from phylo_vi.util.deprecation import renamed

METHOD_LABELS = {"srf": "SRF", "ccd": "CCD", "sa": "SBN-SA", "em": "SBN-EM", "em-alpha": "SBN-EM-α",
                 "rooted": "rooted SBN"}
TABLE_METHODS = ("srf", "ccd", "sa", "em", "em-alpha")
DEFAULT_ALPHA = 1e-4


def make_estimator(method: str, *, alpha: float = DEFAULT_ALPHA, max_iter: int = 1000, min_iter: int = 50,
                   tol: float = 1e-5, n_threads: int = 1, n_jobs: int | None = None) -> TreeDistribution:
    """Unfitted estimator for ``method`` (one of :data:`METHOD_LABELS`); ``alpha`` is used by em-alpha only,
    the EM settings and ``n_threads`` by the unrooted SBNs (``n_jobs``: deprecated spelling)."""
    n_threads = renamed("make_estimator", "n_jobs", "n_threads", n_jobs, n_threads, default=1)
    if method == "srf":
        return SampleRelativeFrequency()
    if method == "ccd":
        return ConditionalCladeDistribution()
    if method == "rooted":
        return RootedSubsplitBayesianNetwork()
    if method in ("sa", "em", "em-alpha"):
        return SubsplitBayesianNetwork(method="sa" if method == "sa" else "em",
                                       alpha=alpha if method == "em-alpha" else 0.0,
                                       max_iter=max_iter, min_iter=min_iter, tol=tol, n_threads=n_threads)
    raise InvalidParameterError(f"unknown method {method!r}; choose one of {', '.join(METHOD_LABELS)}")
