"""An SBN support from IQ-TREE ultrafast-bootstrap trees, as in the VBPI paper.

Zhang & Matsen (ICLR 2019, §5) build the support from 10 independent UFBoot replicates
(Hoang et al. 2018, Mol. Biol. Evol. 35:518), each run as ``iqtree -s ALN -B 1000 --wbt``; every
replicate's bootstrap trees are one sample, of which the 95 % most frequent topologies enter the
support (:mod:`phylo_vi.vbpi.support`). Here each replicate is ``iqtree2 -s ALN -m MODEL -B N
--boot-trees --seed S+i -T 1`` in a temporary folder (Debian package ``iqtree``); its ``.ufboot``
file is read as a Newick list.
"""
from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from phylo_vi.errors import PhyloVIError
from phylo_vi.trees.arrays import TreeArrays
from phylo_vi.sbn.reading import read_tree_arrays
from phylo_vi.trees.taxa import TaxonNamespace

#: replicates and bootstrap trees per replicate of the paper
DEFAULT_REPLICATES = 10
DEFAULT_BOOTSTRAPS = 1000


def iqtree_executable() -> str:
    """Path of ``iqtree2`` (or ``iqtree``); a clear error when neither is installed."""
    for name in ("iqtree2", "iqtree"):
        path = shutil.which(name)
        if path is not None:
            return path
    raise PhyloVIError("--support ufboot needs IQ-TREE 2 on the PATH (Debian/Ubuntu: apt-get install iqtree)")


def ufboot_samples(alignment: str | Path, taxa: TaxonNamespace, *, model: str = "JC",
                   n_replicates: int = DEFAULT_REPLICATES, n_bootstraps: int = DEFAULT_BOOTSTRAPS, seed: int = 1,
                   threads: int = 1) -> list[TreeArrays]:
    """Bootstrap trees of ``n_replicates`` independent UFBoot runs, one :class:`TreeArrays` each."""
    if n_replicates < 1 or n_bootstraps < 1000:
        raise PhyloVIError("UFBoot needs at least one replicate of at least 1000 bootstrap trees")
    executable = iqtree_executable()
    samples = []
    with tempfile.TemporaryDirectory(prefix="phylo_vi_ufboot_") as folder:
        for replicate in range(n_replicates):
            prefix = Path(folder) / f"rep_{replicate + 1}"
            command = [executable, "-s", str(alignment), "-m", model, "-B", str(n_bootstraps), "--boot-trees",
                       "--seed", str(seed + replicate), "--prefix", str(prefix), "-T", str(threads), "--quiet"]
            result = subprocess.run(command, capture_output=True, text=True)
            if result.returncode != 0:
                last = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no output"]
                raise PhyloVIError(f"iqtree2 failed on {alignment} (replicate {replicate + 1}): {last[0]}")
            bootstrap_trees = prefix.with_suffix(".ufboot")
            samples.append(read_tree_arrays([bootstrap_trees], taxa=taxa, format="newick", burnin=0.0))
    return samples
