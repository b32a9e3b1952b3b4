"""Trees drawn from a fitted VBPI posterior, written as a NEXUS ``.trees`` file.

τ ~ q_φ, then b ~ q_ψ(· | τ): independent draws from the variational posterior, one tree per
draw, with branch lengths. The file has a ``translate`` block (taxon k ↔ token k + 1, as MrBayes
writes ``.t`` files) and unrooted trees (``[&U]``), so MrBayes ``sumt`` and the readers of
:mod:`phylo_vi.io` take it.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from phylo_vi.io.newick import format_label
from phylo_vi.trees.tree import Tree
from phylo_vi.util.atomic import atomic_write
from phylo_vi.vbpi.posterior import VariationalPosterior
from phylo_vi.io.newick import format_newick


def draw_trees(posterior: VariationalPosterior, n: int, rng: np.random.Generator) -> list[Tree]:
    """``n`` unrooted trees with branch lengths drawn from q_φ(τ) q_ψ(b | τ)."""
    with torch.no_grad():
        batch = posterior.topology.sample(n, rng)
        logits = posterior.topology.root_logits
        noise = torch.as_tensor(rng.standard_normal((n, batch.n_edges)), dtype=logits.dtype, device=logits.device)
        log_branch, _ = posterior.branch.sample(batch, noise)
    lengths = log_branch.exp().cpu().numpy()
    arrays = batch.arrays
    return [Tree(arrays.parent[i], np.append(lengths[i], np.nan), arrays.taxon[i], arrays.taxa, rooted=False,
                 name=f"q_{i + 1}") for i in range(n)]


def write_trees(path: str | Path, trees: list[Tree]) -> None:
    """NEXUS tree file with a translate block (module docstring), written atomically."""
    taxa = trees[0].taxa
    translate = ",\n".join(f"    {k + 1} {format_label(name)}" for k, name in enumerate(taxa))
    with atomic_write(path) as handle:
        handle.write(f"#NEXUS\n\nbegin trees;\n  translate\n{translate};\n")
        for tree in trees:
            handle.write(f"  tree {tree.name} = [&U] {format_newick(tree, lengths=True, names=False)}\n")
        handle.write("end;\n")
