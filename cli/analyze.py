"""``phylo-vi analyze``: MCMC runs (MrBayes, BEAST, RevBayes) to a posterior report folder."""
from __future__ import annotations

import contextlib

import math
from pathlib import Path

import click

from phylo_vi.cli.common import (burnin_choice, emit_json, json_option, n_burnin_option, out_folder_option_for,
                                 planned_outputs, quiet_option, resolve_seed, seed_option, writing)

REPORT_SUFFIX = ".phylo-vi"  # default report folder: ./<basename>.phylo-vi/


def print_analysis(analysis, directory: Path | None) -> None:
    """The verdict first, then the headline numbers, for a person."""
    echo = click.echo
    echo(analysis.verdict.line().split(":")[0])
    for check in analysis.verdict.checks:
        echo(f"  {check.describe()}")
    for info in analysis.run_info:
        parts = []
        if info.trees is not None:
            parts.append(f"{info.trees_kept} of {info.trees_read} trees")
        if info.parameters is not None:
            parts.append(f"{info.samples_kept} of {info.samples_read} parameter samples")
        echo(f"{info.name}: " + ", ".join(parts) + " kept")
    for note in analysis.notes:
        echo(f"note: {note}")
    if analysis.partitions is not None:
        sets = ", ".join(f"{level:.0%}: {size}" for level, size in analysis.credible_set_sizes().items())
        asdsf = "NA" if math.isnan(analysis.asdsf) else f"{analysis.asdsf:.6f}"
        echo(f"ASDSF (MrBayes convention): {asdsf}; distinct topologies: {analysis.topologies.n_topologies}; "
             f"credible-set sizes {sets}")
        echo(f"consensus: {analysis.consensus.newick()}")
    if analysis.bayes_factors:
        echo(f"Bayes factors against the most probable topology ({analysis.bayes_factor_model}):")
        for row in analysis.bayes_factors:
            if row.rank == 1:
                continue
            flag = "consistent" if row.consistent else "DISAGREE"
            echo(f"  rank {row.rank} ({row.method}): log BF {row.log_bayes_factor:.3f} ± {row.log_bayes_factor_se:.3f}, "
                 f"log posterior odds {row.log_posterior_odds:.3f} ± {row.log_posterior_odds_se:.3f}: {flag}; "
                 f"log SBN odds {row.log_sbn_odds:.3f} ± {row.log_sbn_odds_se:.3f}: "
                 f"{'consistent' if row.sbn_consistent else 'DISAGREE'}")
    if directory is not None:
        echo(f"report: {directory / 'report.html'}")


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@out_folder_option_for("Report folder DIR, written as a whole (report.html, analysis.json, TSV tables, MrBayes "
                       "sump/sumt files, trees) [default: ./<basename>.phylo-vi/ in the current folder]; an existing "
                       "DIR is replaced only when empty or written by phylo-vi.")
@click.option("--burnin", type=click.FloatRange(0.0, 1.0, max_open=True), default=0.25, show_default=True,
              help="Fraction of each run's samples discarded (MrBayes burninfrac; int(burnin * n)).")
@n_burnin_option
@click.option("--min-clade-freq", type=click.FloatRange(0.0, 1.0), default=0.5, show_default=True,
              help="Consensus cut-off: 0.5 majority rule; lower: extended majority rule (0: all compatible).")
@click.option("--min-partition-freq", type=click.FloatRange(0.0, 1.0), default=0.10, show_default=True,
              help="MrBayes minpartfreq: splits listed in .parts/.tstat and used for the ASDSF.")
@click.option("--window-size", type=click.IntRange(min=1), default=20, show_default=True,
              help="Trees per window for split frequencies over generations (RWTY).")
@click.option("--min-ess", type=float, default=200.0, show_default=True, help="Verdict: smallest acceptable ESS.")
@click.option("--max-psrf", type=float, default=1.01, show_default=True, help="Verdict: largest acceptable PSRF.")
@click.option("--max-asdsf", type=float, default=0.01, show_default=True, help="Verdict: largest acceptable ASDSF.")
@click.option("--alignment", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Alignment: marginal likelihoods of the top topologies, Bayes factors, posterior-odds check.")
@click.option("--top", type=click.IntRange(min=2), default=3, show_default=True,
              help="With --alignment: number of most probable topologies compared.")
@click.option("--methods", default="gss", show_default=True,
              help="With --alignment: marginal-likelihood estimators (comma-separated, see phylo-vi marginal).")
@click.option("--replicates", type=click.IntRange(min=1), default=2, show_default=True,
              help="With --alignment: independent replicates of every estimate (their spread gives the SE).")
@click.option("--sbn-replicates", type=click.IntRange(min=0), default=20, show_default=True,
              help="With --alignment: block-bootstrap refits of the SBN giving its posterior odds a standard error.")
@click.option("--preset", type=click.Choice(["fast", "paper"]), default="fast", show_default=True,
              help="With --alignment: estimator settings (fast: the speed-target settings).")
@click.option("--model", default=None,
              help="With --alignment: IQ-TREE model string [default: posterior means of MrBayes' GTR parameters].")
@seed_option
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True,
              help="With --alignment: Dask LocalCluster worker processes (1: in this process).")
@click.option("--scheduler", default=None, help="With --alignment: address of an existing Dask scheduler.")
@click.option("--mb-compat", is_flag=True, help="Write .pstat with MrBayes 3.2.7a's NA quirk (no tab before NA).")
@click.option("--threads", "-T", type=click.IntRange(min=1), default=None,
              help="Threads of this process: independent steps (the parameter traces beside the trees, the two SBN fits, each "
                   "parameter's summaries, the RF kernel) side by side; results identical for any number "
                   "[default: every core this process may use, os.sched_getaffinity].")
@json_option
@quiet_option
@click.pass_context
def analyze(ctx: click.Context, paths: tuple[Path, ...], out_dir: Path | None, burnin: float, n_burnin: int | None,
            min_clade_freq: float, min_partition_freq: float, window_size: int, min_ess: float, max_psrf: float,
            max_asdsf: float, alignment: Path | None, top: int, methods: str, replicates: int, sbn_replicates: int,
            preset: str, model: str | None, seed: int | None, workers: int, scheduler: str | None, mb_compat: bool,
            threads: int | None, as_json: bool, quiet: bool) -> None:
    """Analyse MCMC runs: convergence verdict, parameter and tree summaries, one HTML report.

    \b
    PATHS are run files (x.run1.t, x.run1.p, x.trees, x.log), run basenames (x: every
    x.run<k>.t/.p MrBayes wrote) or folders. Numbers follow MrBayes 3.2.7a sump/sumt
    (.pstat, .parts, .tstat, .vstat, .con.tre byte-identical), RWTY and ArviZ.
    Per-tree data goes to deleted temporary files in $TMPDIR (~4 bytes a node and a split).
    """
    from phylo_vi.analysis import analyze as run_analysis
    from phylo_vi.diagnostics.verdict import Thresholds
    from phylo_vi.io.runs import discover_runs

    n_burnin = burnin_choice(ctx, n_burnin)
    runs = discover_runs(list(paths))
    directory = out_dir if out_dir is not None else Path.cwd() / f"{runs.basename}{REPORT_SUFFIX}"
    inputs = [*paths, *runs.tree_files, *runs.parameter_files] + ([alignment] if alignment is not None else [])
    outputs = planned_outputs({}, inputs, folders={"report": directory})
    options, grid = {}, contextlib.nullcontext()
    if alignment is not None:  # the marginal-likelihood grid (its 19 estimators) is imported only for it
        from phylo_vi.marginal.grid import DaskClient
        from phylo_vi.marginal.methods import parse_methods

        grid = DaskClient(workers, scheduler)
        options = {"alignment": alignment, "top": top, "methods": parse_methods(methods), "replicates": replicates,
                   "sbn_replicates": sbn_replicates, "preset": preset, "model": model, "seed": resolve_seed(seed)}
    with grid as client:
        analysis = run_analysis(list(paths), burnin=burnin, n_burnin=n_burnin, min_clade_freq=min_clade_freq,
                                min_partition_freq=min_partition_freq, window_size=window_size,
                                thresholds=Thresholds(min_ess, max_psrf, max_asdsf), threads=threads,
                                progress=not quiet, client=client, prepare_report=True, **options)
    written = write_report_folder(analysis, outputs, quiet, mb_compat=mb_compat)
    if as_json:
        document = analysis.to_json()
        document["outputs"] = [str(path) for path in written]
        emit_json(document)
    else:
        print_analysis(analysis, directory)


def write_report_folder(analysis, outputs, quiet: bool, mb_compat: bool = False) -> list[Path]:
    """Write the report of ``analysis`` as the folder output ``report`` of ``outputs`` (all or none);
    return the final paths of its files."""
    directory = outputs.folders["report"]
    with writing(outputs, quiet) as staged:
        written = analysis.write_report(staged["report"], mb_compat=mb_compat)
    return [directory / path.relative_to(staged["report"]) for path in written]
