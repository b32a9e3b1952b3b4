"""``phylo-vi vi``: variational-inference tools (estimator comparison report)."""
from __future__ import annotations

import sys

import click

from phylo_vi.cli.common import (DeviceType, emit_json, json_option, out_option_for, planned_outputs, quiet_option,
                                 resolve_seed, seed_option, writing)

PROBLEM_CHOICES = ("bernoulli", "bernoulli-eta-4", "categorical", "vae-digits", "all")


@click.group("vi", context_settings={"help_option_names": ["-h", "--help"]})
def vi() -> None:
    """Variational-inference core: gradient-estimator diagnostics."""


@vi.command("compare-estimators")
@click.option("--problem", "problems", type=click.Choice(PROBLEM_CHOICES), multiple=True, default=("bernoulli",),
              show_default=True, help="Toy problem(s) with an exact gradient; repeat the option or use 'all'.")
@click.option("--n-evaluations", "-k", type=click.IntRange(min=1), default=4, show_default=True,
              help="Cost evaluations per gradient estimate, the same for every estimator.")
@click.option("--n-repeats", type=click.IntRange(min=2), default=5000, show_default=True,
              help="Independent gradient estimates per estimator.")
@click.option("--estimator", "estimators", multiple=True, default=(), show_default="all",
              help="Estimator(s) to run (repeat the option); default: every discrete estimator.")
@click.option("--device", type=DeviceType(), default="cpu", show_default=True,
              help="Torch device: cpu, cuda, cuda:N or mps.")
@click.option("--dtype", type=click.Choice(["float64", "float32"]), default="float64", show_default=True)
@out_option_for("Output prefix: writes PREFIX.tsv and PREFIX.html (table and plots); with --problem vae-digits "
                "also PREFIX.json.")
@json_option
@seed_option
@quiet_option
def compare_estimators_command(problems, n_evaluations, n_repeats, estimators, device, dtype, out_prefix, as_json,
                               seed, quiet):
    """Bias, variance and time of every discrete gradient estimator on toy problems.

    Writes PREFIX.tsv and PREFIX.html (table and plots) with -o; prints one JSON document with
    --json, otherwise the table. ``--problem vae-digits`` instead trains a categorical-latent VAE
    on binarised 8x8 digits with every estimator at the same number of decoder evaluations
    (needs scikit-learn: ``pip install phylo_vi[benchmarks]``).
    """
    import torch
    from tqdm import tqdm

    from phylo_vi.vi.comparison_report import markdown_table, report_paths, write_comparison_report
    from phylo_vi.vi.estimator_comparison import ESTIMATORS, PROBLEMS, compare_on_problems
    from phylo_vi.vi.vae.comparison import digits_report_paths

    paths = digits_report_paths if "vae-digits" in problems else report_paths
    outputs = None if out_prefix is None else planned_outputs(paths(out_prefix))  # before the seed is drawn
    seed = resolve_seed(seed)
    if "vae-digits" in problems:
        _compare_on_digits(problems, n_evaluations, estimators, device, dtype, outputs, as_json, seed, quiet)
        return
    chosen = list(dict.fromkeys(estimators)) or list(ESTIMATORS)
    n_problems = len(PROBLEMS) if "all" in problems else len(set(problems))
    with tqdm(total=n_problems * len(chosen), disable=quiet or not sys.stderr.isatty(), file=sys.stderr,
              desc="estimators") as bar:
        report = compare_on_problems(list(problems), n_evaluations=n_evaluations, n_repeats=n_repeats,
                                     estimators=chosen, device=device, dtype=getattr(torch, dtype),
                                     random_state=seed, on_estimator_done=lambda _: bar.update())
    if outputs is not None:
        with writing(outputs, quiet) as staged:
            write_comparison_report(report, staged)
    if as_json:
        emit_json(report)
    else:
        click.echo(markdown_table(report))


def _compare_on_digits(problems, n_evaluations, estimators, device, dtype, outputs, as_json, seed, quiet) -> None:
    import torch

    from phylo_vi.vi.vae.comparison import compare_on_digits, digits_markdown_table, write_vae_digits_report

    document = compare_on_digits(problems, n_evaluations=n_evaluations, estimators=estimators, device=device,
                                 dtype=getattr(torch, dtype), random_state=seed,
                                 show_progress=not quiet and sys.stderr.isatty())
    if outputs is not None:
        with writing(outputs, quiet) as staged:
            write_vae_digits_report(staged, document)
    if as_json:
        emit_json(document)
    else:
        click.echo(digits_markdown_table(document))
