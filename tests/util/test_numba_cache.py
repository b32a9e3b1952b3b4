"""Numba's compiled kernels go to a per-user, per-version folder, never into the installed package.

Reference: the fault this guards against (issue 14) — cache files written into site-packages by a
regular install outlive ``pip uninstall`` and shadow a later editable install.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import phylo_vi
from phylo_vi.util.numba_cache import numba_cache_dir

PACKAGE_DIR = Path(phylo_vi.__file__).parent

COMPILE_ONE_KERNEL = """
import sys
{pre_import}
import numpy as np
import phylo_vi
from phylo_vi.trees.bitset import leaf_counts_kernel
counts = leaf_counts_kernel(np.array([2, 2, -1]), np.array([0, 1, -1]))
assert list(counts) == [1, 1, 2], counts
import numba
print(numba.config.CACHE_DIR)
"""


def _cache_files(folder: Path) -> set[Path]:
    return {path for pattern in ("*.nbi", "*.nbc") for path in folder.rglob(pattern)}


def _run(tmp_path: Path, pre_import: str = "") -> Path:
    env = {key: value for key, value in os.environ.items() if key != "NUMBA_CACHE_DIR"}
    env["XDG_CACHE_HOME"] = str(tmp_path / "xdg")
    result = subprocess.run([sys.executable, "-c", COMPILE_ONE_KERNEL.format(pre_import=pre_import)],
                            env=env, capture_output=True, text=True, timeout=300, check=True)
    return Path(result.stdout.strip().splitlines()[-1])


def test_kernels_are_cached_in_the_per_user_version_folder_not_in_the_package(tmp_path):
    before = _cache_files(PACKAGE_DIR)
    cache_dir = _run(tmp_path)
    leaf = f"{phylo_vi.__version__}-numba"
    assert cache_dir.is_relative_to(tmp_path / "xdg" / "phylo_vi" / "numba")
    assert cache_dir.name.startswith(leaf)
    assert any("leaf_counts_kernel" in path.name for path in _cache_files(cache_dir))
    assert _cache_files(PACKAGE_DIR) == before


def test_numba_imported_before_phylo_vi_still_uses_the_folder(tmp_path):
    cache_dir = _run(tmp_path, pre_import="import numba")
    assert cache_dir.is_relative_to(tmp_path / "xdg")
    assert any("leaf_counts_kernel" in path.name for path in _cache_files(cache_dir))


def test_folder_names_the_versions(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    folder = numba_cache_dir("9.9.9")
    assert folder.parent == tmp_path / "phylo_vi" / "numba"
    assert folder.name.startswith("9.9.9-numba")
    assert folder.name.endswith(f"-py{sys.version_info.major}.{sys.version_info.minor}")
    assert folder.is_dir()


def test_unwritable_cache_home_falls_back_to_a_writable_folder(tmp_path, monkeypatch):
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("a file where the cache home should be\n")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    folder = numba_cache_dir("9.9.9")
    assert folder.is_dir() and os.access(folder, os.W_OK)
    assert not folder.is_relative_to(blocker)
