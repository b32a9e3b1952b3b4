"""Finding the files of an MCMC analysis: run files, run basenames or folders.

A *run* is one chain: a tree file, a parameter file, or both. Accepted inputs (any mix):

========================  ================================================================
input                     runs found
========================  ================================================================
``x.run1.t`` / ``x.p``    that file, with its companion (``x.run1.p`` / ``x.t``) when present
``x.trees`` / ``x.log``   that file, with its companion (``x.log`` / ``x.trees``): BEAST,
                          RevBayes
``x`` (a basename)        MrBayes ``x.run<k>.t``/``.p`` for every k found (``nruns``), else
                          ``x.t``/``x.p``, else ``x.trees``/``x.log``; ``x`` itself may
                          exist (the NEXUS file MrBayes ran), it is not read
a folder                  the runs of the one basename in it (an error lists them if several)
========================  ================================================================

Parameter-file formats are recognised by content: ``Gen`` first column (MrBayes), ``Sample`` or
``state`` (BEAST), ``Iteration`` (RevBayes). Tree-file formats are left to
:func:`phylo_vi.io.read_trees`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from phylo_vi.errors import EmptyInputError, InputFormatError, PhyloVIError
from phylo_vi.io.beast_log import read_beast_log
from phylo_vi.io.mrbayes_parameters import read_mrbayes_parameters
from phylo_vi.io.parameter_trace import ParameterTrace
from phylo_vi.io.revbayes_log import read_revbayes_log

TREE_SUFFIXES = (".t", ".trees", ".tree", ".tre", ".nwk", ".newick", ".nex", ".nexus", ".trprobs")
PARAMETER_SUFFIXES = (".p", ".log")
_COMPANIONS = {".t": ".p", ".p": ".t", ".trees": ".log", ".log": ".trees"}
_MRBAYES_RUN = re.compile(r"^(?P<base>.+)\.run(?P<run>\d+)\.(?P<kind>[tp])$")
_READERS = {"mrbayes": read_mrbayes_parameters, "beast": read_beast_log, "revbayes": read_revbayes_log}


@dataclass(frozen=True)
class RunFiles:
    """One chain: its tree file and parameter file (either may be None, not both)."""

    name: str
    trees: Path | None
    parameters: Path | None


@dataclass(frozen=True)
class RunSet:
    """The runs of one analysis; ``basename`` names its outputs (``<basename>.phylo-vi/``)."""

    basename: str
    runs: tuple[RunFiles, ...]

    @property
    def tree_files(self) -> list[Path]:
        return [run.trees for run in self.runs if run.trees is not None]

    @property
    def parameter_files(self) -> list[Path]:
        return [run.parameters for run in self.runs if run.parameters is not None]


def parameter_format(path: str | Path) -> str:
    """``mrbayes``, ``beast`` or ``revbayes``, from the first column of the header line."""
    with open(path, encoding="utf-8-sig", errors="replace") as handle:
        for number, line in enumerate(handle, start=1):
            text = line.strip()
            if not text or text.startswith(("[", "#")):
                continue
            first = text.split("\t", 1)[0].strip().lower()
            formats = {"gen": "mrbayes", "sample": "beast", "state": "beast", "iteration": "revbayes"}
            if first in formats:
                return formats[first]
            raise InputFormatError(f"not a parameter trace: the header starts with {first!r} "
                                   "(expected Gen, Sample, state or Iteration)", path, number)
    raise EmptyInputError("empty parameter file", path)


def read_parameters(path: str | Path) -> ParameterTrace:
    """Read a MrBayes, BEAST or RevBayes parameter trace, format recognised by content."""
    return _READERS[parameter_format(path)](path)


def _run_from_file(path: Path) -> RunFiles:
    suffix = path.suffix.lower()
    companion = path.with_suffix(_COMPANIONS[suffix]) if suffix in _COMPANIONS else None
    companion = companion if companion is not None and companion.is_file() else None
    if suffix in PARAMETER_SUFFIXES:
        return RunFiles(path.stem, companion, path)
    return RunFiles(path.stem, path, companion)


def _mrbayes_runs(base: Path) -> list[RunFiles]:
    numbered: dict[int, dict[str, Path]] = {}
    for candidate in base.parent.glob(f"{_glob_escape(base.name)}.run*.[tp]"):
        match = _MRBAYES_RUN.match(candidate.name)
        if match and match.group("base") == base.name:
            numbered.setdefault(int(match.group("run")), {})[match.group("kind")] = candidate
    if numbered:
        return [RunFiles(f"{base.name}.run{k}", files.get("t"), files.get("p")) for k, files in sorted(numbered.items())]
    for tree_suffix, parameter_suffix in ((".t", ".p"), (".trees", ".log")):
        trees, parameters = Path(f"{base}{tree_suffix}"), Path(f"{base}{parameter_suffix}")
        parameters_ok = parameters.is_file() and _is_run_file(parameters)
        if trees.is_file() or parameters_ok:
            return [RunFiles(base.name, trees if trees.is_file() else None,
                             parameters if parameters_ok else None)]
    return []


def _glob_escape(text: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", text)


def _basename_of(path: Path) -> str:
    match = _MRBAYES_RUN.match(path.name)
    return match.group("base") if match else path.stem


def _is_run_file(path: Path) -> bool:
    """Tree files by suffix; ``.p``/``.log`` only when they hold a parameter table (not a program log)."""
    if path.suffix.lower() not in PARAMETER_SUFFIXES:
        return True
    try:
        parameter_format(path)
    except InputFormatError:
        return False
    return True


def _folder_runs(folder: Path) -> tuple[str, list[RunFiles]]:
    bases = sorted({_basename_of(p) for p in folder.iterdir()
                    if p.is_file() and p.suffix.lower() in (".t", ".p", ".trees", ".log") and _is_run_file(p)})
    runs = {base: _mrbayes_runs(folder / base) for base in bases}
    found = {base: found for base, found in runs.items() if found}
    if not found:
        raise EmptyInputError("no MCMC run files (.t/.p, .trees/.log) in this folder", folder)
    if len(found) > 1:
        raise PhyloVIError(f"{folder}: runs of several analyses ({', '.join(found)}); name one basename, "
                           f"e.g. {folder / next(iter(found))}")
    base = next(iter(found))
    return base, found[base]


def discover_runs(paths: str | Path | Sequence[str | Path]) -> RunSet:
    """The :class:`RunSet` named by ``paths`` (rules in the module docstring)."""
    items = [Path(paths)] if isinstance(paths, (str, Path)) else [Path(p) for p in paths]
    if not items:
        raise EmptyInputError("no input given")
    runs: list[RunFiles] = []
    basename = None
    for path in items:
        if path.is_dir():
            base, found = _folder_runs(path)
        elif path.is_file() and (path.suffix.lower() in TREE_SUFFIXES + PARAMETER_SUFFIXES) \
                and not _mrbayes_runs(path):
            run = _run_from_file(path)
            base, found = _basename_of(path), [run]
        else:
            found = _mrbayes_runs(path)
            if not found:
                raise EmptyInputError("no such file, and no run files with this basename (looked for "
                                      f"{path.name}.run<k>.t/.p, {path.name}.t/.p, {path.name}.trees/.log)", path)
            base = path.name
        basename = basename or base
        for run in found:
            if not any(run.trees == known.trees and run.parameters == known.parameters for known in runs):
                runs.append(run)
    return RunSet(basename, tuple(runs))
