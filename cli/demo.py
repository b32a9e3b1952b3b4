"""``phylo-vi demo``: the main job on the bundled example data (``phylo_vi.data``).

For now the main job is the tree-sample summary of the two bundled MrBayes runs (split
frequencies, credible sets, ASDSF); later issues extend it into the full analysis.
"""
from __future__ import annotations

import contextlib
from pathlib import Path

import click

from phylo_vi.cli.common import json_option, out_option, quiet_option

RUN_FILES = ("mrbayes/example.nex.run1.t", "mrbayes/example.nex.run2.t")


@contextlib.contextmanager
def example_files(names=RUN_FILES):
    """Real paths of bundled example files, also from a zipped install (``importlib.resources``)."""
    from importlib.resources import as_file, files

    root = files("phylo_vi.data")
    with contextlib.ExitStack() as stack:
        yield [stack.enter_context(as_file(root.joinpath(name))) for name in names]


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@json_option
@out_option
@quiet_option
def demo(as_json: bool, out_prefix: Path | None, quiet: bool) -> None:
    """Summarize the bundled MrBayes runs (14 simulated taxa, 2 runs, 25% burn-in) with ASDSF.

    The data and the script that made them are in the installed package (phylo_vi/data/,
    README.md and regenerate.py there).
    """
    from phylo_vi.cli.trees import report_summary, summarize_sample
    from phylo_vi.io.trees import read_trees

    with example_files() as paths:
        if not as_json:
            click.echo("phylo_vi demo: tree-sample summary of the bundled example (simulated 14 taxa x 800 "
                       "sites, two MrBayes runs; see phylo_vi/data/README.md)\n")
        sample = read_trees(paths, burnin=0.25)
        summary = summarize_sample(sample, quiet=quiet)
        report_summary(sample, summary, out_prefix=out_prefix, as_json=as_json, quiet=quiet)
