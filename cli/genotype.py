"""``phylo-vi genotype``: tumour single-cell genotype matrices (check, denoise, simulate, evaluate, train)."""
from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from phylo_vi.cli.common import (emit_document, emit_json, json_option, quiet_option, resolve_seed, seed_option,
                                 threads_option, write_json)

FORMAT_CHOICE = click.Choice(["auto", "sc", "scite", "sphyr", "csv"])
format_option = click.option("--format", "fmt", type=FORMAT_CHOICE, default="auto", show_default=True,
                             help="Input matrix format.")
rate_options = [
    click.option("--fp", type=float, required=True, help="False-positive rate (alpha)."),
    click.option("--fn", type=float, required=True, help="False-negative rate (beta)."),
]


def _rates(func):
    for option in reversed(rate_options):
        func = option(func)
    return func


@click.group(name="genotype")
def genotype() -> None:
    """Tumour single-cell genotype matrices (cells x mutations, 0/1, missing 3 or ?)."""


@genotype.command()
@click.argument("matrix", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@format_option
@json_option
def check(matrix: Path, fmt: str, as_json: bool) -> None:
    """Exact three-gamete conflict check and linear/branching test of MATRIX."""
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


@genotype.command()
@click.argument("matrix", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_rates
@format_option
@click.option("-o", "--out", "out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the conflict-free matrix here (CFMatrix layout).")
@click.option("--decoding", type=click.Choice(["beam", "sample"]), default="beam", show_default=True)
@click.option("--candidates", type=click.IntRange(min=1), default=8, show_default=True,
              help="Beams or samples decoded by the pointer network.")
@click.option("--no-network", is_flag=True, help="Skip the pointer network (repair only; ablation).")
@click.option("--weights", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Pointer-network weights (default: the shipped ones).")
@click.option("--clone-penalty", type=float, default=None, help="Log-likelihood cost per clone (default 15).")
@seed_option
@threads_option
@json_option
def denoise(matrix: Path, fp: float, fn: float, fmt: str, out: Path | None, decoding: str, candidates: int,
            no_network: bool, weights: Path | None, clone_penalty: float | None, seed: int | None,
            threads: int, as_json: bool) -> None:
    """Remove FP/FN noise from MATRIX; the output is always conflict-free."""
    import torch

    torch.set_num_threads(threads)
    from phylo_vi.genotype import denoise as run
    from phylo_vi.genotype import is_conflict_free
    from phylo_vi.genotype.denoise import load_network
    from phylo_vi.genotype.formats import read_genotype, write_sc
    from phylo_vi.genotype.repair import DEFAULT_CLONE_PENALTY

    seed = resolve_seed(seed)
    data = read_genotype(matrix, fmt)
    network = False if no_network else (load_network(weights) if weights else True)
    start = time.perf_counter()
    result = run(data.values, fp, fn, network=network, decoding=decoding, n_candidates=candidates,
                 clone_penalty=DEFAULT_CLONE_PENALTY if clone_penalty is None else clone_penalty, seed=seed)
    seconds = time.perf_counter() - start
    if out is not None:
        write_sc(data.with_values(result.matrix), out)
    document = {
        "file": str(matrix), "seed": seed, "fp": fp, "fn": fn, "out": None if out is None else str(out),
        "n_flips_total": int((result.matrix != (data.values % 3)).sum()),
        "network_flips": result.n_network_flips, "network_conflicting_pairs": result.network_conflicts,
        "repair_changes": result.n_repair_changes, "n_clones": result.n_clones,
        "log_likelihood": result.log_likelihood, "conflict_free": is_conflict_free(result.matrix),
        "seconds": seconds, "seconds_network": result.seconds_network, "seconds_repair": result.seconds_repair,
    }
    emit_document(document, as_json)


@genotype.command()
@click.argument("matrix", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_rates
@format_option
@click.option("--max-clones", type=click.IntRange(min=2), default=20, show_default=True)
@click.option("--estimator", default="unordered-set", show_default=True, help="Discrete gradient estimator "
              "(reinforce, reinforce-loo, sum-and-sample, unordered-set, vimco, rws, gumbel-softmax, straight-through, exact).")
@click.option("--samples", type=click.IntRange(min=1), default=4, show_default=True, help="Decoder evaluations per cell.")
@click.option("--steps", type=click.IntRange(min=0), default=1500, show_default=True)
@click.option("-o", "--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the implied genotype matrix (each cell gets its clone's genotype).")
@click.option("--assignments", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the cell-to-clone table (TSV).")
@seed_option
@threads_option
@quiet_option
@json_option
def clones(matrix: Path, fp: float, fn: float, fmt: str, max_clones: int, estimator: str, samples: int, steps: int,
           out: Path | None, assignments: Path | None, seed: int | None, threads: int, quiet: bool, as_json: bool) -> None:
    """Clone assignment of the cells of MATRIX by the clonal-genotype VAE (phylo_vi.vi.vae.clonal)."""
    import torch

    from phylo_vi.vi.vae.clonal_report import run_clones

    torch.set_num_threads(threads)
    emit_document(run_clones(matrix, fmt, fp, fn, max_clones=max_clones, estimator=estimator, n_samples=samples,
                             n_steps=steps, seed=resolve_seed(seed), out=out, assignments_out=assignments,
                             progress=not quiet and sys.stderr.isatty()), as_json)


@genotype.command()
@click.option("--model", type=click.Choice(["clonal", "coalescent"]), default="clonal", show_default=True)
@click.option("--cells", type=click.IntRange(min=2), default=100, show_default=True)
@click.option("--mutations", type=click.IntRange(min=1), default=100, show_default=True)
@click.option("--clones", type=click.IntRange(min=2), default=10, show_default=True, help="Clonal model only.")
@click.option("--linear", is_flag=True, help="Clonal model: a chain of clones.")
@click.option("--fp", type=float, default=1e-4, show_default=True)
@click.option("--fn", type=float, default=0.1, show_default=True)
@click.option("--missing", type=float, default=0.0, show_default=True, help="Missing-entry rate.")
@click.option("-o", "--out", "out_prefix", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Writes PREFIX.SC (noisy) and PREFIX.ground.CFMatrix (truth).")
@seed_option
@json_option
def simulate(model: str, cells: int, mutations: int, clones: int, linear: bool, fp: float, fn: float,
             missing: float, out_prefix: Path, seed: int | None, as_json: bool) -> None:
    """Simulate a noise-free tumour matrix and its noisy observation."""
    import numpy as np

    from phylo_vi.genotype.formats import write_sc
    from phylo_vi.genotype.matrix import GenotypeMatrix
    from phylo_vi.genotype.simulate import add_noise, simulate_clonal, simulate_coalescent

    seed = resolve_seed(seed)
    rng = np.random.default_rng(seed)
    truth = (simulate_clonal(cells, mutations, clones, linear=linear, random_state=rng) if model == "clonal"
             else simulate_coalescent(cells, mutations, random_state=rng))
    observed = add_noise(truth, fp, fn, missing, random_state=rng)
    noisy_path = Path(f"{out_prefix}.SC")
    truth_path = Path(f"{out_prefix}.ground.CFMatrix")
    write_sc(GenotypeMatrix(observed), noisy_path)
    write_sc(GenotypeMatrix(truth), truth_path)
    document = {"seed": seed, "model": model, "noisy": str(noisy_path), "truth": str(truth_path),
                "entry_noise": float(np.mean(np.where(observed == 3, truth, observed) != truth))}
    if as_json:
        emit_json(document)
    else:
        click.echo(f"wrote {noisy_path} and {truth_path} (seed {seed})")


@genotype.command()
@click.option("--truth", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True)
@click.option("--pred", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True)
@format_option
@json_option
def evaluate(truth: Path, pred: Path, fmt: str, as_json: bool) -> None:
    """Entry error, ancestor-descendant and different-lineage accuracy (HUNTRESS definitions)."""
    from phylo_vi.errors import PhyloVIError
    from phylo_vi.genotype.formats import read_genotype
    from phylo_vi.genotype.metrics import evaluate as score

    t = read_genotype(truth, fmt)
    p = read_genotype(pred, fmt)
    if t.mutation_names != p.mutation_names and sorted(t.mutation_names) == sorted(p.mutation_names):
        p = p.with_values(p.values[:, [p.mutation_names.index(name) for name in t.mutation_names]])
    if (p.values == 3).any() or (t.values == 3).any():
        raise PhyloVIError("evaluate needs complete 0/1 matrices (no missing entries)")
    document = {"truth": str(truth), "pred": str(pred), **score(t.values, p.values).as_dict()}
    emit_document(document, as_json)


@genotype.command()
@click.option("--task", type=click.Choice(["pointer", "noise", "branching"]), default="pointer", show_default=True)
@click.option("-o", "--out", "out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Pointer: weights file (.pt). Classifiers: JSON report of the comparison with the exact check.")
@click.option("--supervised-steps", type=click.IntRange(min=0), default=300, show_default=True)
@click.option("--policy-steps", type=click.IntRange(min=0), default=60, show_default=True)
@click.option("--batch-size", type=click.IntRange(min=2), default=16, show_default=True, help="Pointer network.")
@click.option("--n-train", type=click.IntRange(min=10), default=1000, show_default=True, help="Classifiers.")
@click.option("--size", type=click.IntRange(min=3), default=10, show_default=True, help="Classifier matrix size.")
@seed_option
@threads_option
@quiet_option
@json_option
def train(task: str, out: Path, supervised_steps: int, policy_steps: int, batch_size: int, n_train: int, size: int,
          seed: int | None, threads: int, quiet: bool, as_json: bool) -> None:
    """Retrain the pointer network (weights) or a classifier (reported next to the exact check)."""
    import torch

    torch.set_num_threads(threads)
    seed = resolve_seed(seed)
    if task == "pointer":
        from tqdm import tqdm

        from phylo_vi.genotype.denoise import save_network
        from phylo_vi.genotype.training import train_pointer_network

        bar = tqdm(total=supervised_steps + policy_steps, disable=quiet or not sys.stderr.isatty(), file=sys.stderr)
        net, history = train_pointer_network(n_supervised=supervised_steps, n_policy=policy_steps,
                                             batch_size=batch_size, seed=seed,
                                             progress=lambda phase, step, value: bar.update(1))
        bar.close()
        save_network(net, out)
        document = {"task": task, "seed": seed, "out": str(out), "seconds": history.seconds,
                    "final_supervised_loss": history.supervised_loss[-1] if history.supervised_loss else None,
                    "final_policy_reward": history.policy_reward[-1] if history.policy_reward else None}
    else:
        from phylo_vi.genotype.classifiers import (MatrixClassifier, branching_dataset, compare_with_exact,
                                                   noise_dataset)

        if task == "noise":
            x, y = noise_dataset(n_train, size, size, model="clonal", random_state=seed)
            xt, yt = noise_dataset(max(n_train // 4, 10), size, size, model="clonal", random_state=seed + 1)
        else:
            x, y, _ = branching_dataset(n_train, size, size, n_clones=max(2, size // 3), random_state=seed)
            xt, yt, _ = branching_dataset(max(n_train // 4, 10), size, size, n_clones=max(2, size // 3),
                                          random_state=seed + 1)
        classifier = MatrixClassifier(task=task, random_state=seed).fit(x, y)
        document = {"seed": seed, **compare_with_exact(classifier, xt, yt).as_dict()}
        write_json(out, document)
    if as_json:
        emit_json(document)
    else:
        click.echo(" ".join(f"{k}={v}" for k, v in document.items()))
