"""Exception hierarchy of phylo_vi.

Every error a user can cause by their input is a :class:`PhyloVIError`; the CLI prints it as
one line and exits with status 2. Input errors carry the file and line they refer to.
"""
from __future__ import annotations

from pathlib import Path


class PhyloVIError(Exception):
    """Base class of every error phylo_vi raises on bad input or bad arguments."""


class InputFormatError(PhyloVIError, ValueError):
    """Malformed input file: names the file and (1-based) line where the problem is."""

    def __init__(self, message: str, path: str | Path | None = None, line: int | None = None):
        self.message = message
        self.path = None if path is None else str(path)
        self.line = line
        super().__init__(str(self))

    def __str__(self) -> str:
        where = ""
        if self.path is not None:
            where = self.path if self.line is None else f"{self.path}, line {self.line}"
            where += ": "
        return f"{where}{self.message}"


class TreeFormatError(InputFormatError):
    """Malformed tree file (Newick, NEXUS, MrBayes, BEAST, RevBayes)."""


class AlignmentFormatError(InputFormatError):
    """Malformed alignment (ragged rows, unknown characters, duplicate taxa, ...)."""


class TaxonMismatchError(PhyloVIError, ValueError):
    """Taxa of an alignment and a tree (or of two tree files) do not match."""


class ModelSpecificationError(PhyloVIError, ValueError):
    """Unknown or malformed substitution-model string or parameter."""


class OutputLocationError(PhyloVIError):
    """An output cannot be written where asked (an input of the run, a directory, a missing or
    read-only folder, a full disk); raised before the work starts."""


class EmptyInputError(InputFormatError):
    """An input yielded nothing (zero trees, zero sequences): never an empty success."""


class InvalidParameterError(PhyloVIError, ValueError, TypeError):
    """An argument or hyperparameter of the Python API has a bad value or type."""


class NotFittedError(PhyloVIError, AttributeError):
    """An estimator's fitted attribute or method was used before ``fit``."""


class ConvergenceError(PhyloVIError, RuntimeError):
    """An iterative procedure did not finish within its step limit."""
