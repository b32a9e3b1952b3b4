"""``phylo-vi trees``: summaries of MCMC tree samples (MrBayes, BEAST, RevBayes, Newick)."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Iterable

import click

from phylo_vi.cli.common import (DeprecatedOption, burnin_choice, burnin_option, emit_json, json_option,
                                 n_burnin_option, out_option_for, planned_outputs, quiet_option, writing)
from phylo_vi.util.outputs import OutputSet

DEFAULT_TOP = 10
DEFAULT_SPLITS_SHOWN = 20
DEFAULT_MIN_FREQUENCY = 0.10


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def trees() -> None:
    """Tree samples: topology and split frequencies, credible sets, ASDSF."""


def summarize_sample(sample, *, quiet: bool = False, min_frequency: float = DEFAULT_MIN_FREQUENCY):
    """:func:`phylo_vi.diagnostics.summarize_sample` with one tqdm bar over all kept trees (stderr, TTY only)."""
    from tqdm import tqdm

    from phylo_vi.diagnostics import summarize_sample as summarize

    with tqdm(total=len(sample), unit="tree", file=sys.stderr, leave=False,
              disable=quiet or not sys.stderr.isatty(), desc="reading trees") as bar:
        return summarize(sample, min_frequency=min_frequency, progress=bar.update)


def print_summary(document: dict[str, Any], n_splits: int = DEFAULT_SPLITS_SHOWN) -> None:
    """Human-readable summary on stdout."""
    echo = click.echo
    for entry in document["files"]:
        echo(f"{entry['path']}: {entry['format']}, {entry['trees_read']} trees read, "
             f"burn-in {entry['n_burnin']}, thin {entry['thin']}, {entry['trees_kept']} kept, "
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
    legend = ("splits by 128-bit hash" if document["split_names"] == "hash128"
              else "'*' marks the side without the first taxon")
    echo(f"\nsplit frequencies ({len(shown)} of {len(document['splits'])} non-trivial splits; {legend}):")
    width = max([len(row["bitstring"]) for row in shown] + [len("bitstring")])
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


def summary_outputs(out_prefix: Path | None, inputs: Iterable[Path] = ()) -> OutputSet | None:
    """The checked ``PREFIX.trprobs.tsv`` and ``PREFIX.splits.tsv`` (None without ``-o``)."""
    from phylo_vi.diagnostics import summary_table_paths

    return None if out_prefix is None else planned_outputs(summary_table_paths(out_prefix), inputs)


def report_summary(sample, summary, *, top: int = DEFAULT_TOP, out_prefix: Path | None, as_json: bool,
                   quiet: bool, outputs: OutputSet | None = None) -> None:
    """Write the ``-o PREFIX`` tables when asked, then print the JSON document or the readable summary."""
    from phylo_vi.diagnostics import summary_document, write_summary_tables

    document = summary_document(sample, summary, top)
    if outputs is None:
        outputs = summary_outputs(out_prefix, [run.path for run in sample.runs])
    if outputs is not None:
        with writing(outputs, quiet) as staged:
            write_summary_tables(summary, staged)
        document["outputs"] = [str(path) for path in outputs.paths]
    if as_json:
        emit_json(document)
    else:
        print_summary(document)


@trees.command("summary")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@burnin_option
@n_burnin_option
@click.option("--burnin-trees", "deprecated_n_burnin", cls=DeprecatedOption, replaced_by="--n-burnin",
              type=click.IntRange(min=0), default=None)
@click.option("--thin", type=click.IntRange(min=1), default=1, show_default=True,
              help="Keep every K-th tree after the burn-in.")
@click.option("--format", "tree_format", default="auto", show_default=True,
              type=click.Choice(["auto", "mrbayes", "trprobs", "beast", "nexus", "revbayes", "newick", "credible-set",
                                 "trprobs-tsv"]),
              help="Tree file format (auto: detected from each file's content).")
@click.option("--top", type=click.IntRange(min=0), default=DEFAULT_TOP, show_default=True,
              help="Number of most probable topologies listed.")
@click.option("--min-frequency", type=click.FloatRange(0.0, 1.0), default=DEFAULT_MIN_FREQUENCY, show_default=True,
              help="ASDSF uses the splits with at least this frequency in some run (MrBayes minpartfreq).")
@json_option
@out_option_for("Output prefix: writes PREFIX.trprobs.tsv and PREFIX.splits.tsv.")
@quiet_option
@click.pass_context
def summary_command(ctx: click.Context, files: tuple[Path, ...], burnin: float, n_burnin: int | None,
                    deprecated_n_burnin: int | None, thin: int, tree_format: str, top: int, min_frequency: float,
                    as_json: bool, out_prefix: Path | None, quiet: bool) -> None:
    """Summarize tree samples: one FILE per run; with two or more runs, per-run split table and ASDSF.

    \b
    Reports trees read and kept, taxa, distinct topologies with probability and cumulative
    probability, credible-set sizes and split frequencies. -o PREFIX writes PREFIX.trprobs.tsv
    (every topology) and PREFIX.splits.tsv (every split, one frequency column per run).
    """
    from phylo_vi.io.trees import read_trees

    n_burnin = burnin_choice(ctx, n_burnin, deprecated_n_burnin)
    outputs = summary_outputs(out_prefix, files)
    sample = read_trees(list(files), format=tree_format, burnin=burnin, n_burnin=n_burnin, thin=thin)
    summary = summarize_sample(sample, quiet=quiet, min_frequency=min_frequency)
    report_summary(sample, summary, top=top, out_prefix=out_prefix, as_json=as_json, quiet=quiet, outputs=outputs)
