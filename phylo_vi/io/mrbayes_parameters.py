r"""MrBayes parameter files (``.p``, one per run: ``stem.p``, ``stem.run<k>.p``).

Written by ``mcmc.c`` (``PrintParamValues``)::

    [ID: 0734789435]                                   <- comment, skipped
    Gen	LnL	LnPr	TL	r(A<->C)	...	pi(T)               <- header (tab-separated)
    0	-1.232700e+04	4.916718e+01	5.000000e-01	...     <- one row per sample, gen 0 included

Grammar and errors: :mod:`.parameter_trace`. Quirks tolerated: ``[...]`` comment lines
anywhere; a file appended by a restarted run (a second header) keeps the rows after the last
header, as ``sump`` does (sumpt.c ``ExamineSumpFile``).

Columns summarised by ``sump`` (sumpt.c ``PrintParamStats``): every column but ``Gen``,
``LnL`` and ``LnPr`` (exact names), and but the model indicators whose names are prefixes
of ``aamodel`` or ``gtrsubmodel`` or the reverse, compared case-insensitively (utils.c ``IsSame``).
"""
from __future__ import annotations

from pathlib import Path

from phylo_vi.io.parameter_trace import ParameterTrace, read_tab_trace

MRBAYES_UNSUMMARISED = ("LnL", "LnPr")
_MODEL_INDICATORS = ("aamodel", "gtrsubmodel")


def read_mrbayes_parameters(path: str | Path) -> ParameterTrace:
    """Read a MrBayes ``.p`` file (see the module docstring)."""
    return read_tab_trace(path, "mrbayes", is_comment=lambda line: line.startswith("["), generation_names=("gen",))


def _prefix_consistent(name: str, indicator: str) -> bool:
    a, b = name.lower(), indicator.lower()
    return a.startswith(b) or b.startswith(a)


def summarised_by_sump(name: str) -> bool:
    """Whether MrBayes 3.2.7a ``sump`` reports the column ``name`` in ``.pstat``."""
    if name in MRBAYES_UNSUMMARISED:
        return False
    return not any(_prefix_consistent(name, indicator) for indicator in _MODEL_INDICATORS)
