"""``phylo-vi demo``: ``phylo-vi analyze`` on the bundled example data (``phylo_vi.data``).

The example is two short MrBayes runs (14 simulated taxa, 20,000 generations): the tree sample
looks settled (ASDSF 0.0138) but the substitution-model parameters have not converged
(MrBayes ``sump``: minimum ESS 10.3, PSRF up to 1.075), and the demo's verdict says so.
"""
from __future__ import annotations

import contextlib
from pathlib import Path

import click

from phylo_vi.cli.common import emit_json, json_option, out_folder_option_for, planned_outputs, quiet_option

RUN_FILES = ("mrbayes/example.nex.run1.t", "mrbayes/example.nex.run2.t",
             "mrbayes/example.nex.run1.p", "mrbayes/example.nex.run2.p")
ALIGNMENT = "example.nex"
DEMO_SEED = 1


@contextlib.contextmanager
def example_files(names=RUN_FILES):
    """Real paths of bundled example files, also from a zipped install (``importlib.resources``)."""
    from importlib.resources import as_file, files

    root = files("phylo_vi.data")
    with contextlib.ExitStack() as stack:
        yield [stack.enter_context(as_file(root.joinpath(name))) for name in names]


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@out_folder_option_for("Report folder DIR, written as a whole as by phylo-vi analyze [default: "
                       "./example.nex.phylo-vi/]; an existing DIR is replaced only when empty or written by phylo-vi.")
@click.option("--alignment/--no-alignment", default=True, show_default=True,
              help="Bayes factors of the top 3 topologies from the bundled alignment (about a minute of CPU).")
@json_option
@quiet_option
def demo(out_dir: Path | None, alignment: bool, as_json: bool, quiet: bool) -> None:
    """Analyse the bundled MrBayes runs (14 simulated taxa, 2 runs, 25% burn-in): verdict, report.

    With the alignment (default), the 3 most probable topologies get marginal likelihoods (GSS,
    fast preset, 2 replicates, seed 1), Bayes factors and the posterior-odds check.

    The data and the script that made them are in the installed package (phylo_vi/data/,
    README.md and regenerate.py there).
    """
    from phylo_vi.analysis import analyze
    from phylo_vi.cli.analyze import REPORT_SUFFIX, print_analysis, write_report_folder

    with example_files(RUN_FILES + (ALIGNMENT,)) as paths:
        directory = out_dir if out_dir is not None else Path.cwd() / f"{ALIGNMENT}{REPORT_SUFFIX}"
        outputs = planned_outputs({}, paths, folders={"report": directory})
        if not as_json:
            click.echo("phylo_vi demo: phylo-vi analyze on the bundled example (simulated 14 taxa x 800 sites, "
                       "two MrBayes runs; see phylo_vi/data/README.md)\n")
        options = {"alignment": paths[-1], "top": 3, "replicates": 2, "seed": DEMO_SEED} if alignment else {}
        analysis = analyze(paths[:-1], progress=not quiet, prepare_report=True, **options)
        written = write_report_folder(analysis, outputs, quiet)
    if as_json:
        document = analysis.to_json()
        document["outputs"] = [str(path) for path in written]
        emit_json(document)
    else:
        print_analysis(analysis, directory)
