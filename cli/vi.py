"""``phylo-vi vi``: variational-inference tools (estimator comparison report)."""
from __future__ import annotations

import sys

import click

from phylo_vi.cli.common import emit_json, json_option, out_option, quiet_option, resolve_seed, seed_option

PROBLEM_CHOICES = ("bernoulli", "bernoulli-eta-4", "categorical", "vae-digits", "all")


@click.group("vi")
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
@click.option("--device", default="cpu", show_default=True, help="Torch device, e.g. cpu or cuda.")
@click.option("--dtype", type=click.Choice(["float64", "float32"]), default="float64", show_default=True)
@out_option
@json_option
@seed_option
@quiet_option
def compare_estimators_command(problems, n_evaluations, n_repeats, estimators, device, dtype, out_prefix, as_json, seed, quiet):
    """Bias, variance and time of every discrete gradient estimator on toy problems.

    Writes PREFIX.tsv and PREFIX.html (table and plots) with -o; prints one JSON document with
    --json; otherwise prints the table.
    """
    import torch
    from tqdm import tqdm

    from phylo_vi.errors import ModelSpecificationError
    from phylo_vi.vi.estimator_comparison import ESTIMATORS, PROBLEMS, compare_estimators

    seed = resolve_seed(seed)
    if "vae-digits" in problems:   # categorical VAE trained on binarised digits (phylo_vi.vi.vae.comparison)
        from phylo_vi.vi.vae.comparison import vae_digits_command
        click.echo(vae_digits_command(problems, n_evaluations=n_evaluations, estimators=estimators, device=device,
                                      dtype=dtype, out_prefix=out_prefix, as_json=as_json, seed=seed,
                                      show_progress=not quiet and sys.stderr.isatty()))
        return
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ModelSpecificationError(f"--device {device} requested but CUDA is not available")
    names = list(PROBLEMS) if "all" in problems else list(dict.fromkeys(problems))
    show = not quiet and sys.stderr.isatty()
    chosen = list(dict.fromkeys(estimators)) or list(ESTIMATORS)
    with tqdm(total=len(names) * len(chosen), disable=not show, file=sys.stderr, desc="estimators") as bar:
        documents = [compare_estimators(name, n_evaluations=n_evaluations, n_repeats=n_repeats, estimators=chosen,
                                        device=device, dtype=getattr(torch, dtype), seed=seed,
                                        on_estimator_done=lambda _: bar.update())
                     for name in names]
    report = {"seed": seed, "device": device, "dtype": dtype, "n_evaluations": n_evaluations,
              "n_repeats": n_repeats, "problems": documents}
    if out_prefix is not None:
        _write_outputs(out_prefix, report)
    if as_json:
        emit_json(report)
    elif out_prefix is None:
        click.echo(_text_table(report))


HEADER = ("problem", "estimator", "bias", "variance", "standard_error", "time_per_estimate_s",
          "mean_gradient", "exact_gradient")


def _rows(report: dict) -> list[list]:
    return [[doc["problem"], est["name"], est["bias"], est["variance"], est["standard_error"],
             est["time_per_estimate_s"], " ".join(f"{g:.6g}" for g in est["mean_gradient"]),
             " ".join(f"{g:.6g}" for g in doc["exact_gradient"])]
            for doc in report["problems"] for est in doc["estimators"]]


def _text_table(report: dict) -> str:
    lines = ["| " + " | ".join(HEADER[:6]) + " |", "|" + "---|" * 6]
    for row in _rows(report):
        lines.append("| " + " | ".join(f"{v:.4g}" if isinstance(v, float) else str(v) for v in row[:6]) + " |")
    return "\n".join(lines)


def _write_outputs(prefix, report: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from phylo_vi.report import HtmlReport, write_tsv

    write_tsv(f"{prefix}.tsv", HEADER, _rows(report))
    html = HtmlReport("Discrete gradient estimators: bias, variance and time")
    html.paragraph(f"seed {report['seed']}, device {report['device']}, dtype {report['dtype']}, "
                   f"{report['n_evaluations']} cost evaluations per estimate, {report['n_repeats']} estimates "
                   "per estimator.", css_class="meta")
    for doc in report["problems"]:
        html.heading(f"Problem: {doc['problem']}")
        html.paragraph("Exact gradient: " + ", ".join(f"{g:.6g}" for g in doc["exact_gradient"]))
        html.table(HEADER[1:6], [row[1:6] for row in _rows({"problems": [doc]})])
        names = [est["name"] for est in doc["estimators"]]
        figure, axes = plt.subplots(1, 3, figsize=(13, 3.6))
        for axis, key, label in zip(axes, ("bias", "variance", "time_per_estimate_s"),
                                    ("bias ||mean - exact||", "total variance", "seconds per estimate")):
            axis.bar(names, [max(est[key], 1e-300) for est in doc["estimators"]], color="#4477aa")
            axis.set_yscale("log")
            axis.set_title(label)
            axis.tick_params(axis="x", rotation=45)
        if doc["estimators"]:
            se = [est["standard_error"] for est in doc["estimators"]]
            axes[0].plot(names, [3 * s for s in se], "k_", markersize=18, label="3 standard errors")
            axes[0].legend(fontsize=8)
        html.figure(figure, caption=f"{doc['problem']}: bias (with the 3-standard-error noise floor), "
                                    "variance and time per estimate")
    html.write(f"{prefix}.html")
