"""SBN benchmark: file → fitted SBN-EM on DS1, the DS1 KL table, and a 10⁵-tree MrBayes sample.

Sections (medians of ``--repeats`` runs; wall-clock ``time.perf_counter``):

1. **DS1 replicates** (``shared/data/DS1/short_run/rep_*/DS1.trprobs``): parse time
   (:func:`phylo_vi.sbn.read_tree_arrays`) and SBN-EM fit time (support + SA + EM to the
   paper's stopping rule), against the **anchor**: a dense vectorised NumPy EM over the same
   trees × rootings (``numpy_em``; per tree a rooting × directed-edge membership matrix, O(n²)
   per tree — the "gather/scatter over a trees × rootings × PCSP index array" EM of
   ``shared/specs/sbn_vbpi.md`` §2), run for the same number of iterations. The anchor's fitted
   parameters are checked against phylo_vi's (they must agree to 1e-9). Target: EM ≤ 0.2 s.
2. **DS1 KL table** (``phylo-vi sbn kl`` on 10 golden + 10 short runs, 5 methods): reading,
   fitting + KL, total, and the mean row against the published one. Target: ≤ 10 s.
3. **Large sample**: a MrBayes run on DS4's 41 taxa restricted to its first 150 sites (a
   flat posterior, so that the sample holds tens of thousands of distinct topologies; JC69,
   one chain, 600,000 generations sampled every 5, seed 1; ``--make-mrbayes DIR`` writes and
   runs it with Debian's ``mb``, ``--mrbayes-trees FILE`` reuses one). After a 15 % burn-in
   (102,001 trees kept) prefixes of growing size are fitted; the CPU time of one EM iteration
   (fits of 25 and 5 iterations, difference / 20, minimum over repeats) divided by (distinct
   trees × taxa) is constant when the cost is linear; the DS1 replicates (27 taxa) give a
   second taxon count.

Usage: ``python benchmarks/sbn.py [--shared ../shared] [--repeats 3]
[--make-mrbayes DIR | --mrbayes-trees FILE] [--json]``.
"""
from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from phylo_vi.sbn import SubsplitBayesianNetwork, make_estimator, pooled_golden_run, read_tree_arrays
from phylo_vi.sbn.edges import unrooted_edge_tables
from phylo_vi.sbn.kl_table import kl_table
from phylo_vi.sbn.kernels import packed_tables
from phylo_vi.sbn.support import PackedTrees, build_support
from phylo_vi.sbn.unrooted import _tree_once_counts
from phylo_vi.trees.taxa import TaxonNamespace

PUBLISHED_DS1 = {"srf": 0.0154867, "ccd": 0.6027092, "sa": 0.0686703, "em": 0.0136018, "em-alpha": 0.0130114}
MRBAYES_BLOCK = """begin mrbayes;
set autoclose=yes nowarn=yes seed=1 swapseed=1;
lset nst=1 rates=equal;
exclude 151-1137;
mcmcp ngen=600000 samplefreq=5 printfreq=50000 nruns=1 nchains=1 diagnfreq=100000;
mcmc;
quit;
end;
"""


def timed(function, repeats: int):
    """(median wall seconds, median CPU seconds of this process, last result) of ``repeats`` calls.

    On a shared machine the wall clock includes waiting for a core; the process CPU time
    (``time.process_time``) counts only the work, so both are reported.
    """
    walls, cpus, result = [], [], None
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        result = function()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus), result


def numpy_em(arrays, n_iter: int):
    """Anchor: dense NumPy EM (SA start), rooting log-probabilities as a (T, 2E) × (T, 2E, E) contraction."""
    tables = unrooted_edge_tables(arrays)
    support, indexed = build_support(tables)
    n_trees, n_edges = indexed.root_split.shape
    clades = tables.clades[..., 0]
    sides = np.stack([clades[:, :n_edges], clades[:, n_edges:]], axis=2)  # (T, E, 2)
    inside = ((sides[:, None, :, :] & ~clades[:, :, None, None]) == 0) & (sides[:, None, :, :] != clades[:, :, None, None])
    in_tail = ~inside.any(axis=3)  # (T, 2E, E): rooting e contains the PCSPs of d's children
    valid_sib = indexed.pcsp_sib >= 0
    w = tables.weights
    n_root, n_pcsp = len(support.root_splits), len(support.pcsp_keys)
    packed = PackedTrees(*packed_tables(indexed.root_split, indexed.pcsp_root, indexed.pcsp_sib, indexed.children,
                                        n_root, n_pcsp))
    root_sa, pcsp_sa = _tree_once_counts(packed, w, n_root, n_pcsp)
    parent = support.pcsp_parent

    def normalise(root_counts, pcsp_counts):
        totals = np.bincount(parent, weights=pcsp_counts, minlength=len(support.parent_keys))[parent]
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log(root_counts), np.where(totals > 0, np.log(pcsp_counts) - np.log(totals), -np.inf)

    log_root, log_cpd = normalise(root_sa, pcsp_sa)
    edge_of = np.concatenate([np.arange(n_edges), np.arange(n_edges)])
    root_pcsp = indexed.pcsp_root
    valid_root = root_pcsp >= 0
    for _ in range(n_iter):
        floored = np.maximum(log_cpd, -1e250)  # log 0 → a finite floor, so that 0 × log 0 = 0 in einsum
        sib = np.where(valid_sib, floored[np.maximum(indexed.pcsp_sib, 0)], 0.0).sum(axis=2)
        root_terms = np.where(valid_root, log_cpd[np.maximum(root_pcsp, 0)], 0.0)
        lr = (log_root[indexed.root_split] + root_terms[:, :n_edges] + root_terms[:, n_edges:]
              + np.einsum("td,tde->te", sib, in_tail))
        peak = lr.max(axis=1, keepdims=True)
        posterior = np.exp(lr - peak)
        posterior /= posterior.sum(axis=1, keepdims=True)
        root_counts = np.bincount(indexed.root_split.ravel(), weights=(w[:, None] * posterior).ravel(), minlength=n_root)
        mass = np.einsum("tde,te->td", in_tail, posterior) * w[:, None]
        rooted_weight = (w[:, None] * posterior)[:, edge_of]
        pcsp_counts = (np.bincount(root_pcsp[valid_root], weights=rooted_weight[valid_root], minlength=n_pcsp)
                       + np.bincount(indexed.pcsp_sib[valid_sib],
                                     weights=np.broadcast_to(mass[..., None], valid_sib.shape)[valid_sib],
                                     minlength=n_pcsp))
        log_root, log_cpd = normalise(root_counts, pcsp_counts)
    return log_root, log_cpd


def bench_replicates(shared: Path, repeats: int) -> list[dict]:
    rows = []
    for rep in range(1, 11):
        path = shared / "data" / "DS1" / "short_run" / f"rep_{rep}" / "DS1.trprobs"
        parse, parse_cpu, arrays = timed(lambda: read_tree_arrays([path], taxa=TaxonNamespace()), repeats)
        fit, fit_cpu, model = timed(lambda: make_estimator("em").fit(arrays), repeats)
        fit_2, _, _ = timed(lambda: make_estimator("em", n_threads=2).fit(arrays), repeats)
        anchor, anchor_cpu, (log_root, log_cpd) = timed(lambda: numpy_em(arrays, model.n_iter_), repeats)
        if not (np.allclose(log_root, model.log_root_, atol=1e-9) and np.allclose(log_cpd, model.log_cpd_, atol=1e-9)):
            raise SystemExit(f"rep {rep}: the NumPy anchor EM disagrees with phylo_vi's EM")
        rows.append({"rep": rep, "distinct_trees": model.n_trees_, "em_iterations": model.n_iter_,
                     "parse_s": parse, "fit_s": fit, "fit_cpu_s": fit_cpu, "fit_2_threads_s": fit_2, "anchor_s": anchor,
                     "anchor_cpu_s": anchor_cpu, "ratio_to_anchor": fit_cpu / anchor_cpu})
    return rows


def bench_kl_table(shared: Path, repeats: int) -> dict:
    ds1 = shared / "data" / "DS1"
    truth_files = sorted((ds1 / "golden_run").glob("rep_*/DS1.trprobs"))
    train_files = [ds1 / "short_run" / f"rep_{i}" / "DS1.trprobs" for i in range(1, 11)]

    def read():
        taxa = TaxonNamespace()
        truth = pooled_golden_run(read_tree_arrays(truth_files, taxa=taxa, per_file=True))
        return truth, read_tree_arrays(train_files, taxa=taxa, per_file=True)

    read_s, read_cpu, (truth, train) = timed(read, repeats)
    table_s, table_cpu, table = timed(lambda: kl_table(*truth, train, [str(p) for p in train_files]), repeats)
    return {"read_s": read_s, "read_cpu_s": read_cpu, "fit_and_kl_s": table_s, "fit_and_kl_cpu_s": table_cpu,
            "total_s": read_s + table_s, "total_cpu_s": read_cpu + table_cpu,
            "mean": table.mean, "published": PUBLISHED_DS1,
            "max_abs_diff": max(abs(table.mean[m] - PUBLISHED_DS1[m]) for m in PUBLISHED_DS1)}


def make_mrbayes(folder: Path, shared: Path) -> Path:
    from Bio import SeqIO

    if shutil.which("mb") is None:
        raise SystemExit("MrBayes (mb) not found: apt-get install -y mrbayes")
    folder.mkdir(parents=True, exist_ok=True)
    records = list(SeqIO.parse(shared / "data" / "DS4" / "DS4.fasta", "fasta"))
    nexus = folder / "DS4.nex"
    rows = "".join(f"{r.id} {r.seq}\n" for r in records)
    nexus.write_text(f"#NEXUS\nbegin data;\ndimensions ntax={len(records)} nchar={len(records[0].seq)};\n"
                     f"format datatype=dna missing=? gap=-;\nmatrix\n{rows};\nend;\n{MRBAYES_BLOCK}")
    subprocess.run(["mb", nexus.name], cwd=folder, check=True, stdout=subprocess.DEVNULL)
    return folder / "DS4.nex.t"


def iteration_cpu(tables, repeats: int) -> float:
    """CPU seconds of one EM iteration: fits of 25 and 5 iterations, difference / 20 (minima over repeats)."""
    cpu = {}
    for n_iter in (5, 25):
        estimator = SubsplitBayesianNetwork(method="em", max_iter=n_iter, min_iter=0, tol=0.0)
        cpu[n_iter] = min(timed(lambda: estimator.fit(tables), 1)[1] for _ in range(repeats))
    return (cpu[25] - cpu[5]) / 20


def bench_large(path: Path, shared: Path, repeats: int) -> dict:
    parse, _, arrays = timed(lambda: read_tree_arrays([path], burnin=0.15, taxa=TaxonNamespace()), 1)
    samples = [(f"MrBayes DS4/150 sites, first {fraction:g}", arrays.subset(np.arange(int(len(arrays) * fraction))))
               for fraction in (0.125, 0.25, 0.5, 1.0)]
    samples += [(f"DS1 short run rep {rep}", read_tree_arrays([shared / "data" / "DS1" / "short_run" / f"rep_{rep}" /
                                                               "DS1.trprobs"])) for rep in (7, 5)]
    points = []
    for name, sample in samples:
        tables = unrooted_edge_tables(sample)
        per_iteration = iteration_cpu(tables, repeats)
        points.append({"sample": name, "trees": len(sample), "distinct_trees": tables.n_trees,
                       "taxa": tables.n_taxa, "em_iteration_s": per_iteration,
                       "ns_per_tree_taxon": 1e9 * per_iteration / (tables.n_trees * tables.n_taxa)})
    full, full_cpu, model = timed(lambda: make_estimator("em").fit(arrays), 1)
    return {"file": str(path), "trees_kept": len(arrays), "parse_s": parse, "scaling": points,
            "full_fit_s": full, "full_fit_cpu_s": full_cpu, "full_em_iterations": model.n_iter_,
            "full_distinct_trees": model.n_trees_}


def markdown(document: dict) -> str:
    out = ["## DS1 short runs: file → fitted SBN-EM (anchor: dense NumPy EM, same iterations)", "",
           "| rep | distinct trees | EM iterations | parse wall (s) | SBN-EM wall (s) | SBN-EM CPU (s) | "
           "SBN-EM wall, 2 threads (s) | anchor CPU (s) | CPU ratio to anchor |", "|---|---|---|---|---|---|---|---|---|"]
    for r in document["replicates"]:
        out.append(f"| {r['rep']} | {r['distinct_trees']} | {r['em_iterations']} | {r['parse_s']:.3f} | "
                   f"{r['fit_s']:.3f} | {r['fit_cpu_s']:.3f} | {r['fit_2_threads_s']:.3f} | {r['anchor_cpu_s']:.3f} | "
                   f"{r['ratio_to_anchor']:.3f} |")
    k = document["kl_table"]
    out += ["", "## DS1 KL table (10 replicates × 5 methods)", "",
            "| read wall / CPU (s) | fit + KL wall / CPU (s) | total wall / CPU (s) | max abs(mean − published) |",
            "|---|---|---|---|",
            f"| {k['read_s']:.2f} / {k['read_cpu_s']:.2f} | {k['fit_and_kl_s']:.2f} / {k['fit_and_kl_cpu_s']:.2f} | "
            f"{k['total_s']:.2f} / {k['total_cpu_s']:.2f} | {k['max_abs_diff']:.2e} |"]
    if document.get("large"):
        g = document["large"]
        out += ["", f"## Large sample: {g['trees_kept']} MrBayes trees; parse {g['parse_s']:.1f} s; full SBN-EM fit "
                f"{g['full_fit_s']:.1f} s wall, {g['full_fit_cpu_s']:.1f} s CPU ({g['full_em_iterations']} iterations, "
                f"{g['full_distinct_trees']} distinct trees)", "",
                "| sample | trees | distinct trees | taxa | EM iteration CPU (s) | ns per distinct tree × taxon |",
                "|---|---|---|---|---|---|"]
        for p in g["scaling"]:
            out.append(f"| {p['sample']} | {p['trees']} | {p['distinct_trees']} | {p['taxa']} | "
                       f"{p['em_iteration_s']:.4f} | {p['ns_per_tree_taxon']:.1f} |")
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[1].parent / "shared")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--mrbayes-trees", type=Path, default=None)
    parser.add_argument("--make-mrbayes", type=Path, default=None)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    make_estimator("em").fit(read_tree_arrays([args.shared / "data" / "DS1" / "short_run" / "rep_1" / "DS1.trprobs"]))
    document = {"replicates": bench_replicates(args.shared, args.repeats)}
    document["kl_table"] = bench_kl_table(args.shared, args.repeats)
    large = args.mrbayes_trees or (make_mrbayes(args.make_mrbayes, args.shared) if args.make_mrbayes else None)
    document["large"] = bench_large(large, args.shared, args.repeats) if large else None
    if args.json:
        json.dump(document, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print(markdown(document))


if __name__ == "__main__":
    main()
