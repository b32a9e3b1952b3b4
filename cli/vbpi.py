"""``phylo-vi vbpi``: variational Bayesian phylogenetic inference (Zhang & Matsen, ICLR 2019)."""
from __future__ import annotations

import sys
import time
from pathlib import Path

import click
import numpy as np

from phylo_vi.cli.common import (DeviceType, burnin_choice, emit_json, json_option, n_burnin_option, out_option_for,
                                 planned_outputs, quiet_option, resolve_seed, seed_option, threads_option, write_json,
                                 writing)
from phylo_vi.cli.sbn import ManyValuesCommand
from phylo_vi.io.newick import format_newick

ESTIMATOR_CHOICES = ["vimco", "rws", "unordered-set", "sum-and-sample"]
existing_file = click.Path(exists=True, dir_okay=False, path_type=Path)
evaluation_options = [
    click.option("--eval-runs", type=click.IntRange(min=2), default=1000, show_default=True,
                 help="Runs of the ELBO and of the 10-sample bound."),
    click.option("--is-particles", type=click.IntRange(min=1), default=1000, show_default=True,
                 help="Particles of the importance-sampling marginal likelihood."),
    click.option("--is-repeats", type=click.IntRange(min=2), default=10, show_default=True),
    click.option("--posterior-trees", type=click.IntRange(min=0), default=1000, show_default=True,
                 help="Trees drawn from q (with branch lengths) written to PREFIX.trees (NEXUS)."),
]


def with_evaluation_options(command):
    for option in reversed(evaluation_options):
        command = option(command)
    return command


@click.group("vbpi", context_settings={"help_option_names": ["-h", "--help"]})
def vbpi() -> None:
    """Variational Bayesian phylogenetic inference: SBN topologies, log-normal branch lengths."""


def _outputs(out_prefix: Path, posterior_trees: int, trace: bool) -> dict[str, Path]:
    """The files of a fit (``trace``) or an evaluation: PREFIX.json, .html, .trees (and .trace.tsv)."""
    from phylo_vi.util.outputs import output_path

    suffixes = {"json": ".json", "html": ".html"}
    if trace:
        suffixes["trace"] = ".trace.tsv"
    if posterior_trees:
        suffixes["trees"] = ".trees"
    return {key: output_path(out_prefix, suffix) for key, suffix in suffixes.items()}


@vbpi.command("fit", cls=ManyValuesCommand, many_values=("--support", "--golden"))
@click.argument("alignment", type=existing_file)
@click.option("--support", "support", multiple=True, metavar="FILE...",
              help="Tree samples defining the SBN support (per file its 95% most frequent trees), or 'ufboot': "
                   "10 IQ-TREE ultrafast-bootstrap replicates of 1000 trees built on the spot (needs iqtree2).")
@click.option("--golden", "golden", multiple=True, metavar="FILE...", type=existing_file,
              help="Golden-run .trprobs files: KL(golden ‖ q) in the trace and the summary.")
@click.option("--model", default="JC", show_default=True, help="Substitution model (IQ-TREE syntax).")
@click.option("--iters", "n_iter", type=click.IntRange(min=0), default=200_000, show_default=True,
              help="Training iterations (counted from the start of the run, also when resuming).")
@click.option("--particles", "n_particles", type=click.IntRange(min=2), default=10, show_default=True)
@click.option("--estimator", type=click.Choice(ESTIMATOR_CHOICES), default="vimco", show_default=True,
              help="Gradient estimator of the topology parameters.")
@click.option("--no-psp", is_flag=True, help="Split features only (no primary subsplit pairs).")
@click.option("--branch-model", type=click.Choice(["lognormal", "planar", "realnvp", "gnn"]), default="lognormal",
              show_default=True, help="Branch lengths: log-normal with split/PSP features (VBPI), + planar or RealNVP "
                                      "flows (VBPI-NF), or from EdgeConv layers (VBPI-GNN, 2 layers of 100).")
@click.option("--flow-layers", type=click.IntRange(min=1), default=16, show_default=True,
              help="Flow layers of --branch-model planar or realnvp (VBPI-NF: 16 planar, 5 RealNVP).")
@click.option("--warm-start", type=click.Choice(["em", "none"]), default="em", show_default=True,
              help="Start q_φ at SBN-EM-α (α = 1e-4) fitted to the support sample, or ('none') at uniform CPDs "
                   "as vbpi-torch; on DS1 the EM start reaches KL 0.0739 in about half the iterations.")
@click.option("--initial-log-std", type=float, default=None, show_default="-1",
              help="log σ of each edge's log length before training (−1: σ ≈ 0.37; vbpi-torch: 0, σ ≈ 1); "
                   "edges that training seldom reaches keep it.")
@click.option("--device", type=DeviceType(), default="cpu", show_default=True,
              help="Torch device of q and the likelihood (cpu, cuda, cuda:N).")
@click.option("--backend", type=click.Choice(["numba", "torch"]), default=None, show_default="numba on cpu",
              help="Likelihood implementation: the Numba engine (CPU) or its torch twin (any device).")
@click.option("--learning-rate", type=click.FloatRange(min=0, min_open=True), default=1e-3, show_default=True)
@click.option("--branch-learning-rate", type=click.FloatRange(min=0, min_open=True), default=None,
              show_default="--learning-rate", help="Step size of the branch-length parameters (VBPI-NF: 3e-4).")
@click.option("--warm-up", type=click.IntRange(min=0), default=100_000, show_default=True,
              help="Iterations of the linear β warm-up of the likelihood (β0 = 0.001).")
@click.option("--burnin", type=click.FloatRange(0, 1, max_open=True), default=0.0, show_default=True,
              help="Fraction of each support file discarded at its start (for MCMC chains such as .t files; "
                   "never applied to .trprobs; keep 0 for bootstrap or other tree lists).")
@n_burnin_option
@click.option("--kl-every", type=click.IntRange(min=0), default=1000, show_default=True)
@click.option("--stop-on-plateau", "plateau_window", type=click.IntRange(min=0), default=0, show_default=True,
              help="Stop once β = 1 when the mean bound of the last N iterations gains < 0.01 nats on the N before.")
@click.option("--checkpoint-every", type=click.IntRange(min=0), default=0, show_default=True,
              help="Write PREFIX.ckpt every N iterations (it is always written at the end).")
@click.option("--resume", type=existing_file, default=None, help="Continue the run saved in this checkpoint.")
@with_evaluation_options
@out_option_for("Output prefix: writes PREFIX.trace.tsv, PREFIX.json, PREFIX.html, PREFIX.trees (with "
                "--posterior-trees) together at the end, and the checkpoint PREFIX.ckpt during the run.",
                required=True)
@seed_option
@threads_option
@json_option
@quiet_option
@click.pass_context
def fit(ctx, alignment, support, golden, model, n_iter, n_particles, estimator, no_psp, branch_model, flow_layers,
        warm_start, initial_log_std, device, backend, learning_rate, branch_learning_rate, warm_up, burnin, n_burnin,
        kl_every, plateau_window, checkpoint_every, resume, eval_runs, is_particles, is_repeats, posterior_trees,
        out_prefix, seed, threads, as_json, quiet) -> None:
    """Fit VBPI to ALIGNMENT; write the trace, a JSON summary and a checkpoint."""
    import numba
    import torch
    from tqdm import tqdm

    from phylo_vi.io import read_alignment
    from phylo_vi.errors import PhyloVIError
    from phylo_vi.sbn import pooled_golden_run, read_tree_arrays
    from phylo_vi.trees.taxa import TaxonNamespace
    from phylo_vi.util.outputs import output_path
    from phylo_vi.vbpi.branch import INITIAL_LOG_STD
    from phylo_vi.vbpi.checkpoint import load_checkpoint
    from phylo_vi.vbpi.estimator import VBPI

    n_burnin = burnin_choice(ctx, n_burnin)
    if not support and resume is None:
        raise PhyloVIError("give --support FILE... (or --resume CKPT)")
    support_files = [] if resume is not None or list(support) == ["ufboot"] else _existing_support(support)
    checkpoint = output_path(out_prefix, ".ckpt")
    inputs = [alignment, *support_files, *golden]
    planned_outputs({"checkpoint": checkpoint}, inputs)  # written atomically by the run itself (resume may name it)
    outputs = planned_outputs(_outputs(out_prefix, posterior_trees, trace=True),
                              inputs + ([resume] if resume is not None else []))
    seed = resolve_seed(seed)
    torch.set_num_threads(threads)
    numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    patterns = read_alignment(alignment).site_patterns()
    resumed = load_checkpoint(resume) if resume is not None else None
    taxa = TaxonNamespace(resumed["taxa"]) if resumed is not None else TaxonNamespace()
    support_started = time.perf_counter()
    samples = (None if resume is not None
               else _support_samples(support, alignment, taxa, model, seed, burnin, n_burnin, threads))
    support_seconds = time.perf_counter() - support_started
    reference = pooled_golden_run(read_tree_arrays(golden, taxa=taxa, per_file=True)) if golden else None
    estimator_ = VBPI(model=model, n_particles=n_particles, estimator=estimator, psp=not no_psp,
                      branch_model=branch_model, flow_layers=flow_layers,
                      initial_log_std=INITIAL_LOG_STD if initial_log_std is None else initial_log_std,
                      warm_start=None if warm_start == "none" else warm_start, learning_rate=learning_rate,
                      branch_learning_rate=branch_learning_rate, warm_up=warm_up,
                      kl_every=kl_every if golden else 0, plateau_window=plateau_window,
                      checkpoint_every=checkpoint_every, checkpoint_path=checkpoint, device=device, backend=backend,
                      threads=threads, random_state=seed)
    show = not quiet and sys.stderr.isatty()
    with tqdm(total=n_iter, disable=not show, file=sys.stderr, desc="vbpi", leave=False) as bar:
        def progress(iteration: int, record: dict) -> None:
            bar.update(iteration - bar.n)
            if iteration % 100 == 0:
                bar.set_postfix(bound=f"{record['bound']:.2f}", beta=f"{record['beta']:.3f}")
            if record["kl"] == record["kl"]:
                bar.set_postfix(bound=f"{record['bound']:.2f}", beta=f"{record['beta']:.3f}", kl=f"{record['kl']:.4f}")
        estimator_.fit(patterns, samples, n_iter, golden=reference, resume=resume, callback=progress)
    trained = n_iter - (int(resumed["iteration"]) if resumed is not None else 0)
    document = {"alignment": str(alignment), "support": [str(p) for p in support], "golden": [str(p) for p in golden],
                "resumed_from": None if resume is None else str(resume), "support_seconds": support_seconds,
                "stopped_on_plateau": estimator_.stopped_on_plateau_,
                "training_seconds": estimator_.seconds_,
                "seconds_per_1000_iterations": 1000 * estimator_.seconds_ / trained if trained else None,
                "cpu_seconds_per_1000_iterations": 1000 * estimator_.cpu_seconds_ / trained if trained else None,
                "checkpoint": str(checkpoint)}
    _finish(estimator_, document, reference, outputs, eval_runs, is_particles, is_repeats, posterior_trees,
            as_json, quiet)


@vbpi.command("evaluate", cls=ManyValuesCommand, many_values=("--golden",))
@click.argument("checkpoint", type=existing_file)
@click.argument("alignment", type=existing_file)
@click.option("--golden", "golden", multiple=True, metavar="FILE...", type=existing_file,
              help="Golden-run .trprobs files: KL(golden ‖ q).")
@with_evaluation_options
@out_option_for("Output prefix: writes PREFIX.json, PREFIX.html and PREFIX.trees (with --posterior-trees). "
                "The draws use the seed recorded in CHECKPOINT.", required=True)
@threads_option
@json_option
@quiet_option
def evaluate(checkpoint, alignment, golden, eval_runs, is_particles, is_repeats, posterior_trees, out_prefix, threads,
             as_json, quiet) -> None:
    """Evaluate the run saved in CHECKPOINT: ELBO, 10-sample bound, marginal likelihood, KL, trees."""
    import torch

    from phylo_vi.io import read_alignment
    from phylo_vi.sbn import pooled_golden_run, read_tree_arrays
    from phylo_vi.vbpi.estimator import VBPI

    outputs = planned_outputs(_outputs(out_prefix, posterior_trees, trace=False), [checkpoint, alignment, *golden])
    torch.set_num_threads(threads)
    estimator_ = VBPI.from_checkpoint(checkpoint, read_alignment(alignment).site_patterns())
    reference = (pooled_golden_run(read_tree_arrays(golden, taxa=estimator_.taxa_, per_file=True)) if golden
                 else None)
    document = {"checkpoint": str(checkpoint), "alignment": str(alignment), "golden": [str(p) for p in golden]}
    _finish(estimator_, document, reference, outputs, eval_runs, is_particles, is_repeats, posterior_trees,
            as_json, quiet)


def _existing_support(support) -> list[Path]:
    """The --support files, each checked to exist (``ufboot`` excepted by the caller)."""
    from phylo_vi.errors import PhyloVIError

    missing = [path for path in support if not Path(path).is_file()]
    if missing:
        raise PhyloVIError(f"--support: no such file: {missing[0]}")
    return [Path(path) for path in support]


def _support_samples(support, alignment: Path, taxa, model: str, seed: int, burnin: float, n_burnin: int | None,
                     threads: int):
    """Tree samples of the support: the files given, or UFBoot replicates built now (``ufboot``)."""
    from phylo_vi.sbn import read_tree_arrays
    from phylo_vi.vbpi.ufboot import ufboot_samples

    if list(support) == ["ufboot"]:
        return ufboot_samples(alignment, taxa, model=model, seed=seed, threads=threads)
    return read_tree_arrays(_existing_support(support), taxa=taxa, burnin=burnin, n_burnin=n_burnin, per_file=True)


def _finish(estimator_, document: dict, reference, outputs, eval_runs: int, is_particles: int,
            is_repeats: int, posterior_trees: int, as_json: bool, quiet: bool) -> None:
    """Evaluate; write PREFIX.json, PREFIX.html (PREFIX.trace.tsv, PREFIX.trees) together; print the summary."""
    from phylo_vi.vbpi.output import write_trees
    from phylo_vi.vbpi.report import write_report

    evaluation = estimator_.evaluate(n_runs=eval_runs, n_is_particles=is_particles, n_is_repeats=is_repeats,
                                     golden=reference)
    trees = estimator_.sample_trees(posterior_trees) if posterior_trees else None
    distribution = estimator_.distribution_
    map_tree, map_log_prob = distribution.most_probable_tree(random_state=estimator_.seed_)
    credible, _, credible_mass = distribution.credible_set(0.95, random_state=estimator_.seed_)
    document = {"seed": estimator_.seed_, **estimator_.run_params(), "iterations": estimator_.n_iter_, **document,
                "support_size": {"root_splits": len(estimator_.support_.root_splits),
                                 "pcsps": len(estimator_.support_.pcsp_keys)},
                **evaluation.as_dict(), "map_topology": format_newick(map_tree, lengths=False),
                "map_probability": float(np.exp(map_log_prob)), "credible_set_95_size": len(credible),
                "credible_set_95_mass": credible_mass}
    with writing(outputs, quiet) as staged:
        write_json(staged["json"], document)
        write_report(staged["html"], document, estimator_.trace_, distribution, reference)
        if "trace" in staged:
            _write_trace(staged["trace"], estimator_.trace_)
        if trees is not None:
            write_trees(staged["trees"], trees)
    if as_json:
        emit_json(document)
    else:
        for key in ("elbo", "bound_10", "log_marginal", "log_marginal_sd", "kl", "seconds_per_1000_iterations",
                    "cpu_seconds_per_1000_iterations"):
            if key in document:
                click.echo(f"{key}: {document[key]}")


def _write_trace(path: Path, trace: dict) -> None:
    """TSV with one row per iteration (columns of :data:`phylo_vi.vbpi.estimator.TRACE_COLUMNS`)."""
    from phylo_vi.util.atomic import atomic_write

    names = list(trace)
    with atomic_write(path) as handle:
        handle.write("\t".join(names) + "\n")
        for row in zip(*(trace[name] for name in names)):
            handle.write("\t".join(f"{value:.10g}" if isinstance(value, float) else str(value) for value in row) + "\n")
