"""Marginal likelihood of DS1 topologies: the 19 estimators against MrBayes 3.2.7a stepping-stone.

Part 1 (top DS1 topology of ``../shared/data/marginal/JC_no_gamma_credible_set_ds1``): MrBayes
``ss`` (Debian ``mrbayes`` 3.2.7a, the block of ``specs/marginal_likelihood.md`` section 7.2: JC69,
Exp(10) branch lengths, fixed topology, BEAGLE double precision, 2 runs, 50 steps, alpha 0.3) runs
first, then every phylo_vi method on the same topology in the same process. Reported per method:
log Z, its standard error, the difference from the MrBayes mean (the anchor), wall time and the
time ratio phylo_vi / MrBayes.

Settings: ``--chain-scale 1`` is the paper's (1,000,000 MH iterations per chain, logged every
1000, 901 samples; NS 1000 MCMC steps per replacement). ``--chain-scale s < 1`` multiplies the
chain length, the logging interval and NS's steps by ``s`` (same 901 samples); MrBayes runs
``--mrbayes-ngen`` generations per run (spec: 10,200,000). Non-MCMC methods always use the paper's
settings.

Part 2: the 42 DS1 topologies with ``--grid-methods`` (default gss,glis,vbis,bs,gl) on a dask
LocalCluster of ``--workers`` (default 2) processes, ``--grid-preset`` (default fast), and KL(P‖Q)
and split RMSD of the implied topology posterior against the SRF column.

SS, PS and MPS are computed from one shared power-posterior ladder, as in the paper's pipeline,
and each is charged the ladder's wall time (``--no-share-ladder`` runs three ladders).

``--hmc-iter N`` runs the MCMC-based methods with the gradient-based HMC sampler (N iterations per
chain, a quarter of them burn-in, 5 leapfrog steps) instead; ``--anchor-json FILE`` reuses the
MrBayes result of an earlier ``--json`` output (say so when reporting: the anchor is then not
measured in the same run).

``--target-seeds 1,2,3`` adds the speed-target part: SS and GSS at ``TARGET_SETTINGS`` (the
HMC sampler, two pooled ladders of 100 steps on two threads, 1,100 iterations per step and run),
once per seed, against the same MrBayes anchor.

Usage: ``python benchmarks/marginal.py [--chain-scale S] [--hmc-iter N] [--mrbayes-ngen N]
[--methods LIST] [--grid-top K] [--no-mrbayes] [--anchor-json FILE] [--no-grid] [--no-single]
[--no-share-ladder] [--target-seeds LIST] [--json]``.
"""
from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from phylo_vi.io import read_alignment
from phylo_vi.marginal import FixedTopologyProblem, make_estimator, parse_methods
from phylo_vi.marginal.grid import run_grid
from phylo_vi.marginal.ladder import power_posterior_ladder
from phylo_vi.marginal.methods import METHODS
from phylo_vi.marginal.metrics import kl_divergence, split_membership, split_rmsd
from phylo_vi.marginal.modified_path_sampling import modified_path_sampling_log_marginal
from phylo_vi.marginal.path_sampling import path_sampling_log_marginal
from phylo_vi.marginal.power_posterior import run_power_posterior_ladder
from phylo_vi.marginal.stepping_stone import stepping_stone_log_marginal
from phylo_vi.marginal.topologies import read_topologies, top_topologies
from phylo_vi.trees import TaxonNamespace
from phylo_vi.util.random import check_random_state

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "marginal"
CHAIN_METHODS = ("hm", "shm", "bs", "cpo", "ppd", "ss", "ps", "mps", "gss")
#: SS and GSS settings of the speed target (within 0.3 nats of MrBayes at >= 10x less wall time):
#: the HMC sampler (5 leapfrog steps, engine gradients), two ladders on two threads, a ladder of 100
#: Beta(0.3, 1) quantiles (half the paper's spacing: at the paper's 50, the steps with β between
#: 0.004 and 0.1 have Δβ² Var(ℓ) between 0.4 and 1.4, where the variance of a stepping-stone ratio grows as
#: exp(Δβ² Var ℓ) − 1), 1,100 iterations per step and run, the first 200 discarded (step-size and
#: mass-matrix adaptation)
TARGET_SETTINGS = {"sampler": "hmc", "n_leapfrog": 5, "n_runs": 2, "n_steps": 100, "n_iter": 1100, "thin": 1,
                   "n_burnin": 200}
#: estimators the paper's pipeline computed from one shared power-posterior ladder
SHARED_LADDER = {"ss": stepping_stone_log_marginal, "ps": path_sampling_log_marginal,
                 "mps": modified_path_sampling_log_marginal}
MRBAYES_BLOCK = """#NEXUS
begin mrbayes;
  set autoclose=yes nowarn=yes seed={seed} swapseed={seed}
      usebeagle=yes beagledevice=cpu beagleprecision=double;
  execute {data};
end;
begin trees;
  tree t0 = {newick}
end;
begin mrbayes;
  lset nst=1 rates=equal;
  prset statefreqpr=fixed(equal) brlenspr=unconstrained:exponential(10.0) topologypr=fixed(t0);
  mcmcp ngen={ngen} samplefreq=100 printfreq=100000 diagnfreq=1000000
        nruns=2 nchains=1 filename=ds1_t0;
  ss alpha=0.3 nsteps=50 burninss=-1;
end;
"""


def run_mrbayes(data: Path, newick: str, ngen: int, seed: int) -> dict:
    """MrBayes ``ss`` on one fixed topology: per-run and mean log Z, wall time."""
    with tempfile.TemporaryDirectory() as work:
        shutil.copy(data / "DS1.nex", Path(work) / "DS1.nex")
        (Path(work) / "run.nex").write_text(MRBAYES_BLOCK.format(seed=seed, data="DS1.nex", newick=newick,
                                                                  ngen=ngen))
        start, cpu_start = time.perf_counter(), _children_cpu()
        completed = subprocess.run(["mb", "run.nex"], cwd=work, capture_output=True, text=True, check=True)
        seconds, cpu_seconds = time.perf_counter() - start, _children_cpu() - cpu_start
    lines = completed.stdout.splitlines()
    start_line = next(i for i, line in enumerate(lines) if "Marginal likelihood (ln)" in line)
    runs, mean = [], float("nan")
    for line in lines[start_line + 1:]:
        fields = line.split()
        if len(fields) == 2 and fields[0].isdigit():
            runs.append(float(fields[1]))
        elif line.strip().startswith("Mean:"):
            mean = float(fields[1])
            break
    return {"runs": runs, "mean": mean, "seconds": seconds, "cpu_seconds": cpu_seconds, "ngen": ngen}


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def scaled_settings(name: str, scale: float, hmc_iter: int | None = None) -> dict:
    """Paper settings with chain lengths and logging interval multiplied by ``scale``; with
    ``hmc_iter`` the MCMC-based methods use the HMC sampler for that many iterations instead."""
    if name in CHAIN_METHODS and hmc_iter is not None:
        return {"sampler": "hmc", "n_iter": hmc_iter, "thin": 1, "n_burnin": hmc_iter // 4, "n_leapfrog": 5}
    if name in CHAIN_METHODS and scale != 1.0:
        thin = max(1, int(round(1000 * scale)))
        return {"n_iter": 1000 * thin, "thin": thin}
    if name == "ns" and scale != 1.0:
        return {"n_mcmc": max(1, int(round(1000 * scale)))}
    return {}


def part_one(args, patterns, tree, newick) -> dict:
    if args.anchor_json is not None:  # MrBayes result of an earlier run of this script
        mrbayes = json.loads(args.anchor_json.read_text())["part_one"]["mrbayes"]
    else:
        mrbayes = None if args.no_mrbayes else run_mrbayes(args.data, newick, args.mrbayes_ngen, args.seed)
    if mrbayes is not None:
        print(f"MrBayes ss: runs {mrbayes['runs']}, mean {mrbayes['mean']:.3f}, {mrbayes['seconds']:.1f} s",
              file=sys.stderr, flush=True)
    rows = []
    names = parse_methods(args.methods)
    shared = [name for name in names if name in SHARED_LADDER] if args.share_ladder else []
    if shared:
        rows.extend(shared_ladder_rows(shared, patterns, tree, args, mrbayes))
    for name in names:
        if name in shared:
            continue
        problem = FixedTopologyProblem(patterns, tree)
        estimator = make_estimator(name, random_state=args.seed, **scaled_settings(name, args.chain_scale, args.hmc_iter))
        cpu_start = time.process_time()
        estimator.fit(problem)
        rows.append(result_row(name, estimator.log_marginal_, estimator.standard_error_, estimator.wall_time_,
                               time.process_time() - cpu_start, estimator.n_likelihood_evaluations_,
                               estimator.get_params(), mrbayes))
    return {"mrbayes": mrbayes, "methods": rows}


def result_row(name: str, log_marginal: float, standard_error: float, seconds: float, cpu_seconds: float,
               evaluations: int, settings: dict, mrbayes: dict | None) -> dict:
    """One method's row of part 1, with its difference and time ratio to MrBayes."""
    label = METHODS[name].label
    row = {"method": name, "label": label, "log_marginal": log_marginal, "standard_error": standard_error,
           "seconds": seconds, "cpu_seconds": cpu_seconds, "evaluations": evaluations, "settings": settings}
    if mrbayes is not None:
        row["difference_from_mrbayes"] = log_marginal - mrbayes["mean"]
        row["time_ratio_to_mrbayes"] = seconds / mrbayes["seconds"]
        row["cpu_ratio_to_mrbayes"] = cpu_seconds / mrbayes["cpu_seconds"]
    print(f"{label}: {log_marginal:.3f} ({seconds:.1f} s)", file=sys.stderr, flush=True)
    return row


def shared_ladder_rows(names: list[str], patterns, tree, args, mrbayes: dict | None) -> list[dict]:
    """SS, PS and MPS from one power-posterior ladder, as the paper's pipeline ran them (its
    ``mmcmc`` run); each is charged the ladder's wall time and evaluations."""
    problem = FixedTopologyProblem(patterns, tree)
    settings = make_estimator("ss", random_state=args.seed,
                              **scaled_settings("ss", args.chain_scale, args.hmc_iter)).get_params()
    start, cpu_start = time.perf_counter(), time.process_time()
    ladder = run_power_posterior_ladder(problem, power_posterior_ladder(settings["n_steps"], settings["alpha"]),
                                        sampler=settings["sampler"], n_iter=settings["n_iter"],
                                        thin=settings["thin"], n_burnin=settings["n_burnin"],
                                        n_leapfrog=settings["n_leapfrog"], rng=check_random_state(args.seed))
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    rows = []
    for name in names:
        log_marginal, standard_error = SHARED_LADDER[name](ladder.betas, ladder.log_likelihood)
        rows.append(result_row(name, log_marginal, standard_error, seconds, cpu_seconds,
                               problem.n_likelihood_evaluations, dict(settings, shared_ladder=True), mrbayes))
    return rows


def part_target(args, patterns, tree, mrbayes: dict) -> dict:
    """SS and GSS at the budget of the speed target (``TARGET_SETTINGS``), once per seed of
    ``--target-seeds``: difference from MrBayes and wall-time ratio."""
    rows = []
    for seed in args.target_seeds:
        for name in ("ss", "gss"):
            estimator = make_estimator(name, random_state=seed, **TARGET_SETTINGS)
            cpu_start = time.process_time()
            estimator.fit(FixedTopologyProblem(patterns, tree))
            row = result_row(name, estimator.log_marginal_, estimator.standard_error_, estimator.wall_time_,
                             time.process_time() - cpu_start, estimator.n_likelihood_evaluations_,
                             estimator.get_params(), mrbayes)
            rows.append(dict(row, seed=seed))
    return {"settings": TARGET_SETTINGS, "methods": rows}


def part_two(args, patterns, trees) -> dict:
    from dask.distributed import Client, LocalCluster

    reference = np.array([tree.weight for tree in trees])
    methods = parse_methods(args.grid_methods)
    start = time.perf_counter()
    with LocalCluster(n_workers=args.workers, threads_per_worker=1, dashboard_address=":0") as cluster, \
            Client(cluster) as client:
        results = run_grid(patterns, trees, methods, random_state=args.seed, preset=args.grid_preset, client=client)
    seconds = time.perf_counter() - start
    _, membership = split_membership(trees)
    rows = []
    for method in methods:
        log_z = np.array([r.log_marginal for r in results if r.method == method])
        cell_seconds = [r.seconds for r in results if r.method == method]
        rows.append({"method": method, "kl": kl_divergence(reference, log_z),
                     "split_rmsd": split_rmsd(reference, log_z, membership),
                     "mean_seconds_per_tree": float(np.mean(cell_seconds))})
    return {"n_trees": len(trees), "workers": args.workers, "preset": args.grid_preset, "wall_seconds": seconds,
            "methods": rows}


def markdown(report: dict) -> str:
    lines = []
    one = report.get("part_one")
    if one is not None:
        mb = one["mrbayes"]
        if mb is not None:
            lines.append(f"MrBayes 3.2.7a ss (anchor): runs {', '.join(f'{x:.3f}' for x in mb['runs'])}; "
                         f"mean {mb['mean']:.3f}; {mb['seconds']:.1f} s wall, {mb['cpu_seconds']:.1f} s CPU; "
                         f"ngen {mb['ngen']} per run\n")
        lines.append("| method | log Z | s.e. | Δ vs MrBayes | wall s | wall / MrBayes | CPU s | CPU / MrBayes "
                     "| evaluations |")
        lines.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        for row in one["methods"]:
            lines.append(f"| {row['label']} | {row['log_marginal']:.3f} | {row['standard_error']:.3f} | "
                         f"{row.get('difference_from_mrbayes', float('nan')):+.3f} | {row['seconds']:.1f} | "
                         f"{row.get('time_ratio_to_mrbayes', float('nan')):.4f} | {row['cpu_seconds']:.1f} | "
                         f"{row.get('cpu_ratio_to_mrbayes', float('nan')):.4f} | {row['evaluations']} |")
    target = report.get("part_target")
    if target is not None:
        lines.append(f"\nSpeed target: SS and GSS with {target['settings']}\n")
        lines.append("| method | seed | log Z | s.e. | Δ vs MrBayes | wall s | wall / MrBayes | evaluations |")
        lines.append("|---|---:|---:|---:|---:|---:|---:|---:|")
        for row in target["methods"]:
            lines.append(f"| {row['label']} | {row['seed']} | {row['log_marginal']:.3f} | {row['standard_error']:.3f} | "
                         f"{row.get('difference_from_mrbayes', float('nan')):+.3f} | {row['seconds']:.1f} | "
                         f"{row.get('time_ratio_to_mrbayes', float('nan')):.4f} | {row['evaluations']} |")
    two = report.get("part_two")
    if two is not None:
        lines.append(f"\nDS1, {two['n_trees']} topologies, preset {two['preset']}, {two['workers']} workers, "
                     f"{two['wall_seconds']:.0f} s wall\n")
        lines.append("| method | KL(SRF ‖ implied) | split RMSD | mean s per tree |")
        lines.append("|---|---:|---:|---:|")
        for row in two["methods"]:
            lines.append(f"| {row['method'].upper()} | {row['kl']:.4f} | {row['split_rmsd']:.4f} | "
                         f"{row['mean_seconds_per_tree']:.1f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--methods", default="all")
    parser.add_argument("--chain-scale", type=float, default=1.0)
    parser.add_argument("--mrbayes-ngen", type=int, default=10_200_000)
    parser.add_argument("--no-mrbayes", action="store_true")
    parser.add_argument("--anchor-json", type=Path, default=None,
                        help="reuse the MrBayes result of an earlier --json output instead of running it")
    parser.add_argument("--hmc-iter", type=int, default=None,
                        help="MCMC-based methods use the HMC sampler with this many iterations per chain")
    parser.add_argument("--no-grid", action="store_true")
    parser.add_argument("--share-ladder", action=argparse.BooleanOptionalAction, default=True,
                        help="compute SS, PS and MPS from one ladder, as the paper did (each is charged its time)")
    parser.add_argument("--no-single", action="store_true")
    parser.add_argument("--grid-methods", default="gss,glis,vbis,bs,gl")
    parser.add_argument("--grid-preset", default="fast", choices=["fast", "paper"])
    parser.add_argument("--grid-top", type=int, default=None)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--target-seeds", type=lambda text: [int(x) for x in text.split(",")], default=[],
                        help="comma-separated seeds: run SS and GSS at the target settings once per seed")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    aln = read_alignment(args.data / "DS1.nex")
    patterns = aln.site_patterns()
    credible = args.data / "JC_no_gamma_credible_set_ds1"
    trees = read_topologies(credible, TaxonNamespace(aln.taxa.names))
    newick = credible.read_text().splitlines()[0].split("\t")[1].strip()
    report = {"chain_scale": args.chain_scale, "hmc_iter": args.hmc_iter, "seed": args.seed,
              "anchor_reused": args.anchor_json is not None}
    if not args.no_single:
        report["part_one"] = part_one(args, patterns, trees[0], newick)
        if args.target_seeds:
            report["part_target"] = part_target(args, patterns, trees[0], report["part_one"]["mrbayes"])
    if not args.no_grid:
        report["part_two"] = part_two(args, patterns, top_topologies(trees, args.grid_top))
    print(json.dumps(report, indent=2, default=float) if args.json else markdown(report))


if __name__ == "__main__":
    main()
