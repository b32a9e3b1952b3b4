"""``phylo-vi marginal``: log p(D | tau) of every topology in a tree file by any of the 19
estimators of Fourment et al. 2020, over a grid of trees × methods × replicates (serially, on a
dask LocalCluster or on an existing dask cluster), with TSV, JSON and HTML reports."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from phylo_vi.cli.common import (emit_json, json_option, out_option_for, planned_outputs, quiet_option,
                                 resolve_seed, seed_option, writing)


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("alignment", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("trees", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--methods", default="all", show_default=True,
              help="'all' or a comma-separated list of: ml, map, gl, bl, ll, glis, vbis, elbo, nmc, hm, shm, bs, "
                   "cpo, ppd, ss, ps, mps, gss, ns.")
@click.option("--top", "top", type=click.IntRange(min=1), default=None, show_default=True,
              help="Only the K topologies of highest weight (SRF / posterior probability) in TREES.")
@click.option("--replicates", type=click.IntRange(min=1), default=1, show_default=True,
              help="Independent replicates of every stochastic method.")
@seed_option
@click.option("--preset", type=click.Choice(["paper", "fast"]), default="paper", show_default=True,
              help="'paper': the settings of Fourment et al. 2020; 'fast': short HMC chains and small samples.")
@click.option("--model", default="JC69", show_default=True,
              help="Substitution model (IQ-TREE model string; JC = JC69, K80 = K2P, HKY = HKY85, TN = TN93).")
@click.option("--prior-rate", type=click.FloatRange(min=0, min_open=True), default=10.0, show_default=True,
              help="Rate of the i.i.d. exponential branch-length prior.")
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True,
              help="Dask LocalCluster worker processes (1: run in this process).")
@click.option("--scheduler", default=None, show_default=True,
              help="Address of an existing dask scheduler (e.g. tcp://host:8786); overrides --workers.")
@click.option("--reference-srf", "reference_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, show_default=True,
              help="Reference topology posterior (credible-set file or MrBayes .trprobs) for KL and split RMSD.")
@out_option_for("Output prefix: writes PREFIX.tsv, PREFIX.json and PREFIX.html. Without -o no file is "
                "written and the summary is printed.")
@json_option
@quiet_option
def marginal(alignment: Path, trees: Path, methods: str, top: int | None, replicates: int, seed: int | None,
             preset: str, model: str, prior_rate: float, workers: int, scheduler: str | None,
             reference_file: Path | None, out_prefix: Path | None, as_json: bool, quiet: bool) -> None:
    """Estimate log p(D | tau) for every topology of TREES given the ALIGNMENT."""
    from tqdm import tqdm

    from phylo_vi.marginal.grid import DaskClient
    from phylo_vi.marginal.study import MarginalStudy, report_paths

    inputs = [alignment, trees] + ([reference_file] if reference_file is not None else [])
    outputs = None if out_prefix is None else planned_outputs(report_paths(out_prefix), inputs)
    study = MarginalStudy.from_files(alignment, trees, methods=methods, top=top, n_replicates=replicates,
                                     preset=preset, model=model, prior_rate=prior_rate, reference_file=reference_file)
    seed = resolve_seed(seed)
    show = not quiet and sys.stderr.isatty()
    with DaskClient(workers, scheduler) as client:
        with tqdm(total=study.n_cells, desc="marginal", unit="cell", unit_scale=True, disable=not show,
                  file=sys.stderr) as bar:  # unit_scale: the in-process grid reports fractions of a cell
            results, summary = study.run(seed, client=client, progress=bar.update,
                                         workers=scheduler if scheduler is not None else workers)
    if outputs is not None:
        with writing(outputs, quiet) as staged:
            study.write_reports(results, summary, staged)
    if as_json:
        emit_json(summary)
        return
    click.echo(f"seed {seed}: {len(results)} estimates")
    for cell in summary["cells"]:
        sd = cell["sd_log_marginal"]
        click.echo(f"{cell['tree_name']}\t{cell['label']}\t{cell['mean_log_marginal']}"
                   + (f"\t(sd {sd:.4g})" if sd is not None else ""))
