"""``phylo-vi trees``: summaries of MCMC tree samples (MrBayes, BEAST, RevBayes, Newick)."""
from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Any, Iterable, Iterator

import click

from phylo_vi.cli.common import emit_json, json_option, out_option, quiet_option

DEFAULT_TOP = 10
DEFAULT_SPLITS_SHOWN = 20


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def trees() -> None:
    """Tree samples: topology and split frequencies, credible sets, ASDSF."""


def _finite(value: float) -> float | None:
    return None if value is None or math.isnan(value) else float(value)


def _with_progress(runs, quiet: bool) -> tuple[list[Iterable], Any]:
    """Wrap each run's iterator in one tqdm bar over all kept trees (stderr, TTY only)."""
    from tqdm import tqdm

    bar = tqdm(total=sum(len(run) for run in runs), unit="tree", file=sys.stderr, leave=False,
               disable=quiet or not sys.stderr.isatty(), desc="reading trees")

    def stream(run) -> Iterator:
        for tree in run:
            yield tree
            bar.update(1)

    return [stream(run) for run in runs], bar


def summarize_sample(sample, *, quiet: bool = False, min_frequency: float = 0.10):
    """Stream a :class:`~phylo_vi.io.trees.TreeSample` through :func:`summarize_runs`."""
    from phylo_vi.diagnostics import summarize_runs

    streams, bar = _with_progress(sample.runs, quiet)
    try:
        return summarize_runs(streams, [str(run.path) for run in sample.runs], min_frequency=min_frequency)
    finally:
        bar.close()


def summary_document(sample, summary, top: int = DEFAULT_TOP) -> dict[str, Any]:
    """The JSON document of ``trees summary`` (also used by ``phylo-vi demo``)."""
    from phylo_vi import __version__

    topologies, table = summary.topologies, summary.split_table
    probabilities, cumulative = topologies.probabilities, topologies.cumulative
    bitstrings = table.bitstrings()
    sd = table.sd
    return {
        "phylo_vi_version": __version__,
        "files": [{"path": str(run.path), "format": run.format, "trees_read": run.n_trees,
                   "burnin_trees": run.n_burnin, "thin": run.thin, "trees_kept": result.n_trees,
                   "total_weight": result.splits.total_weight,
                   "distinct_topologies": result.topologies.n_topologies}
                  for run, result in zip(sample.runs, summary.runs)],
        "trees_read": sample.n_trees,
        "trees_kept": summary.n_trees,
        "n_taxa": summary.n_taxa,
        "taxa": list(summary.taxa.names),
        "distinct_topologies": topologies.n_topologies,
        "probability_sum": float(probabilities.sum()),
        "credible_set_size": {f"{level:g}": size for level, size in summary.credible_set_sizes().items()},
        "top_topologies": [{"rank": i + 1, "probability": float(probabilities[i]),
                            "cumulative": float(cumulative[i]), "newick": topologies.newick(i)}
                           for i in range(min(top, topologies.n_topologies))],
        "splits": [{"id": i + 1, "bitstring": bitstrings[i], "count": float(table.counts[i]),
                    "probability": float(table.pooled[i]),
                    "run_frequencies": [float(f) for f in table.frequencies[i]],
                    "sd": _finite(sd[i]), "min": float(table.min[i]), "max": float(table.max[i]),
                    "n_runs": int(table.n_runs_present[i])} for i in range(table.n_splits)],
        "asdsf": _finite(summary.asdsf),
        "max_sdsf": _finite(summary.max_sdsf),
        "asdsf_min_frequency": summary.min_frequency,
    }


def print_summary(document: dict[str, Any], n_splits: int = DEFAULT_SPLITS_SHOWN) -> None:
    """Human-readable summary on stdout."""
    echo = click.echo
    for entry in document["files"]:
        echo(f"{entry['path']}: {entry['format']}, {entry['trees_read']} trees read, "
             f"burn-in {entry['burnin_trees']}, thin {entry['thin']}, {entry['trees_kept']} kept, "
             f"{entry['distinct_topologies']} distinct topologies")
    echo(f"trees kept: {document['trees_kept']} of {document['trees_read']}; taxa: {document['n_taxa']}")
    echo(f"distinct topologies: {document['distinct_topologies']}")
    sets = ", ".join(f"{float(level):.0%}: {size}" for level, size in document["credible_set_size"].items())
    echo(f"credible set sizes: {sets}")
    echo("\ntop topologies (p, cumulative P):")
    for row in document["top_topologies"]:
        echo(f"  {row['rank']:>3}  {row['probability']:.6f}  {row['cumulative']:.6f}  {row['newick']}")
    several = len(document["files"]) > 1
    shown = document["splits"][:n_splits]
    echo(f"\nsplit frequencies ({len(shown)} of {len(document['splits'])} non-trivial splits; "
         "'*' marks the side without the first taxon):")
    width = max(document["n_taxa"], len("bitstring"))
    header = f"  {'ID':>4}  {'bitstring':<{width}}  {'Probab.':>8}"
    if several:
        header += f"  {'Sd(s)':>8}  {'Min(s)':>8}  {'Max(s)':>8}  Nruns"
    echo(header)
    for row in shown:
        line = f"  {row['id']:>4}  {row['bitstring']:<{width}}  {row['probability']:8.6f}"
        if several:
            line += f"  {row['sd']:8.6f}  {row['min']:8.6f}  {row['max']:8.6f}  {row['n_runs']:>5}"
        echo(line)
    if several:
        asdsf, max_sdsf = document["asdsf"], document["max_sdsf"]
        text = ("undefined (no split reaches the cut-off)" if asdsf is None
                else f"{asdsf:.6f}; max SDSF: {max_sdsf:.6f}")
        echo(f"\nASDSF (non-trivial splits with frequency >= {document['asdsf_min_frequency']:g} in some run): "
             f"{text}")


def write_outputs(prefix: Path, summary) -> list[Path]:
    """``PREFIX.trprobs.tsv`` and ``PREFIX.splits.tsv`` (atomically)."""
    from phylo_vi.diagnostics import write_split_table, write_topology_table

    names = [Path(run.name).name for run in summary.runs]
    if len(set(names)) < len(names):
        names = [f"run{i + 1}" for i in range(len(names))]
    return [write_topology_table(Path(f"{prefix}.trprobs.tsv"), summary.topologies),
            write_split_table(Path(f"{prefix}.splits.tsv"), summary.split_table, names)]


def report_summary(sample, summary, *, top: int = DEFAULT_TOP, out_prefix: Path | None, as_json: bool,
                   quiet: bool) -> None:
    """Write the ``-o PREFIX`` tables when asked, then print the JSON document or the readable summary."""
    document = summary_document(sample, summary, top)
    if out_prefix is not None:
        document["outputs"] = [str(path) for path in write_outputs(out_prefix, summary)]
        if not quiet:
            click.echo("wrote " + ", ".join(document["outputs"]), err=True)
    if as_json:
        emit_json(document)
    else:
        print_summary(document)


@trees.command("summary")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--burnin", type=click.FloatRange(0.0, 1.0, max_open=True), default=0.25, show_default=True,
              help="Fraction of each MCMC chain's trees discarded at its start (MrBayes convention; not applied "
                   "to Newick lists, .trprobs and other summaries).")
@click.option("--burnin-trees", type=click.IntRange(min=0), default=None, show_default=True,
              help="Number of trees discarded at the start of each file (instead of --burnin).")
@click.option("--thin", type=click.IntRange(min=1), default=1, show_default=True,
              help="Keep every K-th tree after the burn-in.")
@click.option("--format", "tree_format", default="auto", show_default=True,
              type=click.Choice(["auto", "mrbayes", "trprobs", "beast", "nexus", "revbayes", "newick", "credible-set",
                                 "trprobs-tsv"]),
              help="Tree file format (auto: detected from each file's content).")
@click.option("--top", type=click.IntRange(min=0), default=DEFAULT_TOP, show_default=True,
              help="Number of most probable topologies listed.")
@click.option("--min-frequency", type=click.FloatRange(0.0, 1.0), default=0.10, show_default=True,
              help="ASDSF uses the splits with at least this frequency in some run (MrBayes minpartfreq).")
@json_option
@out_option
@quiet_option
@click.pass_context
def summary_command(ctx: click.Context, files: tuple[Path, ...], burnin: float, burnin_trees: int | None,
                    thin: int, tree_format: str, top: int, min_frequency: float, as_json: bool,
                    out_prefix: Path | None, quiet: bool) -> None:
    """Summarize tree samples: one FILE per run; with two or more runs, per-run split table and ASDSF.

    \b
    Reports trees read and kept, taxa, distinct topologies with probability and cumulative
    probability, credible-set sizes and split frequencies. -o PREFIX writes PREFIX.trprobs.tsv
    (every topology) and PREFIX.splits.tsv (every split, one frequency column per run).
    """
    from phylo_vi.io.trees import read_trees

    if burnin_trees is not None and ctx.get_parameter_source("burnin") == click.core.ParameterSource.COMMANDLINE:
        raise click.UsageError("give either --burnin or --burnin-trees, not both")
    sample = read_trees(list(files), format=tree_format, burnin=burnin, burnin_trees=burnin_trees, thin=thin)
    summary = summarize_sample(sample, quiet=quiet, min_frequency=min_frequency)
    report_summary(sample, summary, top=top, out_prefix=out_prefix, as_json=as_json, quiet=quiet)
