"""Output files of one run, checked before the work starts and written as a set.

A command that writes files declares them first as an :class:`OutputSet`. :meth:`OutputSet.check`
then refuses, before any work is done, every output location that would fail or do harm:

* an output that is one of the run's inputs (same path, or the same file through a link);
* an output path that is an existing directory;
* a missing parent folder (unless the set is made with ``make_parents=True``), or a parent that
  is not a folder;
* a folder where no file can be created, written and synced (read-only, no permission, full disk).

:meth:`OutputSet.staged` gives each output a path inside a temporary folder beside its target;
when the block ends without an exception every staged file is renamed into place, and the
previous files are restored if any rename fails, so the targets change all together or not at
all. On an exception nothing is renamed and the temporary folders are removed.

A *folder* output (``folders=``, a report folder such as ``phylo-vi analyze -o DIR``) is staged
the same way, as a folder beside its target renamed into place. It must not be, nor hold, an
input; an existing folder is replaced only when it is empty or was written as a folder output
before (it holds the :data:`FOLDER_MARKER` file), so that no folder of the user's is ever removed.
"""
from __future__ import annotations

import contextlib
import errno
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterable, Iterator, Mapping

from phylo_vi.errors import OutputLocationError

PathLike = str | os.PathLike
STAGING_PREFIX = ".phylo_vi-staging-"
PROBE_BYTES = 4096  # written and synced once per folder: a full disk or a read-only mount fails here
FOLDER_MARKER = ".phylo_vi-output"  # in every folder output: a later run may replace the folder


def output_path(prefix: PathLike, suffix: str) -> Path:
    """``PREFIX`` + ``suffix``, or ``PREFIX`` itself when its name already ends in ``suffix``
    (``-o model`` and ``-o model.json`` both give ``model.json``)."""
    prefix = Path(prefix)
    return prefix if prefix.name.endswith(suffix) and prefix.name != suffix else Path(f"{prefix}{suffix}")


def _same_file(a: Path, b: Path) -> bool:
    if a.resolve() == b.resolve():
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _reason(exc: OSError) -> str:
    if exc.errno == errno.ENOSPC:
        return "no space left on the device"
    if exc.errno == errno.EROFS:
        return "read-only file system"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    return exc.strerror or str(exc)


def _probe_folder(folder: Path, target: Path) -> None:
    """Create, write, sync and remove a small file in ``folder``; raise on any failure."""
    try:
        fd, name = tempfile.mkstemp(prefix=STAGING_PREFIX, suffix=".probe", dir=folder)
    except OSError as exc:
        raise OutputLocationError(f"{target}: cannot write in {folder} ({_reason(exc)})") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(b"\0" * PROBE_BYTES)
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as exc:
        raise OutputLocationError(f"{target}: cannot write in {folder} ({_reason(exc)})") from None
    finally:
        with contextlib.suppress(OSError):
            os.unlink(name)


class OutputSet:
    """The files one run writes, keyed by a short name (``{"tsv": Path("run.tsv"), ...}``).

    Parameters
    ----------
    targets : key → final path of each output file.
    inputs : the run's input files; no output may be one of them.
    make_parents : create missing parent folders (for a command whose ``-o`` names a folder);
        when False a missing parent is an error.
    folders : key → final path of each folder output (the command fills the staged folder).
    """

    def __init__(self, targets: Mapping[str, PathLike], inputs: Iterable[PathLike] = (), *,
                 make_parents: bool = False, folders: Mapping[str, PathLike] | None = None):
        self.targets = {key: Path(path) for key, path in targets.items()}
        self.folders = {key: Path(path) for key, path in (folders or {}).items()}
        self.inputs = [Path(path) for path in inputs]
        self.make_parents = make_parents

    @property
    def paths(self) -> list[Path]:
        return [*self.targets.values(), *self.folders.values()]

    def check(self) -> "OutputSet":
        """Raise :class:`~phylo_vi.errors.OutputLocationError` for the first unusable target."""
        seen: dict[Path, str] = {}
        for key, target in {**self.targets, **self.folders}.items():
            resolved = target.resolve()
            if resolved in seen:
                raise OutputLocationError(f"{target}: written twice (outputs {seen[resolved]!r} and {key!r})")
            seen[resolved] = key
            for source in self.inputs:
                if _same_file(target, source):
                    raise OutputLocationError(f"{target}: is an input of this run; choose another output name")
            if key in self.folders:
                self._check_folder_target(target)
            elif target.is_dir():
                raise OutputLocationError(f"{target}: is a directory; give a file name or prefix inside it")
        first_in: dict[Path, Path] = {}
        for target in self.paths:
            first_in.setdefault(target.parent, target)
        for folder, target in first_in.items():
            self._check_folder(folder, target)
        return self

    def _check_folder_target(self, target: Path) -> None:
        """A folder output: not a file, holding no input, and empty or a folder output of an earlier run."""
        resolved = target.resolve()
        for source in self.inputs:
            if resolved in source.resolve().parents:
                raise OutputLocationError(f"{target}: holds {source}, an input of this run; choose another folder")
        if target.exists() and not target.is_dir():
            raise OutputLocationError(f"{target}: exists and is not a directory; give a folder name")
        if target.is_dir() and any(target.iterdir()) and not (target / FOLDER_MARKER).is_file():
            raise OutputLocationError(f"{target}: is a directory that phylo_vi did not write and is not empty; "
                                      "give a new folder name")

    def _check_folder(self, folder: Path, target: Path) -> None:
        if not folder.exists():
            if not self.make_parents:
                raise OutputLocationError(f"{target}: cannot write: directory {folder} does not exist")
            existing = next(parent for parent in folder.parents if parent.exists())
            if not existing.is_dir():
                raise OutputLocationError(f"{target}: cannot write: {existing} is not a directory")
            _probe_folder(existing, target)
            return
        if not folder.is_dir():
            raise OutputLocationError(f"{target}: cannot write: {folder} is not a directory")
        _probe_folder(folder, target)

    @contextlib.contextmanager
    def staged(self) -> Iterator[dict[str, Path]]:
        """Yield key → temporary path; on success move every file into place (all or none)."""
        self.check()
        staging: dict[Path, Path] = {}
        try:
            for folder in dict.fromkeys(target.parent for target in self.paths):
                if self.make_parents:
                    folder.mkdir(parents=True, exist_ok=True)
                staging[folder] = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=folder))
            staged = {key: staging[target.parent] / target.name for key, target in self.targets.items()}
            for key, target in self.folders.items():
                staged[key] = staging[target.parent] / target.name
                staged[key].mkdir()
                (staged[key] / FOLDER_MARKER).write_text("written by phylo_vi; a later run may replace this folder\n")
            try:
                yield staged
            except OSError as exc:  # a write failed after the check: the disk filled up, a device failed
                folders = ", ".join(str(folder) for folder in staging)
                raise OutputLocationError(f"{folders}: cannot write the outputs ({_reason(exc)}); "
                                          "no output was changed") from None
            expected = {**self.targets, **self.folders}
            missing = [str(expected[key]) for key, path in staged.items()
                       if not (path.is_dir() if key in self.folders else path.is_file())]
            if missing:
                raise OutputLocationError(f"{', '.join(missing)}: announced but not written")
            self._commit(staged, staging)
        finally:
            for folder in staging.values():
                shutil.rmtree(folder, ignore_errors=True)

    def _commit(self, staged: dict[str, Path], staging: dict[Path, Path]) -> None:
        """Rename the staged files over the targets; on a failure put the old files back."""
        moved: list[tuple[Path, Path | None]] = []  # (target, backup of the file it replaced)
        try:
            for key, path in staged.items():
                target = self.folders.get(key) or self.targets[key]
                backup = None
                if target.exists():
                    backup = staging[target.parent] / f".previous.{target.name}"
                    os.replace(target, backup)
                moved.append((target, backup))
                os.replace(path, target)
        except OSError as exc:
            for target, backup in reversed(moved):
                with contextlib.suppress(OSError):
                    if target.is_dir():
                        shutil.rmtree(target)
                    else:
                        target.unlink(missing_ok=True)
                    if backup is not None:
                        os.replace(backup, target)
            raise OutputLocationError(f"{exc.filename or target}: cannot write ({_reason(exc)}); "
                                      "no output was changed") from None
