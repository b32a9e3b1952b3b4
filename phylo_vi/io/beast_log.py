r"""BEAST 1 and BEAST 2 parameter logs (``.log``).

BEAST 1 (``MCMCLogger``) and BEAST 2 (``Logger``, ``mode="autodetect"``) write::

    # BEAST v2.6.7                                    <- '#' comment lines (BEAST 1 also: '# Generated ...')
    Sample	posterior	likelihood	prior	treeLikelihood	TreeHeight	...
    0	-5000.1	-4980.2	-19.9	...

The first column is ``Sample`` (BEAST 2) or ``state`` (BEAST 1). Grammar and errors:
:mod:`.parameter_trace`. Tracer's summaries (beast-mcmc ``TraceCorrelation``) skip no column;
``posterior``, ``likelihood`` and ``prior`` are traces like any other.
"""
from __future__ import annotations

from pathlib import Path

from phylo_vi.io.parameter_trace import ParameterTrace, read_tab_trace


def read_beast_log(path: str | Path) -> ParameterTrace:
    """Read a BEAST 1/2 ``.log`` file (see the module docstring)."""
    return read_tab_trace(path, "beast", is_comment=lambda line: line.startswith("#"),
                          generation_names=("sample", "state"))
