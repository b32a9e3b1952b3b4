"""VBPI training speed on DS1: seconds per 1,000 iterations, and what bounds them (profile).

Setting of the published timing (``zcrabbit/vbpi-torch:unrooted/notebooks/ds1.ipynb``, spec
``sbn_vbpi.md`` §4: 70–77 s per 1,000 iterations, one thread; 66 s measured on this machine kind
per issue 15): DS1 (27 taxa, JC69, Exponential(10) branch lengths), K = 10 particles, VIMCO, PSP
features, one thread, β warm-up and Adam as the reference. The support is the pooled 95 % most
frequent trees of each ``--support`` file (the paper's: the ten UFBoot replicates that
``phylo-vi vbpi fit --support ufboot`` builds, i.e. ``iqtree2 -s DS1.fasta -m JC -B 1000
--boot-trees --seed S`` for S = 1..10, whose ``.ufboot`` files are given here), by default the ten
MrBayes short runs in ``../shared/data/DS1/short_run`` (the reference's ``--supportType mcmc``).

The first ``--burn`` iterations (Numba compilation of the kernels) are not timed;
the next ``--iters`` are, in wall-clock and in process CPU seconds (on a shared machine the CPU
time is the figure that compares). ``--profile`` adds the cProfile table of the timed iterations (top
functions by own time) and the share of the engine (likelihood kernels) in the total.

Usage: ``python benchmarks/vbpi.py [--shared ../shared] [--support FILE...] [--iters 2000] [--burn 200]
[--estimator vimco|rws] [--branch-model lognormal|planar|gnn] [--warm-start em|none] [--profile] [--json]``
"""
from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import time
from pathlib import Path

import numba
import numpy as np
import torch

from phylo_vi.io import read_alignment
from phylo_vi.sbn import read_tree_arrays
from phylo_vi.trees.taxa import TaxonNamespace
from phylo_vi.vbpi.estimator import VBPI


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[2] / "shared")
    parser.add_argument("--support", type=Path, nargs="+", default=None,
                        help="tree files of the support (default: the DS1 short runs)")
    parser.add_argument("--iters", type=int, default=2000)
    parser.add_argument("--burn", type=int, default=200)
    parser.add_argument("--estimator", default="vimco", choices=["vimco", "rws"])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--branch-model", choices=["lognormal", "planar", "gnn"], default="lognormal")
    parser.add_argument("--warm-start", choices=["em", "none"], default="none",
                        help="start q_φ at SBN-EM-α (concentrated from the start, as in later training) or, as "
                             "vbpi-torch whose time is the anchor, at uniform CPDs (default here)")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(1)
    numba.set_num_threads(1)
    data = args.shared / "data" / "DS1"
    patterns = read_alignment(data / "DS1.fasta").site_patterns()
    taxa = TaxonNamespace()
    support = args.support or sorted((data / "short_run").glob("rep_*/DS1.trprobs"))
    samples = read_tree_arrays(support, taxa=taxa, per_file=True)
    vbpi = VBPI(estimator=args.estimator, branch_model=args.branch_model,
                warm_start=None if args.warm_start == "none" else args.warm_start,
                random_state=args.seed).fit(patterns, samples, args.burn)
    profiler = cProfile.Profile(time.process_time) if args.profile else None
    if profiler is not None:
        profiler.enable()
    started, cpu_started = time.perf_counter(), time.process_time()
    vbpi.fit(patterns, None, args.burn + args.iters)
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    if profiler is not None:
        profiler.disable()
    trace = vbpi.trace_
    rng = np.random.default_rng(0)
    distinct = [len(set(vbpi.posterior_.topology.sample(vbpi.n_particles, rng).topology_keys)) for _ in range(200)]
    report = {"data": "DS1", "estimator": args.estimator, "branch_model": args.branch_model,
              "warm_start": args.warm_start,
              "particles": vbpi.n_particles, "psp": vbpi.psp,
              "mean_distinct_topologies_per_iteration_at_end": float(np.mean(distinct)),
              "threads": 1, "timed_iterations": args.iters, "seconds": seconds,
              "seconds_per_1000_iterations": 1000 * seconds / args.iters,
              "cpu_seconds_per_1000_iterations": 1000 * cpu_seconds / args.iters,
              "support_root_splits": len(vbpi.support_.root_splits), "support_pcsps": len(vbpi.support_.pcsp_keys),
              "mean_bound_last_100": float(trace["bound"][-100:].mean())}
    if profiler is not None:
        stream = io.StringIO()
        stats = pstats.Stats(profiler, stream=stream)
        engine = sum(entry[2] for key, entry in stats.stats.items() if "phylo_vi/likelihood/" in key[0])
        report["engine_share_of_profiled_time"] = engine / stats.total_tt
        stats.sort_stats("tottime").print_stats(20)
        report["profile"] = stream.getvalue()
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        for key, value in report.items():
            print(f"{key}: {value}")


if __name__ == "__main__":
    main()
