"""Where Numba keeps phylo_vi's compiled kernels: a per-user, per-version cache folder.

By default Numba writes its cache (``*.nbi``/``*.nbc``) into ``__pycache__`` beside each source
file. For an installed package that is site-packages: the files outlive ``pip uninstall`` (pip
removes only what it installed), and the folder they leave behind shadows a later editable
install of the same package. Numba honours ``NUMBA_CACHE_DIR`` (read when ``numba`` is imported,
or ``numba.config.CACHE_DIR`` afterwards), mirroring each source file's path below it, so one
folder serves every installation of every version without collisions.

The folder is ``$XDG_CACHE_HOME/phylo_vi/numba/<phylo_vi version>-numba<numba version>-py<X.Y>``
(``~/.cache`` when ``XDG_CACHE_HOME`` is unset; a per-user folder in the temporary directory when
that is not writable). Keying it by the versions means an upgrade never loads kernels compiled for
another release, on top of Numba's own check of each source file's size and modification time.
A ``NUMBA_CACHE_DIR`` the user has set is left as it is.
"""
from __future__ import annotations

import os
import sys
import tempfile
from importlib import metadata
from pathlib import Path


def numba_cache_dir(version: str) -> Path:
    """The per-user folder for the kernels of phylo_vi ``version`` under the installed Numba."""
    try:
        numba_version = metadata.version("numba")
    except metadata.PackageNotFoundError:
        numba_version = "unknown"
    leaf = f"{version}-numba{numba_version}-py{sys.version_info.major}.{sys.version_info.minor}"
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    for root in (Path(base), Path(tempfile.gettempdir()) / f"phylo_vi-{_user_id()}"):
        folder = root / "phylo_vi" / "numba" / leaf
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError:
            continue
        if os.access(folder, os.W_OK):
            return folder
    return Path(tempfile.mkdtemp(prefix="phylo_vi-numba-"))


def use_numba_cache_dir(version: str) -> None:
    """Point Numba's cache at :func:`numba_cache_dir` unless ``NUMBA_CACHE_DIR`` is already set.

    Must run before the first ``@njit(cache=True)`` function of phylo_vi is defined: Numba picks a
    function's cache folder when the function is decorated.
    """
    if os.environ.get("NUMBA_CACHE_DIR"):
        return
    folder = str(numba_cache_dir(version))
    os.environ["NUMBA_CACHE_DIR"] = folder
    numba = sys.modules.get("numba")
    if numba is not None:
        numba.config.CACHE_DIR = folder


def _user_id() -> str:
    getuid = getattr(os, "getuid", None)
    return str(getuid()) if getuid is not None else os.environ.get("USERNAME", "user")
