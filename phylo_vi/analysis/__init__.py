"""``phylo_vi.analyze``: MCMC output (MrBayes, BEAST, RevBayes) to a posterior report.

:func:`analyze` reads the runs and returns an :class:`Analysis` (tables, verdict, trees,
plots, ``write_report``). The numbers follow MrBayes 3.2.7a ``sump``/``sumt``, RWTY and
ArviZ where they overlap; see ``specs/analyze.md`` of the project notes.
"""
from phylo_vi.analysis.pipeline import AlignmentWarning, analyze
from phylo_vi.analysis.result import Analysis, RunInfo

__all__ = ["AlignmentWarning", "Analysis", "RunInfo", "analyze"]
