"""Tree-parsing speed: phylo_vi against Bio.Phylo, DendroPy and ete3 on one MrBayes-style file.

The file is generated here: ``--n-trees`` (default 100,000) random unrooted binary trees of
``--n-taxa`` (default 50) taxa with a trifurcating root, drawn from a pool of 1,000 random
topologies, branch lengths written as MrBayes writes them (``%.15e``), integer tokens and a
translate block whose ``;`` ends the last entry's line, ``tree gen.<N> = [&U] (...);`` lines.

Each parser reads the file into its own tree objects; phylo_vi's figure is file -> topology
keys and branch lengths (:func:`phylo_vi.io.tree_batches.iter_tree_batches`). The slow
libraries are timed on a prefix of the file (``--prefix`` trees, default 5,000) and say so in
the table. Figures are medians of ``--repeats`` runs (default 3); the anchor is Bio.Phylo.
Wall-clock and CPU (process) time are both reported: on a shared machine the CPU figure is the
steadier one. Peak memory of phylo_vi (``VmHWM``) is measured in a fresh process after
100 trees (imports and the Numba cache loaded), then after 10k and after all trees.

**One large tree** (``--large-taxa``, default 100,000; 0 skips it): a random unrooted binary tree
(random joining, exponential branch lengths of mean 0.1) is written as one Newick line and, in a
fresh process, read with :func:`phylo_vi.io.read_trees` (count, first tree, then the batch
reader), keyed (:meth:`~phylo_vi.trees.Tree.topology_key`, the linear canonical code above 1,024
taxa), summarised as ``phylo-vi trees summary`` does (splits as 128-bit hashes above 1,024 taxa,
:mod:`phylo_vi.trees.split_hashes`) and scored: ``--large-sites`` (default 100) sites simulated
under JC69 down the tree, ``phylo_vi.likelihood.TreeLikelihood(patterns, tree, "JC").log_likelihood()``. Each step reports
its wall-clock seconds and the process's peak RSS (``VmHWM``) after it.

Usage: ``python benchmarks/parse_trees.py [--n-trees 100000] [--large-taxa 100000] [--json]``.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def random_topology(rng: np.random.Generator, n_taxa: int) -> str:
    """Random unrooted binary topology (random joining), trifurcating root, ``%.15e`` length slots."""
    nodes = [str(t + 1) + ":%.15e" for t in rng.permutation(n_taxa)]
    while len(nodes) > 3:
        i, j = sorted(rng.choice(len(nodes), size=2, replace=False))
        right, left = nodes.pop(j), nodes.pop(i)
        nodes.append(f"({left},{right}):%.15e")
    return "(" + ",".join(nodes) + ");"


def write_mrbayes_file(path: Path, n_trees: int, n_taxa: int, seed: int = 1) -> None:
    rng = np.random.default_rng(seed)
    pool = [random_topology(rng, n_taxa) for _ in range(1000)]
    n_lengths = 2 * n_taxa - 3
    with open(path, "w") as handle:
        handle.write("#NEXUS\n[ID: 1234567890]\n[Param: tree]\nbegin trees;\n   translate\n")
        handle.write(",\n".join(f"      {t + 1:2d} taxon_{t + 1}" for t in range(n_taxa)) + ";\n")
        for start in range(0, n_trees, 10_000):
            size = min(10_000, n_trees - start)
            lengths = rng.exponential(0.05, size=(size, n_lengths))
            choice = rng.integers(len(pool), size=size)
            handle.write("".join(f"   tree gen.{(start + k) * 100} = [&U] " + (pool[c] % tuple(row)) + "\n"
                                 for k, (c, row) in enumerate(zip(choice, lengths))))
        handle.write("end;\n")


def prefix_file(path: Path, n_trees: int, out: Path) -> None:
    """The header and the first ``n_trees`` trees of ``path``, closed with ``end;``."""
    with open(path) as source, open(out, "w") as target:
        seen = 0
        for line in source:
            if line.lstrip().startswith("tree "):
                if seen == n_trees:
                    break
                seen += 1
            target.write(line)
        target.write("end;\n")


def run_phylo_vi(path: Path) -> int:
    from phylo_vi.io.tree_batches import iter_tree_batches

    n = 0
    for batch in iter_tree_batches(path):
        batch.topology_keys()
        n += len(batch)
    return n


def run_biopython(path: Path) -> int:
    from Bio import Phylo

    return sum(1 for _ in Phylo.parse(str(path), "nexus"))


def run_dendropy(path: Path) -> int:
    import dendropy

    return sum(1 for _ in dendropy.Tree.yield_from_files([str(path)], schema="nexus",
                                                          preserve_underscores=True))


def run_ete3(path: Path) -> int:
    from ete3 import Tree as EteTree

    n = 0
    with open(path) as handle:
        translate_done = False
        for line in handle:
            stripped = line.strip()
            if not translate_done:
                translate_done = stripped.endswith(";") and stripped[:1].isdigit()
                continue
            if stripped.startswith("tree "):
                EteTree(stripped[stripped.index("("):], format=1)
                n += 1
    return n


def time_parser(function, path: Path, repeats: int) -> tuple[float, float, int]:
    """Median wall-clock and CPU (process) seconds of ``repeats`` runs, and the trees read."""
    walls, cpus, n = [], [], 0
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        n = function(path)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus), n


_PEAK_RSS = ("import sys; from benchmarks.parse_trees import run_phylo_vi; from pathlib import Path\n"
             "def peak():\n"
             "    # VmHWM belongs to this process's own address space; ru_maxrss would carry the\n"
             "    # parent's peak over fork and exec\n"
             "    for line in open('/proc/self/status'):\n"
             "        if line.startswith('VmHWM:'):\n"
             "            return int(line.split()[1]) / 1024\n"
             "run_phylo_vi(Path(sys.argv[1])); print(peak()); run_phylo_vi(Path(sys.argv[2])); print(peak())\n")


def peak_memory_mb(warm_up: Path, path: Path) -> tuple[float, float]:
    """Peak RSS (MB) of a fresh process after reading ``warm_up`` (imports, Numba cache), then ``path``."""
    root = Path(__file__).resolve().parents[1]
    result = subprocess.run([sys.executable, "-c", _PEAK_RSS, str(warm_up), str(path)], capture_output=True,
                            text=True, check=True, cwd=root)
    before, after = result.stdout.strip().splitlines()[-2:]
    return float(before), float(after)


def simulate_jc69(parent: np.ndarray, lengths: np.ndarray, n_sites: int, rng: np.random.Generator) -> np.ndarray:
    """States (0..3) of every node at ``n_sites`` sites under JC69, from the root (last node) down."""
    states = np.empty((len(parent), n_sites), dtype=np.uint8)
    states[-1] = rng.integers(4, size=n_sites)
    change = 0.75 * (1.0 - np.exp(-4.0 / 3.0 * lengths))  # P(another state at the end of the branch)
    for node in range(len(parent) - 2, -1, -1):  # parents come after their children
        shift = np.where(rng.random(n_sites) < change[node], rng.integers(1, 4, size=n_sites), 0)
        states[node] = (states[parent[node]] + shift) % 4
    return states


_LARGE_TREE = """
import json, sys, time
from pathlib import Path
import numpy as np
from benchmarks.parse_trees import simulate_jc69
from phylo_vi.alignment import Alignment
from phylo_vi.io import read_trees
from phylo_vi.diagnostics import summarize_sample, summary_document
from phylo_vi.likelihood import TreeLikelihood
from phylo_vi.trees.split_hashes import split_hashes

def peak_mb():
    for line in open('/proc/self/status'):
        if line.startswith('VmHWM:'):
            return int(line.split()[1]) / 1024

path, warm_up, n_sites = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
for tree in read_trees(warm_up, burnin=0.0):  # imports and the Numba cache, outside the timing
    TreeLikelihood(Alignment(tree.taxa, np.ones((len(tree.taxa), 2), np.uint8)).site_patterns(), tree,
                   "JC").log_likelihood()
    tree.topology_key()
    split_hashes(tree)
steps = [{"step": "loaded", "seconds": 0.0, "peak_rss_mb": peak_mb()}]
def step(name, function):
    start = time.perf_counter()
    result = function()
    steps.append({"step": name, "seconds": time.perf_counter() - start, "peak_rss_mb": peak_mb()})
    return result
tree = step("read (read_trees + iterate)", lambda: list(read_trees(path, burnin=0.0))[0])
key = step("topology key", tree.topology_key)
def summary():
    sample = read_trees(path, burnin=0.0)
    return summary_document(sample, summarize_sample(sample))
step("trees summary (read + summarize_sample + summary_document)", summary)
rng = np.random.default_rng(1)
states = simulate_jc69(tree.parent, np.nan_to_num(tree.branch_length), n_sites, rng)
codes = np.empty((len(tree.taxa), n_sites), dtype=np.uint8)
codes[tree.taxon[tree.leaves]] = np.left_shift(np.uint8(1), states[tree.leaves])
patterns = Alignment(tree.taxa, codes).site_patterns()
steps.append({"step": "(simulated %d sites, %d patterns)" % (n_sites, patterns.n_patterns), "seconds": None,
              "peak_rss_mb": peak_mb()})
try:
    likelihood = step("likelihood: TreeLikelihood(..., 'JC')", lambda: TreeLikelihood(patterns, tree, "JC"))
    log_l = step("likelihood: log_likelihood()", likelihood.log_likelihood)
    error = None
except Exception as exc:  # reported, not hidden: the engine may not take this size yet
    log_l, error = None, f"{type(exc).__name__}: {exc}"
print(json.dumps({"steps": steps, "key_bytes": len(key), "log_likelihood": log_l, "likelihood_error": error}))
"""


def bench_large_tree(n_taxa: int, n_sites: int, folder: Path) -> dict:
    """Read, key and score one ``n_taxa``-taxon tree in a fresh process (see the module docstring)."""
    from phylo_vi.io.newick import format_newick
    from phylo_vi.trees import TaxonNamespace, Tree
    from phylo_vi.trees.random_trees import random_joining_parent

    rng = np.random.default_rng(n_taxa)
    parent = random_joining_parent(n_taxa, rng)
    taxon = np.full(len(parent), -1, dtype=np.int32)
    taxon[:n_taxa] = np.arange(n_taxa)
    taxa = TaxonNamespace(f"taxon_{k}" for k in range(n_taxa))
    path, warm_up = folder / "large.nwk", folder / "warm_up.nwk"
    path.write_text(format_newick(Tree(parent, rng.exponential(0.1, len(parent)), taxon, taxa)) + "\n")
    warm_up.write_text("((a:0.1,b:0.2):0.1,c:0.3,d:0.1);\n")
    root = Path(__file__).resolve().parents[1]
    result = subprocess.run([sys.executable, "-c", _LARGE_TREE, str(path), str(warm_up), str(n_sites)],
                            capture_output=True, text=True, check=True, cwd=root)
    document = json.loads(result.stdout.strip().splitlines()[-1])
    document.update(n_taxa=n_taxa, n_sites=n_sites, file_mb=path.stat().st_size / 2**20)
    return document


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-trees", type=int, default=100_000)
    parser.add_argument("--n-taxa", type=int, default=50)
    parser.add_argument("--prefix", type=int, default=5_000, help="trees timed for the slow libraries")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--large-taxa", type=int, default=100_000, help="taxa of the one-tree benchmark (0: skip)")
    parser.add_argument("--large-sites", type=int, default=100)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        full = Path(tmp) / "bench.t"
        write_mrbayes_file(full, args.n_trees, args.n_taxa)
        small = Path(tmp) / "prefix.t"
        prefix_file(full, min(args.prefix, args.n_trees), small)
        ten_k, tiny = Path(tmp) / "ten_k.t", Path(tmp) / "tiny.t"
        prefix_file(full, min(10_000, args.n_trees), ten_k)
        prefix_file(full, 100, tiny)
        run_phylo_vi(small)  # compile / load the Numba cache outside the timing
        rows = []
        for name, function, path in [("phylo_vi", run_phylo_vi, full), ("Bio.Phylo", run_biopython, small),
                                     ("DendroPy", run_dendropy, small), ("ete3", run_ete3, small)]:
            wall, cpu, n = time_parser(function, path, args.repeats)
            rows.append({"parser": name, "trees": n, "seconds": wall, "trees_per_second": n / wall,
                         "cpu_seconds": cpu, "trees_per_cpu_second": n / cpu})
        anchor = next(row for row in rows if row["parser"] == "Bio.Phylo")
        for row in rows:
            row["ratio_to_biopython"] = row["trees_per_second"] / anchor["trees_per_second"]
            row["cpu_ratio_to_biopython"] = row["trees_per_cpu_second"] / anchor["trees_per_cpu_second"]
        loaded, after_10k = peak_memory_mb(tiny, ten_k)
        _, after_full = peak_memory_mb(tiny, full)
        memory = {"after_100_trees": loaded, "after_10000_trees": after_10k, f"after_{args.n_trees}_trees": after_full}
        file_mb = full.stat().st_size / 2**20
        large = bench_large_tree(args.large_taxa, args.large_sites, Path(tmp)) if args.large_taxa else None
    result = {"n_trees": args.n_trees, "n_taxa": args.n_taxa, "file_mb": file_mb, "repeats": args.repeats,
              "anchor": "Bio.Phylo", "parsers": rows, "phylo_vi_peak_rss_mb": memory, "large_tree": large}
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"MrBayes-style .t: {args.n_trees} trees, {args.n_taxa} taxa, {file_mb:.1f} MB; "
              f"median of {args.repeats} runs")
        print("| parser | trees timed | wall s | trees/s (wall) | × Bio.Phylo | CPU s | trees/CPU-s "
              "| × Bio.Phylo (CPU) |")
        print("|---|---|---|---|---|---|---|---|")
        for row in rows:
            print(f"| {row['parser']} | {row['trees']:,} | {row['seconds']:.3f} | {row['trees_per_second']:,.0f} "
                  f"| {row['ratio_to_biopython']:.1f} | {row['cpu_seconds']:.3f} | {row['trees_per_cpu_second']:,.0f} "
                  f"| {row['cpu_ratio_to_biopython']:.1f} |")
        print(f"(phylo_vi reads all {args.n_trees:,} trees, file -> topology keys and branch lengths; the others "
              f"read the first {min(args.prefix, args.n_trees):,} into their tree objects)")
        print()
        print("| phylo_vi peak RSS (MB), fresh process | " + " | ".join(memory) + " |")
        print("|---|" + "---|" * len(memory))
        print("| | " + " | ".join(f"{value:.0f}" for value in memory.values()) + " |")
        if large:
            print()
            print(f"One tree of {large['n_taxa']:,} taxa ({large['file_mb']:.1f} MB Newick), fresh process; "
                  f"key {large['key_bytes']:,} bytes; log L {large['log_likelihood']}"
                  + (f"; likelihood failed: {large['likelihood_error']}" if large["likelihood_error"] else ""))
            print("| step | wall s | peak RSS after (MB) |")
            print("|---|---|---|")
            for row in large["steps"]:
                seconds = "" if row["seconds"] is None else f"{row['seconds']:.2f}"
                print(f"| {row['step']} | {seconds} | {row['peak_rss_mb']:.0f} |")
    return result


if __name__ == "__main__":
    main()
