"""HTML report of one ``genotype denoise`` run: rates, counts, the mutation tree (plot) and its clones."""
from __future__ import annotations

from pathlib import Path

from phylo_vi.genotype.mutation_tree import MutationTree, node_label, plot_tree
from phylo_vi.report.html import HtmlReport


def write_denoise_report(path: str | Path, source: str, summary: dict, tree: MutationTree) -> Path:
    """One self-contained HTML file: the run's ``summary`` (a flat dict), the tree plot and the clone table."""
    report = HtmlReport(f"genotype denoise: {Path(source).name}")
    report.paragraph(f"input: {source}", css_class="meta")
    estimated = summary.get("rates_estimated")
    report.heading("Error rates")
    how = ("estimated jointly with the matrix (classification EM over the repair, "
           f"{estimated['n_iterations']} iterations, converged: {estimated['converged']})") if estimated else "given"
    report.paragraph(f"Rates {how}.")
    rows = [["false positive (alpha)", summary["fp"]], ["false negative (beta)", summary["fn"]]]
    if estimated:
        rows += [["missing", estimated["missing"]], ["doublet", estimated["doublet"]]]
    report.table(["rate", "value"], rows)
    report.heading("Result")
    keys = ("n_flips_total", "n_clones", "n_doublets", "log_likelihood", "conflict_free", "seconds")
    report.table(["quantity", "value"], [[key, summary[key]] for key in keys if key in summary])
    report.heading("Mutation tree")
    report.figure(plot_tree(tree), caption="Mutation tree; node area ~ number of cells placed on the node.")
    report.table(["node", "parent", "mutations", "cells"],
                 [[v, int(p), node_label(tree, v), len(tree.cells[v])] for v, p in enumerate(tree.parent)])
    return report.write(path)
