"""VBPI topology-gradient estimators and branch flows compared at equal likelihood evaluations on DS1.

Every configuration trains for ``--iters`` iterations with K = ``--particles`` particles, i.e.
K likelihood evaluations per iteration (VIMCO and RWS: K independent topologies; unordered set:
K distinct topologies by stochastic beam search; sum and sample: K − 1 beam-search topologies
summed and one sampled outside them; :mod:`phylo_vi.vbpi.set_estimators`), so each row has spent
the same number of likelihood evaluations. Model, support and schedule are those of
``benchmarks/vbpi.py`` (DS1, JC69, Exponential(10) branch lengths, pooled 95 % support of the
ten MrBayes short runs in ``../shared/data/DS1/short_run``, Adam at the reference learning rate
``--lr`` 0.001, the flows' branch parameters at VBPI-NF's smaller steps, 0.3 and 0.1 of it) except
the β warm-up, shortened to ``--warm-up`` iterations so that a short run ends at β = 1, and the start of
q_φ: uniform CPDs (``--warm-start none``, the default here, as vbpi-torch) so that the estimators have the
topology distribution to learn, not the SBN-EM-α start that ``VBPI`` uses by default.

Reported per configuration: CPU seconds per 1,000 iterations (one thread); the last-100 mean of
the training objective (K-sample bound for VIMCO/RWS, the set estimate of the ELBO for the set
estimators); the ELBO (mean of ``--eval-runs`` single-particle bounds) and the 10-sample bound;
log p(D) by 1,000-particle importance sampling (mean ± sd over ``--is-repeats``); KL(golden ‖ q_φ)
against the pooled golden runs (``../shared/data/DS1/golden_run``) with the golden mass q_φ can
reach (the short-run support leaves 1.9 % of it out, a floor of about 0.48 on the KL; the SBN rooted
at taxon 0 reaches fewer topologies of the same support, 2.9 % out); and the variance of the
φ-gradient at the final parameters, β = 1: the trace of the covariance of ``--grad-repeats``
independent estimates (sum of per-coordinate variances) next to the squared norm of their mean.
VIMCO and RWS estimate the gradient of the K-sample bound, the set estimators that of the ELBO.

Usage: ``python benchmarks/vbpi_estimators.py [--shared ../shared] [--iters 2000] [--warm-up 1000]
[--configs vimco,rws,vimco-canonical,unordered-set,sum-and-sample,vimco-planar,vimco-realnvp]
[--warm-start none|em] [--json]``
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numba
import numpy as np
import torch

from phylo_vi.io import read_alignment
from phylo_vi.sbn import read_tree_arrays
from phylo_vi.sbn.kl import pooled_golden_run
from phylo_vi.trees.taxa import TaxonNamespace
from phylo_vi.vbpi.estimator import VBPI
from phylo_vi.vbpi.objectives import surrogate
from phylo_vi.vbpi.set_estimators import SET_ESTIMATORS, set_objective

#: name -> VBPI settings of each configuration
CONFIGS = {
    "vimco": {"estimator": "vimco"},
    "rws": {"estimator": "rws"},
    "vimco-canonical": {"estimator": "vimco", "rooting": "canonical"},
    "unordered-set": {"estimator": "unordered-set"},
    "sum-and-sample": {"estimator": "sum-and-sample"},
    "vimco-planar": {"estimator": "vimco", "branch_model": "planar", "flow_layers": 16},
    "vimco-realnvp": {"estimator": "vimco", "branch_model": "realnvp", "flow_layers": 5},
}
#: branch-parameter step size relative to ``--lr`` (VBPI-NF README: 3e-4 with 16 planar layers, 1e-4 with
#: RealNVP, against 1e-3 for the topology)
BRANCH_LR_RATIO = {"vimco-planar": 0.3, "vimco-realnvp": 0.1}


def phi_gradient_spread(vbpi: VBPI, n_repeats: int, seed: int) -> tuple[float, float]:
    """(trace of the covariance, squared norm of the mean) of ``n_repeats`` φ-gradient estimates at β = 1."""
    posterior, model = vbpi.posterior_, vbpi.model_
    parameters = list(posterior.topology.parameters())
    rng = np.random.default_rng(seed)
    estimates = []
    for _ in range(n_repeats):
        if vbpi.estimator in SET_ESTIMATORS:
            objective = set_objective(vbpi.estimator, posterior, model, vbpi.n_particles, 1.0, rng).surrogate
        else:
            _, particles = posterior.draw(model, vbpi.n_particles, rng)
            objective = surrogate(particles, 1.0, vbpi.estimator)
        gradients = torch.autograd.grad(objective, parameters, allow_unused=True)
        estimates.append(torch.cat([(torch.zeros_like(p) if g is None else g).ravel()
                                    for p, g in zip(parameters, gradients)]))
    stacked = torch.stack(estimates)
    return float(stacked.var(0).sum()), float(stacked.mean(0).pow(2).sum())


def run(name: str, settings: dict, patterns, samples, golden, args) -> dict:
    vbpi = VBPI(n_particles=args.particles, warm_up=args.warm_up, learning_rate=args.lr, kl_every=0,
                branch_learning_rate=args.lr * BRANCH_LR_RATIO.get(name, 1.0),
                warm_start=None if args.warm_start == "none" else args.warm_start, random_state=args.seed, **settings)
    vbpi.fit(patterns, samples, args.burn)
    cpu_started = time.process_time()
    vbpi.fit(patterns, None, args.burn + args.iters)
    cpu_seconds = time.process_time() - cpu_started
    evaluation = vbpi.evaluate(n_runs=args.eval_runs, n_is_particles=1000, n_is_repeats=args.is_repeats,
                               golden=golden)
    variance, mean_square = phi_gradient_spread(vbpi, args.grad_repeats, args.seed + 1)
    return {"config": name, "estimator": vbpi.estimator, "rooting": vbpi._rooting,
            "learning_rate": vbpi.learning_rate, "branch_learning_rate": vbpi.branch_learning_rate,
            "branch_model": vbpi.branch_model, "iterations": args.burn + args.iters,
            "likelihood_evaluations": (args.burn + args.iters) * args.particles,
            "cpu_seconds_per_1000_iterations": 1000 * cpu_seconds / args.iters,
            "training_objective_last_100": float(vbpi.trace_["bound"][-100:].mean()),
            "elbo": evaluation.elbo, "bound_10": evaluation.bound_10, "log_marginal": evaluation.log_marginal,
            "log_marginal_sd": evaluation.log_marginal_sd, "kl": evaluation.kl,
            "golden_mass_in_support": evaluation.golden_mass_in_support,
            "phi_gradient_variance": variance, "phi_gradient_mean_square": mean_square}


def markdown(rows: list[dict]) -> str:
    header = ("| config | likelihood evals | CPU s / 1000 it | train objective | ELBO | 10-sample bound | "
              "log ML (1000-IS) | KL(golden ‖ q) | golden mass reachable | φ-grad variance | ‖mean φ-grad‖² | ‖mean‖² / variance |")
    lines = [header, "|" + "---|" * (header.count("|") - 1)]
    for row in rows:
        lines.append(f"| {row['config']} | {row['likelihood_evaluations']:,} | "
                     f"{row['cpu_seconds_per_1000_iterations']:.1f} | {row['training_objective_last_100']:.2f} | "
                     f"{row['elbo']:.2f} | {row['bound_10']:.2f} | {row['log_marginal']:.2f} ± "
                     f"{row['log_marginal_sd']:.2f} | {row['kl']:.4f} | {row['golden_mass_in_support']:.4f} | "
                     f"{row['phi_gradient_variance']:.3g} | "
                     f"{row['phi_gradient_mean_square']:.3g} | "
                     f"{row['phi_gradient_mean_square'] / row['phi_gradient_variance']:.3g} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[2] / "shared")
    parser.add_argument("--iters", type=int, default=2000, help="timed iterations per configuration")
    parser.add_argument("--burn", type=int, default=20, help="untimed first iterations (Numba compilation)")
    parser.add_argument("--warm-up", type=int, default=1000)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--warm-start", choices=["none", "em"], default="none")
    parser.add_argument("--particles", type=int, default=10)
    parser.add_argument("--configs", default=",".join(CONFIGS))
    parser.add_argument("--eval-runs", type=int, default=1000)
    parser.add_argument("--is-repeats", type=int, default=3)
    parser.add_argument("--grad-repeats", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(1)
    numba.set_num_threads(1)
    data = args.shared / "data" / "DS1"
    patterns = read_alignment(data / "DS1.fasta").site_patterns()
    taxa = TaxonNamespace()
    samples = read_tree_arrays(sorted((data / "short_run").glob("rep_*/DS1.trprobs")), taxa=taxa, per_file=True)
    golden = pooled_golden_run(read_tree_arrays(sorted((data / "golden_run").glob("rep_*/DS1.trprobs")), taxa=taxa,
                                                per_file=True))
    rows = []
    for name in args.configs.split(","):
        started = time.perf_counter()
        rows.append(run(name, CONFIGS[name], patterns, samples, golden, args))
        print(f"{name}: done in {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
    if args.json:
        print(json.dumps({"data": "DS1", "settings": vars(args) | {"shared": str(args.shared)}, "rows": rows},
                         indent=2))
    else:
        print(markdown(rows))


if __name__ == "__main__":
    main()
