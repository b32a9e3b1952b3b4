"""Regenerate the bundled example data: a simulated alignment and a real MrBayes run on it.

Usage (from the repository root; needs MrBayes 3.2 as ``mb``, e.g. ``apt-get install mrbayes``)::

    python data/regenerate.py

Steps, all with fixed seeds so the output is the same on every run of the same MrBayes build:

1. A random unrooted tree of 14 taxa (random sequential attachment; independent
   exponential branch lengths with mean 0.06), written to ``example.true.nwk``.
2. 800 sites simulated down that tree under GTR (exchangeabilities AC..GT =
   1.0, 3.0, 0.8, 1.2, 3.5, 1.0; base frequencies 0.30, 0.20, 0.25, 0.25; no rate
   heterogeneity): transition matrices ``P(t) = expm(Q t)`` with ``Q`` scaled to one expected
   substitution per unit time (Yang 2006, *Computational Molecular Evolution*, sec. 1.5),
   written to ``example.fasta``.
3. ``example.nex`` (the alignment plus a MRBAYES block) run with ``mb``: GTR, 2 runs of 2
   chains, 20,000 generations sampled every 40, then ``sumt`` (25% burn-in). The tree samples
   ``mrbayes/example.nex.run{1,2}.t``, the parameter traces ``.p``, and the ``sumt`` outputs
   (``.parts``, ``.tstat``, ``.trprobs`` and the screen log ``sumt.log``) are kept.
"""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from scipy.linalg import expm

HERE = Path(__file__).resolve().parent
SEED = 20240611
N_TAXA = 14
N_SITES = 800
MEAN_BRANCH_LENGTH = 0.06
EXCHANGEABILITIES = (1.0, 3.0, 0.8, 1.2, 3.5, 1.0)  # AC, AG, AT, CG, CT, GT
FREQUENCIES = np.array([0.30, 0.20, 0.25, 0.25])
MRBAYES_SEED, MRBAYES_SWAPSEED = 1234, 5678
NGEN, SAMPLEFREQ = 20000, 40
KEPT_SUFFIXES = (".run1.t", ".run2.t", ".run1.p", ".run2.p", ".parts", ".tstat", ".trprobs")


def random_tree(rng: np.random.Generator, n_leaves: int) -> dict[int, list[tuple[int, float]]]:
    """Unrooted binary tree: adjacency {node: [(neighbour, branch length)]}, leaves 0..n-1.

    Topology by random sequential attachment (each new leaf splits a uniformly chosen edge),
    then an independent exponential length on every edge (rounded to 6 decimals, so the
    Newick file is exactly the simulated tree).
    """
    edges = [(n_leaves, 0), (n_leaves, 1), (n_leaves, 2)]
    next_node = n_leaves + 1
    for leaf in range(3, n_leaves):
        a, b = edges.pop(int(rng.integers(len(edges))))
        middle = next_node
        next_node += 1
        edges += [(a, middle), (middle, b), (middle, leaf)]
    adjacency: dict[int, list[tuple[int, float]]] = {}
    for a, b in edges:
        w = max(round(float(rng.exponential(MEAN_BRANCH_LENGTH)), 6), 1e-6)
        adjacency.setdefault(a, []).append((b, w))
        adjacency.setdefault(b, []).append((a, w))
    return adjacency


def newick(adjacency, names: list[str], root: int) -> str:
    def write(node: int, up: int) -> str:
        children = [(x, w) for x, w in adjacency[node] if x != up]
        if not children:
            return names[node]
        return "(" + ",".join(f"{write(x, node)}:{w:.6f}" for x, w in children) + ")"
    return write(root, -1) + ";"


def rate_matrix() -> np.ndarray:
    ac, ag, at, cg, ct, gt = EXCHANGEABILITIES
    r = np.array([[0, ac, ag, at], [ac, 0, cg, ct], [ag, cg, 0, gt], [at, ct, gt, 0]], dtype=float)
    q = r * FREQUENCIES[None, :]
    np.fill_diagonal(q, -q.sum(axis=1))
    return q / -np.dot(FREQUENCIES, np.diag(q))


def simulate(rng: np.random.Generator, adjacency, root: int, n_leaves: int) -> np.ndarray:
    """States (n_leaves, N_SITES) in 0..3 (A, C, G, T) at the leaves."""
    q = rate_matrix()
    states = {root: rng.choice(4, size=N_SITES, p=FREQUENCIES)}
    stack = [(root, -1)]
    while stack:
        node, up = stack.pop()
        for child, w in adjacency[node]:
            if child == up:
                continue
            cumulative = np.cumsum(expm(q * w), axis=1)[states[node]]
            draws = rng.random(N_SITES)[:, None]
            states[child] = np.minimum((draws > cumulative).sum(axis=1), 3)
            stack.append((child, node))
    return np.stack([states[i] for i in range(n_leaves)])


def mrbayes_block() -> str:
    return f"""begin mrbayes;
  set autoclose=yes nowarn=yes seed={MRBAYES_SEED} swapseed={MRBAYES_SWAPSEED};
  lset nst=6 rates=equal;
  mcmcp ngen={NGEN} samplefreq={SAMPLEFREQ} printfreq={NGEN} diagnfreq={NGEN // 4} nruns=2 nchains=2;
  mcmc;
  sumt;
end;
"""


def main() -> int:
    rng = np.random.default_rng(SEED)
    names = [f"taxon_{i + 1:02d}" for i in range(N_TAXA)]
    adjacency = random_tree(rng, N_TAXA)
    root = N_TAXA  # the first internal node: a trifurcation, as MrBayes writes unrooted trees
    (HERE / "example.true.nwk").write_text(newick(adjacency, names, root) + "\n")
    states = simulate(rng, adjacency, root, N_TAXA)
    sequences = ["".join("ACGT"[s] for s in row) for row in states]
    (HERE / "example.fasta").write_text("".join(f">{n}\n{s}\n" for n, s in zip(names, sequences)))
    matrix = "".join(f"  {n}  {s}\n" for n, s in zip(names, sequences))
    nexus = (f"#NEXUS\n[simulated by data/regenerate.py, seed {SEED}]\nbegin data;\n"
             f"  dimensions ntax={N_TAXA} nchar={N_SITES};\n  format datatype=dna missing=? gap=-;\n"
             f"  matrix\n{matrix}  ;\nend;\n\n{mrbayes_block()}")
    (HERE / "example.nex").write_text(nexus)

    if shutil.which("mb") is None:
        print("MrBayes ('mb') not found; install it (apt-get install mrbayes) to regenerate the runs",
              file=sys.stderr)
        return 1
    out = HERE / "mrbayes"
    out.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copy(HERE / "example.nex", tmp)
        log = subprocess.run(["mb", "example.nex"], cwd=tmp, capture_output=True, text=True, check=True).stdout
        for suffix in KEPT_SUFFIXES:
            shutil.copy(Path(tmp) / f"example.nex{suffix}", out / f"example.nex{suffix}")
    start = log.find("Summarizing trees")
    summary = log[start:] if start >= 0 else log
    (out / "sumt.log").write_text(re.sub(r"[ \t]+\n", "\n", summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
