"""``phylo-vi likelihood``: log-likelihood (and branch gradients) of trees for an alignment."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from phylo_vi.cli.common import (emit_json, json_option, out_option_for, planned_outputs, quiet_option,
                                 threads_option)


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("alignment", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("tree_file", metavar="TREE", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--model", "-m", "model_string", default="JC", show_default=True,
              help="IQ-TREE model string with fixed parameters, e.g. 'GTR{1,2,1,1,2}+F+G4{0.5}' (JC = JC69, "
                   "K80 = K2P, HKY = HKY85, TN = TN93 = TrN).")
@click.option("--gradient", is_flag=True, help="Also report d log L / d(branch length), keyed by the clade below.")
@click.option("--median-gamma", is_flag=True, help="+G category rates from quantile medians instead of means.")
@click.option("--optimize", is_flag=True,
              help="Maximum-likelihood branch lengths and model parameters on the (single) tree; parameters "
                   "without values in --model are estimated (IQ-TREE's convention, e.g. 'HKY+I+G4').")
@click.option("--models", "model_list", default=None, metavar="M1,M2,...",
              help="Fit each model as --optimize does and rank them by BIC.")
@click.option("--standard-errors", is_flag=True,
              help="With --optimize: standard errors from the observed information (2(B + free) gradients).")
@out_option_for("With --optimize/--models: write PREFIX.treefile (ML tree, Newick) and PREFIX.json.")
@threads_option
@json_option
@quiet_option
def likelihood(alignment: Path, tree_file: Path, model_string: str, gradient: bool, median_gamma: bool,
               optimize: bool, model_list: str | None, standard_errors: bool, out_prefix: Path | None,
               threads: int, as_json: bool, quiet: bool) -> None:
    """Log-likelihood of every tree in TREE (Newick, NEXUS, MrBayes, BEAST) for ALIGNMENT.

    Writes no file unless -o. --json prints one document whose "trees" list has one entry per
    tree (tree, log_likelihood and, with --gradient, gradient), for one tree as for many. With
    --optimize or --models the document describes the fit(s) instead (see README).
    """
    if optimize or model_list is not None:
        from phylo_vi.cli.likelihood_fit import fit_command

        fit_command(alignment, tree_file, model_string, model_list, median_gamma, standard_errors, out_prefix,
                    threads, as_json, quiet)
        return
    if standard_errors or out_prefix is not None:
        raise click.UsageError("--standard-errors and -o go with --optimize or --models")
    from tqdm import tqdm

    from phylo_vi.io import read_alignment
    from phylo_vi.errors import TaxonMismatchError, TreeFormatError
    from phylo_vi.io.trees import read_trees
    from phylo_vi.likelihood import TreeLikelihood, parse_model

    model = parse_model(model_string, gamma_median=median_gamma)
    patterns = read_alignment(alignment).site_patterns()
    sample = read_trees(tree_file, burnin=0.0)
    for _ in sample.batches():
        # the reader checks every tree's taxa against the first tree's (naming the line): done before
        # any tree meets the alignment, whose taxa are matched to the namespace that all trees fill
        pass
    results: list[dict[str, Any]] = []
    resolved = None
    with tqdm(total=len(sample), unit="tree", file=sys.stderr, leave=False,
              disable=quiet or not sys.stderr.isatty(), desc="likelihood") as bar:
        located = ((int(line), tree) for batch in sample.batches() for line, tree in zip(batch.lines, batch))
        for index, (line, tree) in enumerate(located):
            try:
                engine = TreeLikelihood(patterns, tree, model, n_threads=threads)
            except TaxonMismatchError as exc:
                raise TaxonMismatchError(f"{tree_file} and {exc}") from None
            resolved = engine.model
            entry: dict[str, Any] = {"tree": tree.name or str(index + 1)}
            try:
                if gradient:
                    value, grad = engine.gradient()
                    entry["log_likelihood"] = value
                    entry["gradient"] = dict(zip(engine.clade_labels(), grad.tolist()))
                else:
                    entry["log_likelihood"] = engine.log_likelihood()
            except TreeFormatError as exc:
                raise TreeFormatError(f"tree {index + 1}: {exc.message}", tree_file, line) from None
            results.append(entry)
            bar.update(1)
    if as_json:
        emit_json({"alignment": str(alignment), "tree_file": str(tree_file), "model_name": resolved.name,
                   "model": resolved.to_iqtree(), "n_sites": patterns.n_sites, "n_patterns": patterns.n_patterns,
                   "n_trees": len(results), "trees": results})
        return
    for entry in results:
        prefix = f"{entry['tree']}\t" if len(results) > 1 else ""
        click.echo(f"{prefix}{entry['log_likelihood']!r}")
        for clade, value in entry.get("gradient", {}).items():
            click.echo(f"  {clade}\t{value!r}")
