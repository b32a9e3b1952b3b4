"""``phylo-vi marginal``: log p(D | tau) of every topology in a tree file by any of the 19
estimators of Fourment et al. 2020, over a grid of trees × methods × replicates (serially, on a
dask LocalCluster or on an existing dask cluster), with TSV, JSON and HTML reports."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from phylo_vi.cli.common import emit_json, json_option, quiet_option, resolve_seed, seed_option, write_json


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
@click.option("--model", default="JC69", show_default=True, help="Substitution model (IQ-TREE model string).")
@click.option("--prior-rate", type=click.FloatRange(min=0, min_open=True), default=10.0, show_default=True,
              help="Rate of the i.i.d. exponential branch-length prior.")
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True,
              help="Dask LocalCluster worker processes (1: run in this process).")
@click.option("--scheduler", default=None, show_default=True,
              help="Address of an existing dask scheduler (e.g. tcp://host:8786); overrides --workers.")
@click.option("--reference-srf", "reference_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, show_default=True,
              help="Reference topology posterior (credible-set file or MrBayes .trprobs) for KL and split RMSD.")
@click.option("-o", "--out", "out_prefix", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Output prefix: PREFIX.tsv, PREFIX.json, PREFIX.html [default: TREES file name + .marginal].")
@json_option
@quiet_option
def marginal(alignment: Path, trees: Path, methods: str, top: int | None, replicates: int, seed: int | None,
             preset: str, model: str, prior_rate: float, workers: int, scheduler: str | None,
             reference_file: Path | None, out_prefix: Path | None, as_json: bool, quiet: bool) -> None:
    """Estimate log p(D | tau) for every topology of TREES given the ALIGNMENT."""
    from phylo_vi.io import read_alignment
    from phylo_vi.marginal.grid import grid_cells, run_grid
    from phylo_vi.marginal.methods import parse_methods
    from phylo_vi.marginal.report import summarize, write_html_report, write_results_tsv
    from phylo_vi.marginal.topologies import read_topologies, reference_posterior, top_topologies
    from phylo_vi.trees import TaxonNamespace

    seed = resolve_seed(seed)
    names = parse_methods(methods)
    aln = read_alignment(alignment)
    patterns = aln.site_patterns()
    taxa = TaxonNamespace(aln.taxa.names)  # trees may add taxa; the alignment's namespace stays intact
    topologies = top_topologies(read_topologies(trees, taxa), top)
    reference = None
    if reference_file is not None:
        reference = reference_posterior(topologies, read_topologies(reference_file, taxa))
    prefix = out_prefix if out_prefix is not None else trees.with_name(trees.name + ".marginal")
    n_cells = len(grid_cells(len(topologies), names, replicates, seed))

    from tqdm import tqdm

    show = not quiet and sys.stderr.isatty()
    with tqdm(total=n_cells, desc="marginal", unit="cell", disable=not show, file=sys.stderr) as bar:
        with _DaskClient(workers, scheduler) as client:
            results = run_grid(patterns, topologies, names, n_replicates=replicates, seed=seed, preset=preset,
                               model=model, prior_rate=prior_rate, client=client, progress=bar.update)
    summary = summarize(results, topologies, reference, alignment=str(alignment), tree_file=str(trees), preset=preset,
                        seed=seed, model=model, prior_rate=prior_rate,
                        workers=scheduler if scheduler is not None else workers)
    tsv = write_results_tsv(prefix.with_name(prefix.name + ".tsv"), results)
    json_path = prefix.with_name(prefix.name + ".json")
    write_json(json_path, summary)
    html = write_html_report(prefix.with_name(prefix.name + ".html"), results, summary, topologies)
    if as_json:
        emit_json(summary)
    elif not quiet:
        click.echo(f"seed {seed}: {len(results)} estimates written to {tsv}, {json_path}, {html}", err=True)


class _DaskClient:
    """Context manager: None (in-process), a LocalCluster client, or a client of ``scheduler``."""

    def __init__(self, workers: int, scheduler: str | None):
        self.workers, self.scheduler = workers, scheduler
        self.client = self.cluster = None

    def __enter__(self):
        if self.scheduler is None and self.workers == 1:
            return None
        from dask.distributed import Client, LocalCluster

        if self.scheduler is not None:
            self.client = Client(self.scheduler)
        else:
            self.cluster = LocalCluster(n_workers=self.workers, threads_per_worker=1, processes=True,
                                        dashboard_address=":0")
            self.client = Client(self.cluster)
        return self.client

    def __exit__(self, *exc) -> None:
        if self.client is not None:
            self.client.close()
        if self.cluster is not None:
            self.cluster.close()
