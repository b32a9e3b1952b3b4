"""Tree-parsing speed: phylo_vi against Bio.Phylo, DendroPy and ete3 on one MrBayes-style file.

The file is generated here: ``--n-trees`` (default 100,000) random unrooted binary trees of
``--n-taxa`` (default 50) taxa with a trifurcating root, drawn from a pool of 1,000 random
topologies, branch lengths written as MrBayes writes them (``%.15e``), integer tokens and a
translate block whose ``;`` ends the last entry's line, ``tree gen.<N> = [&U] (...);`` lines.

Each parser reads the file into its own tree objects; phylo_vi's figure is file -> topology
keys and branch lengths (:func:`phylo_vi.io.tree_batches.iter_tree_batches`). The slow
libraries are timed on a prefix of the file (``--prefix`` trees, default 5,000) and say so in
the table. Figures are medians of ``--repeats`` runs (default 3); the anchor is Bio.Phylo.
Peak memory of phylo_vi is measured in a fresh process for 10k and 100k trees (``ru_maxrss``).

Usage: ``python benchmarks/parse_trees.py [--n-trees 100000] [--json]``.
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


def time_parser(function, path: Path, repeats: int) -> tuple[float, int]:
    times, n = [], 0
    for _ in range(repeats):
        start = time.perf_counter()
        n = function(path)
        times.append(time.perf_counter() - start)
    return statistics.median(times), n


def peak_memory_mb(path: Path) -> float:
    code = ("import resource, sys; from benchmarks.parse_trees import run_phylo_vi; from pathlib import Path; "
            "run_phylo_vi(Path(sys.argv[1])); print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)")
    root = Path(__file__).resolve().parents[1]
    result = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True,
                            cwd=root)
    return float(result.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-trees", type=int, default=100_000)
    parser.add_argument("--n-taxa", type=int, default=50)
    parser.add_argument("--prefix", type=int, default=5_000, help="trees timed for the slow libraries")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        full = Path(tmp) / "bench.t"
        write_mrbayes_file(full, args.n_trees, args.n_taxa)
        small = Path(tmp) / "prefix.t"
        prefix_file(full, min(args.prefix, args.n_trees), small)
        ten_k = Path(tmp) / "ten_k.t"
        prefix_file(full, min(10_000, args.n_trees), ten_k)
        run_phylo_vi(small)  # compile / load the Numba cache outside the timing
        rows = []
        for name, function, path in [("phylo_vi", run_phylo_vi, full), ("Bio.Phylo", run_biopython, small),
                                     ("DendroPy", run_dendropy, small), ("ete3", run_ete3, small)]:
            seconds, n = time_parser(function, path, args.repeats)
            rows.append({"parser": name, "trees": n, "seconds": seconds, "trees_per_second": n / seconds})
        anchor = next(row for row in rows if row["parser"] == "Bio.Phylo")["trees_per_second"]
        for row in rows:
            row["ratio_to_biopython"] = row["trees_per_second"] / anchor
        memory = {"trees_10k": peak_memory_mb(ten_k), f"trees_{args.n_trees}": peak_memory_mb(full)}
        file_mb = full.stat().st_size / 2**20
    result = {"n_trees": args.n_trees, "n_taxa": args.n_taxa, "file_mb": file_mb, "repeats": args.repeats,
              "anchor": "Bio.Phylo", "parsers": rows, "phylo_vi_peak_rss_mb": memory}
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"MrBayes-style .t: {args.n_trees} trees, {args.n_taxa} taxa, {file_mb:.1f} MB; "
              f"median of {args.repeats} runs")
        print("| parser | trees timed | seconds | trees/s | × Bio.Phylo |")
        print("|---|---|---|---|---|")
        for row in rows:
            print(f"| {row['parser']} | {row['trees']:,} | {row['seconds']:.3f} | {row['trees_per_second']:,.0f} "
                  f"| {row['ratio_to_biopython']:.1f} |")
        print()
        print("| phylo_vi peak RSS (MB) | " + " | ".join(memory) + " |")
        print("|---|" + "---|" * len(memory))
        print("| | " + " | ".join(f"{value:.0f}" for value in memory.values()) + " |")
    return result


if __name__ == "__main__":
    main()
