r"""Readers and writers of single-cell genotype matrices.

Formats (cells x mutations unless stated):

- ``sc`` — PhISCS / HUNTRESS / scphylo "SC" and "CFMatrix"::

      cellIDxmutID<TAB>mut0<TAB>mut1 ...
      cell0<TAB>0<TAB>1 ...

  tab-separated, a header row whose first field is any label (``cellIDxmutID``,
  ``cellID/mutID``, ``cellID_mutID``), first column the cell ids; missing is ``3`` or ``?``.
  :func:`write_sc` writes the CFMatrix flavour (header ``cellIDxmutID``, missing ``3``).
- ``scite`` — SCITE (Jahn et al. 2016): **mutations x cells**, space-separated, ``0``/``1``/
  ``2``/``3``; ``2`` (homozygous mutant) is read as present, ``3`` is missing. Mutation names
  come from an optional ``.geneNames`` file (one per line).
- ``sphyr`` — SPhyR (El-Kebir 2018): line 1 ``<n> #cells``, line 2 ``<m> #SNVs``, then n rows
  of m space-separated ``0``/``1``/``-1`` (missing). The same layout holds the ``ms`` perfect
  phylogenies that SPhyR ships.
- ``csv`` — comma-separated with a header of mutation names (Phyolin): rows are cells;
  ``-1``, ``3`` or ``?`` is missing; a first column that is not a genotype value is taken as
  the cell id.

Quirks tolerated: blank trailing lines, CRLF line ends, trailing separators, a UTF-8 byte-order
mark. Errors name the file and line (:class:`~phylo_vi.errors.InputFormatError`), text that is
not UTF-8 (Latin-1, a binary file) included.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from phylo_vi.errors import EmptyInputError, InputFormatError
from phylo_vi.genotype.matrix import MISSING, GenotypeMatrix
from phylo_vi.io.text import text_lines
from phylo_vi.util.atomic import atomic_write

FORMATS = ("sc", "scite", "sphyr", "csv")
_VALUE = {"0": 0, "1": 1, "2": 1, "3": MISSING, "?": MISSING, "-1": MISSING, "NA": MISSING}
_SPHYR_HEADER = re.compile(r"^\s*(\d+)\s*#")


def _lines(path: Path) -> list[tuple[int, str]]:
    numbered = [(k, line) for k, line in text_lines(path) if line.strip()]
    if not numbered:
        raise EmptyInputError("empty genotype file", path)
    return numbered


def _parse_row(fields: list[str], path: Path, line: int, values: dict[str, int] = _VALUE) -> list[int]:
    try:
        return [values[f.strip()] for f in fields]
    except KeyError as exc:
        raise InputFormatError(f"unknown genotype value {exc.args[0]!r}", path, line) from None


def _rectangle(rows: list[list[int]], lines: list[int], path: Path) -> np.ndarray:
    width = len(rows[0])
    for row, line in zip(rows, lines):
        if len(row) != width:
            raise InputFormatError(f"row has {len(row)} entries, expected {width}", path, line)
    return np.asarray(rows, dtype=np.int8)


def read_sc(path: str | Path) -> GenotypeMatrix:
    """Read a PhISCS/HUNTRESS SC or CFMatrix file (tab-separated, header, cell-id column)."""
    path = Path(path)
    numbered = _lines(path)
    header = numbered[0][1].rstrip("\t").split("\t")
    mutation_names = [name.strip() for name in header[1:]]
    if not mutation_names:
        raise InputFormatError("header names no mutation", path, numbered[0][0])
    cells, rows = [], []
    for line_no, line in numbered[1:]:
        fields = line.rstrip("\t").split("\t")
        cells.append(fields[0].strip())
        rows.append(_parse_row(fields[1:], path, line_no))
    if not rows:
        raise EmptyInputError("no cell rows after the header", path)
    values = _rectangle(rows, [k for k, _ in numbered[1:]], path)
    if values.shape[1] != len(mutation_names):
        raise InputFormatError(
            f"{values.shape[1]} entries per row but {len(mutation_names)} mutations in the header",
            path, numbered[1][0])
    return GenotypeMatrix(values, cells, mutation_names)


def write_sc(matrix: GenotypeMatrix, path: str | Path, *, corner: str = "cellIDxmutID") -> None:
    """Write the CFMatrix / SC layout (tab-separated, missing as ``3``), atomically."""
    with atomic_write(path) as handle:
        handle.write("\t".join([corner, *matrix.mutation_names]) + "\n")
        for name, row in zip(matrix.cell_names, matrix.values):
            handle.write(name + "\t" + "\t".join(str(int(v)) for v in row) + "\n")


def read_scite(path: str | Path, gene_names: str | Path | None = None) -> GenotypeMatrix:
    """Read a SCITE matrix (mutations x cells, space-separated) and transpose it to cells x mutations."""
    path = Path(path)
    numbered = _lines(path)
    rows = [_parse_row(line.split(), path, k) for k, line in numbered]
    values = _rectangle(rows, [k for k, _ in numbered], path).T.copy()
    names: list[str] = []
    if gene_names is None and path.with_suffix(".geneNames").exists():
        gene_names = path.with_suffix(".geneNames")
    if gene_names is not None:
        names = [line.strip() for _, line in _lines(Path(gene_names))]
        if len(names) != values.shape[1]:
            raise InputFormatError(f"{len(names)} gene names for {values.shape[1]} mutations", gene_names)
    return GenotypeMatrix(values, [], names)


def write_scite(matrix: GenotypeMatrix, path: str | Path) -> None:
    """Write the SCITE layout: mutations x cells, space-separated, missing as ``3``."""
    with atomic_write(path) as handle:
        for column in matrix.values.T:
            handle.write(" ".join(str(int(v)) for v in column) + "\n")


def read_sphyr(path: str | Path) -> GenotypeMatrix:
    """Read a SPhyR input (``n #cells``, ``m #SNVs``, rows of 0/1/-1)."""
    path = Path(path)
    numbered = _lines(path)
    if len(numbered) < 2:
        raise InputFormatError("expected the '#cells' and '#SNVs' header lines", path, numbered[0][0])
    counts = []
    for line_no, line in numbered[:2]:
        match = _SPHYR_HEADER.match(line)
        if match is None:
            raise InputFormatError("expected '<count> #...' header line", path, line_no)
        counts.append(int(match.group(1)))
    body = numbered[2:]
    rows = [_parse_row(line.split(), path, k) for k, line in body]
    if len(rows) != counts[0]:
        raise InputFormatError(f"header announces {counts[0]} cells, found {len(rows)} rows", path, numbered[0][0])
    if not rows:
        raise EmptyInputError("no cell rows", path)
    values = _rectangle(rows, [k for k, _ in body], path)
    if values.shape[1] != counts[1]:
        raise InputFormatError(f"header announces {counts[1]} mutations, rows have {values.shape[1]}",
                               path, numbered[1][0])
    return GenotypeMatrix(values)


def write_sphyr(matrix: GenotypeMatrix, path: str | Path) -> None:
    """Write the SPhyR layout (missing as ``-1``)."""
    n_cells, n_mutations = matrix.shape
    with atomic_write(path) as handle:
        handle.write(f"{n_cells} #cells\n{n_mutations} #SNVs\n")
        for row in matrix.values:
            handle.write(" ".join("-1" if v == MISSING else str(int(v)) for v in row) + "\n")


def read_csv(path: str | Path) -> GenotypeMatrix:
    """Read a comma-separated matrix with a header row of mutation names (Phyolin layout)."""
    path = Path(path)
    numbered = _lines(path)
    header = [name.strip() for name in numbered[0][1].rstrip(",").split(",")]
    body = [(k, line.rstrip(",").split(",")) for k, line in numbered[1:]]
    if not body:
        raise EmptyInputError("no cell rows after the header", path)
    has_ids = body[0][1][0].strip() not in _VALUE
    cells = [fields[0].strip() for _, fields in body] if has_ids else []
    rows = [_parse_row(fields[1:] if has_ids else fields, path, k) for k, fields in body]
    values = _rectangle(rows, [k for k, _ in body], path)
    names = header[1:] if has_ids and len(header) == values.shape[1] + 1 else header
    if len(names) != values.shape[1]:
        raise InputFormatError(f"{len(names)} header names for {values.shape[1]} mutations", path, numbered[0][0])
    return GenotypeMatrix(values, cells, names)


def write_csv(matrix: GenotypeMatrix, path: str | Path) -> None:
    """Write the CSV layout: header of mutation names, one row per cell, missing as ``-1``."""
    with atomic_write(path) as handle:
        handle.write(",".join(matrix.mutation_names) + "\n")
        for row in matrix.values:
            handle.write(",".join("-1" if v == MISSING else str(int(v)) for v in row) + "\n")


def detect_format(path: str | Path) -> str:
    """Guess the format from the first line: SPhyR header, tabs (SC), commas (CSV) or spaces (SCITE)."""
    path = Path(path)
    first = _lines(path)[0][1]
    if _SPHYR_HEADER.match(first):
        return "sphyr"
    if "\t" in first:
        return "sc"
    if "," in first:
        return "csv"
    return "scite"


_READERS = {"sc": read_sc, "scite": read_scite, "sphyr": read_sphyr, "csv": read_csv}
_WRITERS = {"sc": write_sc, "scite": write_scite, "sphyr": write_sphyr, "csv": write_csv}


def read_genotype(path: str | Path, format: str = "auto") -> GenotypeMatrix:
    """Read a genotype matrix in any of :data:`FORMATS` (``auto`` guesses from the content)."""
    fmt = detect_format(path) if format == "auto" else format
    if fmt not in _READERS:
        raise InputFormatError(f"unknown genotype format {format!r}; choose from {FORMATS}", path)
    return _READERS[fmt](path)


def write_genotype(matrix: GenotypeMatrix, path: str | Path, format: str = "sc") -> None:
    """Write a genotype matrix in one of :data:`FORMATS` (default: CFMatrix/SC)."""
    if format not in _WRITERS:
        raise InputFormatError(f"unknown genotype format {format!r}; choose from {FORMATS}", path)
    _WRITERS[format](matrix, path)
