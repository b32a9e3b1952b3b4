"""``phylo-vi genotype``: tumour single-cell genotype matrices (check, denoise, simulate, evaluate, train)."""
from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from phylo_vi.cli.common import (emit_document, emit_json, json_option, out_option_for, planned_outputs,
                                 quiet_option, resolve_seed, seed_option, threads_option, write_json, writing)

FORMAT_CHOICE = click.Choice(["auto", "sc", "scite", "sphyr", "csv"])
format_option = click.option("--format", "fmt", type=FORMAT_CHOICE, default="auto", show_default=True,
                             help="Input matrix format.")


@click.group(name="genotype", context_settings={"help_option_names": ["-h", "--help"]})
def genotype() -> None:
    """Tumour single-cell genotype matrices (cells x mutations, 0/1, missing 3 or ?)."""


@genotype.command()
@click.argument("matrix", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@format_option
@json_option
@quiet_option
def check(matrix: Path, fmt: str, as_json: bool, quiet: bool) -> None:
    """Exact three-gamete conflict check and linear/branching test of MATRIX. Writes no file."""
    from phylo_vi.genotype.conflicts import check_matrix_structure, conflicting_pairs
    from phylo_vi.genotype.formats import read_genotype

    data = read_genotype(matrix, fmt)
    report = check_matrix_structure(data.values)
    pairs = [[data.mutation_names[p], data.mutation_names[q]] for p, q in conflicting_pairs(data.values)]
    if as_json:
        emit_json({"file": str(matrix), **report.as_dict(), "conflicting_pairs": pairs})
        return
    click.echo(f"{matrix}: {report.n_cells} cells x {report.n_mutations} mutations, {report.n_missing} missing")
    click.echo(f"conflicting column pairs: {report.n_conflicting_pairs}")
    for p, q in pairs[:20]:
        click.echo(f"  {p} {q}")
    if len(pairs) > 20:
        click.echo(f"  ... {len(pairs) - 20} more (use --json for all)")
    click.echo(f"different-lineage (branching) pairs: {report.n_branching_pairs}")
    shape = "unknown (matrix has conflicts)" if report.linear is None else ("linear" if report.linear else "branching")
    click.echo(f"conflict-free: {report.conflict_free}; topology: {shape}")


DENOISE_OUTPUTS = {"matrix": ".CFMatrix", "tree_newick": ".tree.nwk", "tree_dot": ".tree.dot",
                   "summary": ".json", "report": ".html"}


def denoise_paths(prefix: Path) -> dict[str, Path]:
    """Output files of ``denoise -o PREFIX`` (a PREFIX ending in .CFMatrix names the matrix itself)."""
    if prefix.name.endswith(".CFMatrix") and prefix.name != ".CFMatrix":
        prefix = prefix.with_name(prefix.name[: -len(".CFMatrix")])
    return {key: Path(f"{prefix}{suffix}") for key, suffix in DENOISE_OUTPUTS.items()}


@genotype.command()
@click.argument("matrix", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--fp", type=float, default=None,
              help="False-positive rate (alpha); estimated jointly with the matrix when --fp or --fn is omitted.")
@click.option("--fn", type=float, default=None,
              help="False-negative rate (beta); estimated jointly with the matrix when --fp or --fn is omitted.")
@click.option("--doublet-rate", type=click.FloatRange(0, 1, max_open=True), default=0.0, show_default=True,
              help="Prior doublet rate; > 0 calls doublets (re-estimated when the rates are estimated).")
@format_option
@out_option_for("Output prefix: writes PREFIX.CFMatrix (conflict-free matrix), PREFIX.tree.nwk and "
                "PREFIX.tree.dot (mutation tree with the cells), PREFIX.json (rates and counts) and PREFIX.html "
                "(report with the tree plot); a PREFIX ending in .CFMatrix names the matrix. Without -o no "
                "file is written.")
@click.option("--decoding", type=click.Choice(["beam", "sample"]), default="beam", show_default=True)
@click.option("--candidates", type=click.IntRange(min=1), default=8, show_default=True,
              help="Beams or samples decoded by the pointer network.")
@click.option("--network", "use_network", type=click.Choice(["auto", "on", "off"]), default="auto",
              show_default=True, help="Pointer network before the repair: auto = off (it does not lower the error; see the README).")
@click.option("--no-network", is_flag=True, help="Same as --network off (repair only; ablation).")
@click.option("--weights", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Pointer-network weights (default: the shipped ones); turns the network on under --network auto.")
@click.option("--clone-penalty", type=float, default=None, help="Log-likelihood cost per clone (default 15).")
@seed_option
@threads_option
@json_option
@quiet_option
def denoise(matrix: Path, fp: float | None, fn: float | None, doublet_rate: float, fmt: str,
            out_prefix: Path | None, decoding: str, candidates: int, use_network: str, no_network: bool,
            weights: Path | None,
            clone_penalty: float | None, seed: int | None, threads: int, as_json: bool, quiet: bool) -> None:
    """Remove FP/FN noise from MATRIX; the output is always conflict-free, with its mutation tree."""
    import torch

    from phylo_vi.genotype import denoise as run
    from phylo_vi.genotype.denoise import load_network
    from phylo_vi.genotype.formats import read_genotype, write_sc
    from phylo_vi.genotype.matrix import check_rates
    from phylo_vi.genotype.mutation_tree import mutation_tree, to_dot, to_newick
    from phylo_vi.genotype.repair import DEFAULT_CLONE_PENALTY
    from phylo_vi.genotype.report import write_denoise_report
    from phylo_vi.util.atomic import atomic_write

    torch.set_num_threads(threads)
    if fp is not None and fn is not None:
        check_rates(fp, fn)
    outputs = None if out_prefix is None else planned_outputs(denoise_paths(out_prefix),
                                                              [matrix] + ([weights] if weights else []))
    data = read_genotype(matrix, fmt)
    network_on = use_network == "on" or (use_network == "auto" and weights is not None)
    network = False if no_network or not network_on else (load_network(weights) if weights else True)
    seed = resolve_seed(seed)
    start = time.perf_counter()
    result = run(data.values, fp, fn, network=network, decoding=decoding, n_candidates=candidates,
                 clone_penalty=DEFAULT_CLONE_PENALTY if clone_penalty is None else clone_penalty,
                 doublet_rate=doublet_rate, random_state=seed)
    seconds = time.perf_counter() - start
    summary = result.as_dict(data.values)
    document = {"file": str(matrix), "seed": seed, "fp": result.fp, "fn": result.fn,
                "rates_estimated": summary["rates_estimated"],
                "out": None if outputs is None else {k: str(v) for k, v in outputs.targets.items()},
                "network_used": network is not False,
                "n_flips_total": summary["n_flips_total"], "network_flips": summary["n_network_flips"],
                "network_conflicting_pairs": summary["network_conflicts"],
                "repair_changes": summary["n_repair_changes"], "n_clones": summary["n_clones"],
                "n_doublets": summary["n_doublets"],
                "doublet_cells": [name for name, flag in zip(data.cell_names, result.doublets) if flag],
                "log_likelihood": summary["log_likelihood"], "conflict_free": summary["conflict_free"],
                "seconds": seconds, "seconds_rates": summary["seconds_rates"],
                "seconds_network": summary["seconds_network"], "seconds_repair": summary["seconds_repair"]}
    if outputs is not None:
        tree = mutation_tree(result.matrix, data.mutation_names, data.cell_names)
        with writing(outputs, quiet) as staged:
            write_sc(data.with_values(result.matrix), staged["matrix"])
            with atomic_write(staged["tree_newick"]) as handle:
                handle.write(to_newick(tree))
            with atomic_write(staged["tree_dot"]) as handle:
                handle.write(to_dot(tree))
            write_json(staged["summary"], document)
            write_denoise_report(staged["report"], str(matrix), document, tree)
    emit_document(document, as_json)


@genotype.command()
@click.argument("matrix", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--fp", type=click.FloatRange(0, 1, max_open=True), required=True, help="False-positive rate (alpha).")
@click.option("--fn", type=click.FloatRange(0, 1, max_open=True), required=True, help="False-negative rate (beta).")
@format_option
@click.option("--max-clones", type=click.IntRange(min=2), default=20, show_default=True)
@click.option("--estimator", default="unordered-set", show_default=True, help="Discrete gradient estimator "
              "(reinforce, reinforce-loo, sum-and-sample, unordered-set, vimco, rws, gumbel-softmax, straight-through, exact).")
@click.option("--samples", type=click.IntRange(min=1), default=4, show_default=True, help="Decoder evaluations per cell.")
@click.option("--steps", type=click.IntRange(min=0), default=1500, show_default=True)
@out_option_for("Output prefix: writes PREFIX.SC, the implied genotype matrix (each cell gets its clone's "
                "genotype), and PREFIX.clones.tsv, the cell-to-clone table; no file without -o.")
@seed_option
@threads_option
@quiet_option
@json_option
def clones(matrix: Path, fp: float, fn: float, fmt: str, max_clones: int, estimator: str, samples: int, steps: int,
           out_prefix: Path | None, seed: int | None, threads: int, quiet: bool, as_json: bool) -> None:
    """Clone assignment of the cells of MATRIX by the clonal-genotype VAE (phylo_vi.vi.vae.clonal)."""
    import torch

    from phylo_vi.vi.vae.clonal_report import clones_paths, run_clones, write_clones

    paths = {} if out_prefix is None else clones_paths(out_prefix)
    outputs = planned_outputs(paths, [matrix]) if paths else None
    torch.set_num_threads(threads)
    data, model, document = run_clones(matrix, fmt, fp, fn, max_clones=max_clones, estimator=estimator,
                                       n_samples=samples, n_steps=steps, seed=resolve_seed(seed),
                                       progress=not quiet and sys.stderr.isatty())
    if outputs is not None:
        with writing(outputs, quiet) as staged:
            write_clones(data, model, staged)
    document["out"] = str(paths["matrix"]) if paths else None
    document["assignments"] = str(paths["assignments"]) if paths else None
    emit_document(document, as_json)


@genotype.command()
@click.option("--model", type=click.Choice(["clonal", "coalescent"]), default="clonal", show_default=True)
@click.option("--cells", type=click.IntRange(min=2), default=100, show_default=True)
@click.option("--mutations", type=click.IntRange(min=1), default=100, show_default=True)
@click.option("--clones", type=click.IntRange(min=2), default=10, show_default=True, help="Clonal model only.")
@click.option("--linear", is_flag=True, help="Clonal model: a chain of clones.")
@click.option("--fp", type=click.FloatRange(0, 1, max_open=True), default=1e-4, show_default=True)
@click.option("--fn", type=click.FloatRange(0, 1, max_open=True), default=0.1, show_default=True)
@click.option("--missing", type=click.FloatRange(0, 1, max_open=True), default=0.0, show_default=True,
              help="Missing-entry rate.")
@out_option_for("Output prefix: writes PREFIX.SC (noisy) and PREFIX.ground.CFMatrix (truth).", required=True)
@seed_option
@json_option
@quiet_option
def simulate(model: str, cells: int, mutations: int, clones: int, linear: bool, fp: float, fn: float,
             missing: float, out_prefix: Path, seed: int | None, as_json: bool, quiet: bool) -> None:
    """Simulate a noise-free tumour matrix and its noisy observation."""
    from phylo_vi.genotype.formats import write_sc
    from phylo_vi.genotype.matrix import GenotypeMatrix
    from phylo_vi.genotype.simulate import simulate_experiment

    outputs = planned_outputs({"noisy": Path(f"{out_prefix}.SC"), "truth": Path(f"{out_prefix}.ground.CFMatrix")})
    seed = resolve_seed(seed)
    simulated = simulate_experiment(model, cells, mutations, n_clones=clones, linear=linear, fp=fp, fn=fn,
                                    missing_rate=missing, random_state=seed)
    with writing(outputs, quiet) as staged:
        write_sc(GenotypeMatrix(simulated.observed), staged["noisy"])
        write_sc(GenotypeMatrix(simulated.truth), staged["truth"])
    document = {"seed": seed, "model": model, "noisy": str(outputs.targets["noisy"]),
                "truth": str(outputs.targets["truth"]), "entry_noise": simulated.entry_noise}
    emit_document(document, as_json)


@genotype.command()
@click.option("--truth", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True)
@click.option("--pred", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True)
@format_option
@json_option
@quiet_option
def evaluate(truth: Path, pred: Path, fmt: str, as_json: bool, quiet: bool) -> None:
    """Entry error, ancestor-descendant and different-lineage accuracy (HUNTRESS definitions). Writes no file."""
    from phylo_vi.errors import PhyloVIError
    from phylo_vi.genotype.formats import read_genotype
    from phylo_vi.genotype.metrics import evaluate_genotypes

    truth_matrix, predicted = read_genotype(truth, fmt), read_genotype(pred, fmt)
    try:
        scores = evaluate_genotypes(truth_matrix, predicted)
    except PhyloVIError as exc:
        raise PhyloVIError(f"--truth {truth}, --pred {pred}: {exc}") from None
    emit_document({"truth": str(truth), "pred": str(pred), **scores.as_dict()}, as_json)


@genotype.command()
@click.option("--task", type=click.Choice(["pointer", "noise", "branching"]), default="pointer", show_default=True)
@out_option_for("Output prefix: pointer writes PREFIX.pt (weights); noise and branching write PREFIX.json "
                "(the comparison with the exact check). PREFIX itself when it ends in that suffix.", required=True)
@click.option("--supervised-steps", type=click.IntRange(min=0), default=1000, show_default=True,
              help="Pointer network: supervised steps over the size curriculum (16 x 16 up to 120 x 80).")
@click.option("--policy-steps", type=click.IntRange(min=0), default=0, show_default=True)
@click.option("--batch-size", type=click.IntRange(min=2), default=16, show_default=True,
              help="Pointer network: matrices per batch up to 24 x 24 entries (fewer above).")
@click.option("--checkpoint", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Pointer network: checkpoint file, written every 25 steps and at --max-minutes; "
                   "training resumes from it when it exists.")
@click.option("--max-minutes", type=click.FloatRange(min=0), default=None,
              help="Pointer network: stop after this much wall time (resume with --checkpoint).")
@click.option("--n-train", type=click.IntRange(min=10), default=1000, show_default=True, help="Classifiers.")
@click.option("--size", type=click.IntRange(min=3), default=10, show_default=True, help="Classifier matrix size.")
@seed_option
@threads_option
@quiet_option
@json_option
def train(task: str, out_prefix: Path, supervised_steps: int, policy_steps: int, batch_size: int,
          checkpoint: Path | None, max_minutes: float | None, n_train: int, size: int, seed: int | None,
          threads: int, quiet: bool, as_json: bool) -> None:
    """Retrain the pointer network (weights) or a classifier (reported next to the exact check)."""
    import torch

    from phylo_vi.util.outputs import output_path

    torch.set_num_threads(threads)
    out = output_path(out_prefix, ".pt" if task == "pointer" else ".json")
    outputs = planned_outputs({"out": out})
    seed = resolve_seed(seed)
    if task == "pointer":
        from tqdm import tqdm

        from phylo_vi.genotype.denoise import save_network
        from phylo_vi.genotype.training import DEFAULT_CURRICULUM, train_pointer_network

        with tqdm(total=supervised_steps + policy_steps, disable=quiet or not sys.stderr.isatty(),
                  file=sys.stderr) as bar:
            net, history = train_pointer_network(n_supervised=supervised_steps, n_policy=policy_steps,
                                                 batch_size=batch_size, curriculum=DEFAULT_CURRICULUM,
                                                 random_state=seed, checkpoint=checkpoint, max_minutes=max_minutes,
                                                 progress=lambda phase, step, value: bar.update(step + 1 - bar.n))
        with writing(outputs, quiet) as staged:
            save_network(net, staged["out"])
        document = {"task": task, "seed": seed, "out": str(out), "seconds": history.seconds,
                    "steps": len(history.supervised_loss) + len(history.policy_reward), "finished": history.finished,
                    "final_supervised_loss": history.supervised_loss[-1] if history.supervised_loss else None,
                    "final_policy_reward": history.policy_reward[-1] if history.policy_reward else None}
    else:
        from phylo_vi.genotype.classifiers import classifier_experiment

        document = {"seed": seed, **classifier_experiment(task, n_train, size, random_state=seed).as_dict()}
        with writing(outputs, quiet) as staged:
            write_json(staged["out"], document)
    if as_json:
        emit_json(document)
    else:
        click.echo(" ".join(f"{k}={v}" for k, v in document.items()))
