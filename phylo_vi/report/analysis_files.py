"""The report folder of ``phylo-vi analyze``: one HTML page, JSON, TSV tables and tree files.

========================  ==========================================================
file                      content
========================  ==========================================================
``report.html``           self-contained page (plots as base64 PNG): verdict first
``analysis.json``         :meth:`Analysis.to_json`
``<table>.tsv``           runs, parameters, splits, topologies (the 1,000 most probable),
                          topological_ess, asdsf_generations, bayes_factors (full precision)
``<base>.pstat``          MrBayes ``sump`` table (``--mb-compat``: its NA writer quirk)
``<base>.parts/.tstat/``  MrBayes ``sumt`` files, byte-identical to MrBayes 3.2.7a's
``.vstat/.con.tre``       (without the random ``[ID: …]`` stamp)
``consensus.nwk``         the consensus with taxon names, probabilities, median lengths
``map.nwk``, ``mcc.nwk``  most frequent topology; maximum clade credibility tree
========================  ==========================================================
"""
from __future__ import annotations

import html
import json
import math
from pathlib import Path

from phylo_vi.report.html import HtmlReport
from phylo_vi.report.tables import write_tsv
from phylo_vi.util.atomic import atomic_write
from phylo_vi.io.newick import format_newick

TOPOLOGIES_SHOWN = 15


def _write_text(path: Path, text: str) -> Path:
    with atomic_write(path) as handle:
        handle.write(text)
    return path


_PAGE_STYLE = ("<style>td.bad { background: #fdecea; color: #a50e0e; font-weight: bold; } "
               "td.newick { text-align: left; font-family: monospace; font-size: 0.85em; }</style>")


class _AnalysisPage(HtmlReport):
    """:class:`HtmlReport` with a verdict banner and tables that mark cells."""

    def marked_table(self, header: list[str], rows: list[list[str]], classes: list[list[str]]) -> None:
        """A table whose cell ``[i][j]`` gets the CSS class ``classes[i][j]`` (``bad``, ``newick`` or "")."""
        head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
        body = "".join("<tr>" + "".join(f'<td class="{c}">{html.escape(v)}</td>' if c else f"<td>{html.escape(v)}</td>"
                                        for v, c in zip(row, marks)) + "</tr>" for row, marks in zip(rows, classes))
        self._parts.append(f"{_PAGE_STYLE}<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")

    def verdict(self, converged: bool, line: str, details: list[str]) -> None:
        colour = "#e6f4ea; border-color: #34a853" if converged else "#fdecea; border-color: #d93025"
        items = "".join(f"<li>{html.escape(d)}</li>" for d in details)
        self._parts.append(f'<div style="background: {colour}; border: 2px solid; padding: 0.6em 1em; '
                           f'font-size: 1.1em"><strong>{html.escape(line.split(":")[0])}</strong>'
                           f"<ul>{items}</ul></div>")


def _number(value) -> str:
    if isinstance(value, float):
        return "NA" if math.isnan(value) else f"{value:.4g}"
    return str(value)


def _agreement(rank: int, z: float, consistent: bool) -> str:
    return "—" if rank == 1 else "n/a" if math.isnan(z) else "yes" if consistent else "NO"


def _parameter_mark(column: str, value, settings: dict) -> str:
    """``bad`` for an ESS below or a PSRF / R-hat above the verdict thresholds."""
    if not isinstance(value, float) or math.isnan(value):
        return ""
    if column in ("min_ess", "ess_bulk", "ess_tail") and value < settings["min_ess"]:
        return "bad"
    if column in ("psrf_mrbayes", "psrf", "rhat_rank") and value > settings["max_psrf"]:
        return "bad"
    return ""


def build_page(analysis) -> HtmlReport:
    """The HTML page of ``analysis`` (sections in the order a reader needs them)."""
    page = _AnalysisPage(f"phylo-vi analyze: {analysis.runs.basename}")
    verdict = analysis.verdict
    page.verdict(verdict.converged, verdict.line(), [check.describe() for check in verdict.checks])
    for note in analysis.notes:
        page.paragraph("Note: " + note, "meta")
    figures = analysis.render_figures()
    tables = analysis.tables()
    page.heading("Runs and burn-in")
    header, rows = tables["runs"]
    page.table(header, [[Path(v).name if column in (1, 2) and v else v for column, v in enumerate(row)]
                        for row in rows])
    s = analysis.settings
    page.paragraph(f"Burn-in: {'the first %d samples' % s['n_burnin'] if s['n_burnin'] is not None else 'int(%g × n) samples' % s['burnin']} "
                   "of each run (MrBayes relburnin convention).", "meta")
    if analysis.parameter_rows:
        page.heading("Parameters")
        page.paragraph("Mean, variance, 95% HPD (lower, upper), median, min/avg ESS and psrf_mrbayes follow MrBayes "
                       "3.2.7a sump (equal to its .pstat); psrf is the textbook Gelman-Rubin value (sump 3.2.7a "
                       "accumulates the within-run sum of squares); ess_bulk, ess_tail and rhat_rank are ArviZ's "
                       "rank-normalised diagnostics (Vehtari et al. 2021).", "meta")
        header, rows = tables["parameters"]
        page.marked_table(header, [[_number(v) for v in row] for row in rows],
                          [[_parameter_mark(name, value, s) for name, value in zip(header, row)] for row in rows])
        if "tracer" in tables:
            page.heading("Tracer conventions", 3)
            page.paragraph("As Tracer (BEAST trace.jar) shows the runs combined: post-burn-in values concatenated "
                           "into one chain (ESS and standard error of the mean of that chain, MrBayes' autocorrelation "
                           "estimator), the lower median, and Tracer's 95% HPD (the shortest of Math.round(0.95 n) "
                           "sorted values). The burn-in is the one above (Tracer's own default is 10% of the states).",
                           "meta")
            header, rows = tables["tracer"]
            page.table(header, [[_number(v) for v in row] for row in rows])
        page.heading("Traces (burn-in shaded)", 3)
        page.image(figures["traces"])
        page.heading("Posterior densities after burn-in (dashed: 95% HPD)", 3)
        page.image(figures["densities"])
    if analysis.partitions is not None:
        page.heading("Tree-space convergence")
        ess = ", ".join(f"{analysis.run_info[i].name}: "
                        + ("n/a (fewer than 120 trees)" if e is None else f"{'<' if e.upper_bound else '≈'} {e.ess:.1f}")
                        for i, e in enumerate(analysis.topological_ess))
        page.paragraph(f"ASDSF (MrBayes convention) {_number(analysis.asdsf)}, maximum SDSF "
                       f"{_number(analysis.max_sdsf)}; approximate topological ESS (Lanfear et al. 2016, RF "
                       f"distance): {ess}.")
        for name, caption in (("asdsf", "ASDSF of cumulative split frequencies over generations"),
                              ("split_frequencies", "Split frequencies of the most variable splits"),
                              ("split_scatter", "Split frequencies: run against run"),
                              ("topological_ess", "Topological autocorrelation (approximate ESS)")):
            if name in figures:
                page.heading(caption, 3)
                page.image(figures[name])
        page.heading("Consensus tree")
        kind = ("majority-rule" if s["min_clade_freq"] == 0.5 else
                f"extended majority-rule (clades ≥ {s['min_clade_freq']:g})")
        page.paragraph(f"MrBayes-style {kind} consensus: clade probabilities in red, median branch lengths.")
        page.image(figures["consensus"])
        page.heading("Topologies")
        sets = ", ".join(f"{level:.0%}: {size}" for level, size in analysis.credible_set_sizes().items())
        page.paragraph(f"{analysis.topologies.n_topologies} distinct topologies in "
                       f"{int(analysis.partitions.n_sampled.sum())} trees; credible-set sizes {sets}.")
        model = analysis.topology_model
        if model is not None:
            text = (f"SBN-EM-α fit (Zhang & Matsen 2018, α = 1e-4): probability {model.mass_unsampled:.3g} on "
                    "topologies never sampled (column sbn_probability for the sampled ones).")
            if not math.isnan(model.held_out_sbn):
                text += (f" Held out (fit on run 1, score run 2): mean log probability {model.held_out_sbn:.4f} "
                         f"(SBN) against {model.held_out_srf:.4f} (run 1's frequencies) on the trees both can "
                         f"score; run-2 trees unscorable: {model.unseen_sbn:.2%} (SBN), {model.unseen_srf:.2%} "
                         "(frequencies).")
            elif not math.isnan(model.unseen_srf):
                text += (f" Held out (fit on run 1, score run 2): run 1's frequencies give probability 0 to "
                         f"{model.unseen_srf:.2%} of run 2's trees, the SBN to {model.unseen_sbn:.2%}; no run-2 "
                         "tree is scored by both, so no mean log probability compares them.")
            page.paragraph(text)
        header, rows = tables["topologies"]
        page.marked_table(header, [[_number(v) for v in row] for row in rows[:TOPOLOGIES_SHOWN]],
                          [[""] * (len(header) - 1) + ["newick"]] * min(TOPOLOGIES_SHOWN, len(rows)))
        if analysis.bayes_factors:
            page.heading("Bayes factors between topologies")
            page.paragraph(f"log p(D | topology) of the {len({r.rank for r in analysis.bayes_factors})} most probable "
                           f"topologies under {analysis.bayes_factor_model} with an Exponential(10) branch-length "
                           "prior; log Bayes factor against rank 1 beside the log posterior odds of the MCMC sample "
                           "and of the SBN-EM-α fit of the sample (equal under a uniform topology prior; |z| > 2 "
                           "flags a disagreement; the SBN odds' standard error comes from a block bootstrap of the "
                           "runs' topology sequences refitted by SBN-EM-α; where it is unknown, z uses the Bayes "
                           "factor's error alone).")
            header = ["rank", "method", "probability", "log p(D | topology)", "log Bayes factor",
                      "log posterior odds", "z", "agree", "log SBN odds", "z SBN", "agree SBN"]
            rows = [[str(r.rank), r.method, _number(r.probability), f"{r.log_marginal:.3f} ± {r.log_marginal_se:.3f}",
                     f"{r.log_bayes_factor:.3f} ± {r.log_bayes_factor_se:.3f}",
                     f"{r.log_posterior_odds:.3f} ± {r.log_posterior_odds_se:.3f}", _number(r.z),
                     _agreement(r.rank, r.z, r.consistent), f"{r.log_sbn_odds:.3f} ± " + ("none" if math.isnan(r.log_sbn_odds_se) else f"{r.log_sbn_odds_se:.3f}"), _number(r.z_sbn),
                     _agreement(r.rank, r.z_sbn, r.sbn_consistent)]
                    for r in analysis.bayes_factors]
            page.marked_table(header, rows, [[""] * 7 + ["" if r.consistent else "bad"] + [""] * 2
                                             + ["" if r.sbn_consistent else "bad"] for r in analysis.bayes_factors])
        page.paragraph(f"MCC tree (log clade credibility {analysis.mcc_log_credibility:.4f}): "
                       f"{format_newick(analysis.mcc_tree, lengths=False)}", "meta")
    return page


def write_analysis_files(analysis, directory: Path, mb_compat: bool = False) -> list[Path]:
    """Write every output of ``analysis`` into ``directory`` (created); returns the paths written."""
    from phylo_vi.diagnostics.consensus import format_con_tre
    from phylo_vi.diagnostics.mrbayes_partitions import format_parts, format_tstat, format_vstat
    from phylo_vi.diagnostics.parameter_summary import format_pstat

    directory.mkdir(parents=True, exist_ok=True)
    base = analysis.runs.basename
    written = [write_tsv(directory / f"{name}.tsv", header, rows) for name, (header, rows) in analysis.tables().items()]
    if analysis.parameter_rows:
        written.append(_write_text(directory / f"{base}.pstat",
                                   format_pstat(analysis.parameter_rows, len(analysis.parameter_traces), mb_compat)))
    if analysis.partitions is not None:
        table, order = analysis.partitions, analysis.order
        written += [_write_text(directory / f"{base}.parts", format_parts(table, order)),
                    _write_text(directory / f"{base}.tstat", format_tstat(table, order)),
                    _write_text(directory / f"{base}.vstat", format_vstat(table, order)),
                    _write_text(directory / f"{base}.con.tre", format_con_tre(analysis.consensus)),
                    _write_text(directory / "consensus.nwk", analysis.consensus.newick() + "\n"),
                    _write_text(directory / "map.nwk", analysis.topologies.newick(0) + "\n"),
                    _write_text(directory / "mcc.nwk", format_newick(analysis.mcc_tree) + "\n")]
    with atomic_write(directory / "analysis.json") as handle:
        json.dump(analysis.to_json(), handle, indent=2)
        handle.write("\n")
    written.append(directory / "analysis.json")
    written.append(build_page(analysis).write(directory / "report.html"))
    return written
