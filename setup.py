"""Package layout: the repository's top-level ``cli/`` and ``data/`` folders install inside the
``phylo_vi`` namespace (``phylo_vi.cli``, ``phylo_vi.data``), so no top-level ``cli`` module
lands in site-packages. Everything else is declared in ``pyproject.toml``."""
from setuptools import find_namespace_packages, find_packages, setup

setup(
    packages=(find_packages(include=["phylo_vi", "phylo_vi.*"]) + ["phylo_vi.cli", "phylo_vi.data"]
              + [f"phylo_vi.data.{name}" for name in find_namespace_packages(where="data", exclude=["__pycache__*"])]),
    package_dir={"phylo_vi.cli": "cli", "phylo_vi.data": "data"},
)
