r"""Parameter traces of MCMC runs: one tab-separated table per run, one row per sample.

The three formats phylo_vi reads (:mod:`.mrbayes_parameters`, :mod:`.beast_log`,
:mod:`.revbayes_log`) share one grammar and differ only in their comments and the name of the
generation column::

    file    := (comment | blank)* header "\n" (row "\n")*
    header  := name ("\t" name)*                  first name: the generation (Gen, state, Iteration)
    row     := number ("\t" number)*              as many fields as the header

The table is read in chunks of lines (memory of the text independent of the file's length);
each chunk's values are written to a temporary file (:mod:`.spilled_columns`) and read back a
column at a time, so that only the generations (8 bytes a sample) stay in memory.
``NA``/``nan`` fields become NaN. A row with another number of fields, or a field that is not a number, raises
:class:`~phylo_vi.errors.InputFormatError` naming file and line; a file without a row raises
:class:`~phylo_vi.errors.EmptyInputError`.

Burn-in follows the tree readers (MrBayes ``relburnin=yes``): ``int(fraction * n_samples)``
samples are discarded at the start of each run, computed in doubles and truncated
(``0.29 * 100 -> 28``), the generation-0 row included (spec analyze.md §1).
"""
from __future__ import annotations

import io
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from phylo_vi.errors import EmptyInputError, InputFormatError, PhyloVIError
from phylo_vi.io.spilled_columns import SpilledColumns

CHUNK_LINES = 8192


@dataclass(frozen=True, eq=False)
class ParameterTrace:
    """The samples of one run: ``generations`` (n_samples,) in memory, the values on disk.

    ``columns`` names the value columns (the generation column excluded), in file order;
    :meth:`column` reads one of them. ``table`` holds every row of the file, of which the trace
    is rows ``first_row:`` (a trace :meth:`after_burnin` shares its file's table).
    """

    path: Path
    format: str
    generation_column: str
    columns: tuple[str, ...]
    generations: np.ndarray
    table: SpilledColumns
    first_row: int = 0

    @property
    def n_samples(self) -> int:
        return len(self.generations)

    @property
    def values(self) -> np.ndarray:
        """Every value, (n_samples, n_columns): loads the whole table into memory (prefer :meth:`column`)."""
        return self.table.rows(self.first_row)

    def column(self, name: str) -> np.ndarray:
        """Values of the column called ``name``, read from the temporary file into a new array."""
        try:
            index = self.columns.index(name)
        except ValueError:
            raise PhyloVIError(f"{self.path}: no column {name!r} (columns: {', '.join(self.columns)})") from None
        return self.table.column(index, self.first_row)

    def after_burnin(self, n_burnin: int) -> "ParameterTrace":
        """The trace without its first ``n_burnin`` samples."""
        if not 0 <= n_burnin < self.n_samples:
            raise PhyloVIError(f"{self.path}: a burn-in of {n_burnin} samples leaves none of {self.n_samples}")
        return ParameterTrace(self.path, self.format, self.generation_column, self.columns,
                              self.generations[n_burnin:], self.table, self.first_row + n_burnin)


def burnin_count(n_samples: int, fraction: float | None = None, count: int | None = None) -> int:
    """Samples discarded at the start of a run: ``count``, or ``int(fraction * n_samples)`` (MrBayes).

    MrBayes truncates the double product (sumpt.c ``ExamineSumpFile``): ``0.29 * 100`` gives 28.
    """
    if count is not None:
        if int(count) != count or count < 0:
            raise PhyloVIError(f"the burn-in count must be a non-negative integer, got {count}")
        return int(count)
    fraction = 0.25 if fraction is None else fraction
    if not 0.0 <= fraction < 1.0:
        raise PhyloVIError(f"the burn-in fraction must be in [0, 1), got {fraction}")
    return math.floor(fraction * n_samples)


def _parse_rows(lines: list[tuple[int, str]], n_columns: int, path: Path) -> np.ndarray:
    """Rows of numbers; on a bad row, the error names its line."""
    text = "".join(line if line.endswith("\n") else line + "\n" for _, line in lines)
    try:
        rows = np.loadtxt(io.StringIO(text), delimiter="\t", dtype=np.float64, ndmin=2,
                          converters=None if "N" not in text else _NA_CONVERTERS(n_columns))
    except ValueError:
        rows = None
    if rows is not None and rows.shape[1] == n_columns:
        return rows
    for number, line in lines:
        fields = line.rstrip("\r\n").split("\t")
        if len(fields) != n_columns:
            raise InputFormatError(f"{len(fields)} fields where the header has {n_columns}", path, number)
        for field in fields:
            if _number(field) is None:
                raise InputFormatError(f"{field!r} is not a number", path, number)
    raise InputFormatError("cannot read the table rows", path, lines[0][0])


def _NA_CONVERTERS(n_columns: int) -> dict[int, Callable[[str], float]]:
    def convert(text: str) -> float:
        value = _number(text)
        if value is None:
            raise ValueError(text)
        return value

    return {column: convert for column in range(n_columns)}


def _number(field: str) -> float | None:
    text = field.strip()
    if text.upper() in ("NA", "NAN"):
        return math.nan
    try:
        return float(text)
    except ValueError:
        return None


def _is_numeric_row(line: str) -> bool:
    first = line.split("\t", 1)[0]
    return _number(first) is not None and first.strip().upper() not in ("NA", "NAN")


def read_tab_trace(path: str | Path, format: str, *, is_comment: Callable[[str], bool],
                   generation_names: tuple[str, ...], chunk_lines: int = CHUNK_LINES) -> ParameterTrace:
    """Read one tab-separated trace (grammar in the module docstring).

    ``is_comment(line)`` tells lines to skip; the header is the last non-numeric, non-comment
    line before the rows (MrBayes counts the rows after it). ``generation_names`` are the
    accepted names of the first column (case-insensitive). Rows are parsed, and written to the
    temporary file, ``chunk_lines`` at a time.
    """
    path = Path(path)
    if not path.is_file():
        raise EmptyInputError("no such file", path)
    header: list[str] | None = None
    header_line = 0
    generations: list[np.ndarray] = []
    table: SpilledColumns | None = None
    pending: list[tuple[int, str]] = []

    def spill() -> None:
        rows = _parse_rows(pending, len(header), path)
        generations.append(rows[:, 0].copy())  # not a view, which would keep the chunk in memory
        table.append(rows[:, 1:])
        pending.clear()

    with open(path, encoding="utf-8-sig", errors="replace") as handle:
        for number, line in enumerate(handle, start=1):
            stripped = line.strip()
            if not stripped or is_comment(stripped):
                continue
            if not _is_numeric_row(line):
                header, header_line = line.rstrip("\r\n").split("\t"), number
                generations, table = [], SpilledColumns(len(header) - 1)
                pending.clear()
                continue
            if header is None:
                raise InputFormatError("a row of numbers before the header line", path, number)
            pending.append((number, line))
            if len(pending) >= chunk_lines:
                spill()
    if header is None:
        raise EmptyInputError("no header line (expected tab-separated column names)", path)
    if pending:
        spill()
    if not generations:
        raise EmptyInputError("no sample after the header", path, header_line)
    names = [name.strip() for name in header]
    if names[0].lower() not in generation_names:
        raise InputFormatError(f"the first column is {names[0]!r}; expected one of {', '.join(generation_names)}",
                               path, header_line)
    generation = np.concatenate(generations)
    if np.any(np.diff(generation) <= 0):
        bad = int(np.flatnonzero(np.diff(generation) <= 0)[0]) + 1
        raise InputFormatError(f"generation {generation[bad]:.0f} does not increase (sample {bad + 1})",
                               path, header_line)
    return ParameterTrace(path, format, names[0], tuple(names[1:]), generation.astype(np.int64), table)

