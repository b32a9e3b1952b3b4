"""``phylo-vi likelihood --optimize`` and ``--models``: maximum likelihood on one fixed topology."""
from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

import click

from phylo_vi.cli.common import emit_json, planned_outputs, writing
from phylo_vi.io.newick import format_newick


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def fit_document(fit, errors: tuple | None = None) -> dict[str, Any]:
    """One fit as a JSON-ready dictionary (standard errors when ``errors`` is given)."""
    document: dict[str, Any] = {
        "model_input": fit.specification.text, "model": fit.model_string, "log_likelihood": fit.log_likelihood,
        "n_parameters": fit.n_parameters, "n_sites": fit.n_sites, **fit.criteria, "parameters": fit.parameters,
        "tree": format_newick(fit.tree), "seconds": fit.seconds, "n_rounds": fit.n_rounds,
        "n_evaluations": fit.n_evaluations, "max_gradient": fit.max_gradient,
    }
    if errors is not None:
        branch_errors, model_errors = errors
        labels = fit.likelihood.clade_labels()
        document["standard_errors"] = {name: _finite(value) for name, value in model_errors.items()}
        document["branch_lengths"] = {label: {"length": float(length), "standard_error": _finite(float(error))}
                                      for label, length, error in zip(labels, fit.branch_lengths, branch_errors)}
    return document


def _table(fits) -> list[str]:
    best = fits[0].criteria["BIC"]
    lines = [f"{'model':<14} {'log L':>14} {'k':>4} {'AIC':>12} {'AICc':>12} {'BIC':>12} {'dBIC':>8}  fitted"]
    for fit in fits:
        c = fit.criteria
        lines.append(f"{fit.specification.text:<14} {fit.log_likelihood:>14.4f} {fit.n_parameters:>4d} "
                     f"{c['AIC']:>12.4f} {c['AICc']:>12.4f} {c['BIC']:>12.4f} {c['BIC'] - best:>8.3f}  "
                     f"{fit.model_string}")
    return lines


def _human(document: dict[str, Any]) -> list[str]:
    lines = [f"log_likelihood: {document['log_likelihood']!r}", f"model: {document['model']}",
             f"n_parameters: {document['n_parameters']}"]
    lines += [f"{key}: {document[key]:.4f}" for key in ("AIC", "AICc", "BIC")]
    errors = document.get("standard_errors", {})
    for name, value in document["parameters"].items():
        error = errors.get(name)
        lines.append(f"  {name}: {value:.6g}" + ("" if error is None else f" (se {error:.3g})"))
    lines.append(f"tree: {document['tree']}")
    return lines


def fit_command(alignment: Path, tree_file: Path, model_string: str, model_list: str | None, median_gamma: bool,
                standard_errors: bool, out_prefix: Path | None, threads: int, as_json: bool, quiet: bool) -> None:
    """Run ``--optimize`` (one model) or ``--models`` (several, ranked by BIC) on the one tree of TREE."""
    from tqdm import tqdm

    from phylo_vi.io import read_alignment
    from phylo_vi.errors import PhyloVIError, TaxonMismatchError
    from phylo_vi.io.trees import read_trees
    from phylo_vi.likelihood.model_selection import compare_models

    outputs = None
    if out_prefix is not None:
        outputs = planned_outputs({"tree": Path(f"{out_prefix}.treefile"), "json": Path(f"{out_prefix}.json")},
                                  [alignment, tree_file])
    patterns = read_alignment(alignment).site_patterns()
    trees = list(read_trees(tree_file, burnin=0.0))
    if len(trees) != 1:
        raise PhyloVIError(f"{tree_file}: --optimize and --models fit one tree, the file holds {len(trees)}")
    tree = trees[0]
    models = [m.strip() for m in model_list.split(",") if m.strip()] if model_list is not None else [model_string]
    if not models:
        raise click.UsageError("--models needs at least one model, e.g. --models JC,HKY+G4,GTR+G4")
    show = not quiet and sys.stderr.isatty()
    try:
        patterns = patterns.match_taxa(tree.taxa)
    except TaxonMismatchError as exc:
        raise TaxonMismatchError(f"{tree_file} and {alignment}: {exc}") from None
    with tqdm(total=len(models), unit="model", file=sys.stderr, leave=False, disable=not show or len(models) == 1,
              desc="models") as bar:
        fits = compare_models(patterns, tree, models, n_threads=threads, gamma_median=median_gamma,
                              progress=show, on_fit=lambda fit: bar.update(1))
    documents = [fit_document(fit, fit.standard_errors() if standard_errors else None) for fit in fits]
    if model_list is None:
        document = {"alignment": str(alignment), "tree_file": str(tree_file), **documents[0]}
    else:
        document = {"alignment": str(alignment), "tree_file": str(tree_file), "criterion": "BIC",
                    "best_model": fits[0].model_string, "models": documents}
    if outputs is not None:
        with writing(outputs, quiet) as staged:
            staged["tree"].write_text(format_newick(fits[0].tree) + "\n")
            staged["json"].write_text(json.dumps(document, indent=2, allow_nan=True) + "\n")
    if as_json:
        emit_json(document)
    elif model_list is None:
        click.echo("\n".join(_human(documents[0])))
    else:
        click.echo("\n".join(_table(fits)))
