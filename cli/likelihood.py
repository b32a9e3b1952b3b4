"""``phylo-vi likelihood``: log-likelihood (and branch gradients) of trees for an alignment."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from phylo_vi.cli.common import emit_json, json_option, threads_option


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("alignment", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("tree_file", metavar="TREE", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--model", "-m", "model_string", default="JC", show_default=True,
              help="IQ-TREE model string with fixed parameters, e.g. 'GTR{1,2,1,1,2}+F+G4{0.5}'.")
@click.option("--gradient", is_flag=True, help="Also report d log L / d(branch length), keyed by the clade below.")
@click.option("--median-gamma", is_flag=True, help="+G category rates from quantile medians instead of means.")
@threads_option
@json_option
def likelihood(alignment: Path, tree_file: Path, model_string: str, gradient: bool, median_gamma: bool,
               threads: int, as_json: bool) -> None:
    """Log-likelihood of every tree in TREE (Newick, NEXUS, MrBayes, BEAST) for ALIGNMENT."""
    from phylo_vi.io import read_alignment
    from phylo_vi.io.trees import read_trees
    from phylo_vi.likelihood import TreeLikelihood, parse_model

    model = parse_model(model_string, gamma_median=median_gamma)
    patterns = read_alignment(alignment).site_patterns()
    results: list[dict[str, Any]] = []
    resolved = None
    for index, tree in enumerate(read_trees(tree_file, burnin=0.0)):
        engine = TreeLikelihood(patterns, tree, model, threads=threads)
        resolved = engine.model
        entry: dict[str, Any] = {"tree": tree.name or str(index + 1)}
        if gradient:
            value, grad = engine.gradient()
            entry["log_likelihood"] = value
            entry["gradient"] = dict(zip(engine.clade_labels(), grad.tolist()))
        else:
            entry["log_likelihood"] = engine.log_likelihood()
        results.append(entry)
    document: dict[str, Any] = {
        "alignment": str(alignment), "tree_file": str(tree_file), "model_name": resolved.name,
        "model": resolved.to_iqtree(),
        "n_sites": patterns.n_sites, "n_patterns": patterns.n_patterns, "n_trees": len(results),
    }
    if len(results) == 1:
        document.update({key: value for key, value in results[0].items() if key != "tree"})
    else:
        document["trees"] = results
    if as_json:
        emit_json(document)
        return
    for entry in results:
        prefix = f"{entry['tree']}\t" if len(results) > 1 else ""
        click.echo(f"{prefix}{entry['log_likelihood']!r}")
        for clade, value in entry.get("gradient", {}).items():
            click.echo(f"  {clade}\t{value!r}")
