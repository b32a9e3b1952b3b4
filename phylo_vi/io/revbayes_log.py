r"""RevBayes parameter logs (``mnModel`` / ``mnFile`` output, ``.log``).

Written by RevBayes ``mnModel(filename=..., printgen=...)``::

    Iteration	Posterior	Likelihood	Prior	alpha	er[1]	er[2]	...	pi[4]
    0	-7230.1	-7210.5	-19.6	1.0	0.16	...

The first column is ``Iteration``; vector elements get one column each (``er[1]``). Grammar
and errors: :mod:`.parameter_trace`. No comment lines are defined; none are skipped but
blank lines. A RevBayes *tree* trace (a column of Newick strings) is read by
:mod:`.revbayes` instead.
"""
from __future__ import annotations

from pathlib import Path

from phylo_vi.io.parameter_trace import ParameterTrace, read_tab_trace


def read_revbayes_log(path: str | Path) -> ParameterTrace:
    """Read a RevBayes ``.log`` file (see the module docstring)."""
    return read_tab_trace(path, "revbayes", is_comment=lambda line: False, generation_names=("iteration",))
