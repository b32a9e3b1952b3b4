"""The ``phylo-vi`` command group.

Subcommands live in their own modules and are imported only when invoked, so that
``phylo-vi --help`` is instant. Register a subcommand by adding ``name: "module:attribute"``
to :data:`COMMANDS`.
"""
from __future__ import annotations

import importlib
import sys
import warnings

import click

from phylo_vi import __version__
from phylo_vi.errors import PhyloVIError

NO_ARGS_IS_HELP = getattr(click.exceptions, "NoArgsIsHelpError", ())  # click >= 8.2

COMMANDS: dict[str, str] = {
    "genotype": "phylo_vi.cli.genotype:genotype",
    "likelihood": "phylo_vi.cli.likelihood:likelihood",
    "trees": "phylo_vi.cli.trees:trees",
    "demo": "phylo_vi.cli.demo:demo",
    "sbn": "phylo_vi.cli.sbn:sbn",
    "marginal": "phylo_vi.cli.marginal:marginal",
    "vi": "phylo_vi.cli.vi:vi",
    "vbpi": "phylo_vi.cli.vbpi:vbpi",
    "analyze": "phylo_vi.cli.analyze:analyze",
}

HELP_SUMMARIES: dict[str, str] = {
    "genotype": "Tumour genotype matrices: conflict checks, denoising, simulation, metrics.",
    "likelihood": "Tree log-likelihood and branch-length gradient under a substitution model.",
    "trees": "Summarize tree samples: topologies, split frequencies, credible sets, ASDSF.",
    "demo": "Run the main job on the bundled example data.",
    "sbn": "Subsplit Bayesian networks, SRF and CCD fitted to tree samples; KL tables.",
    "marginal": "Marginal likelihood of fixed topologies by 19 estimators; reports; Dask grid.",
    "vi": "Variational-inference core: compare discrete gradient estimators (bias, variance, time).",
    "vbpi": "Variational Bayesian phylogenetic inference (SBN + log-normal branches, VIMCO/RWS).",
    "analyze": "MCMC runs to a report: convergence verdict, sump/sumt tables, consensus, HTML page.",
}


class LazyGroup(click.Group):
    """A click group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        target = COMMANDS.get(name)
        if target is None:
            return None
        module_name, attribute = target.split(":")
        return getattr(importlib.import_module(module_name), attribute)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, HELP_SUMMARIES.get(name, "")) for name in self.list_commands(ctx)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="phylo-vi")
def cli() -> None:
    """phylo_vi: Bayesian phylogenetic inference from the command line."""


def one_line(text: str) -> str:
    """``text`` with its lines joined, for a one-line error message."""
    return " ".join(part.strip() for part in str(text).splitlines() if part.strip())


def usage_error_line(exc: click.UsageError) -> str:
    """Click's usage error (four lines: usage, hint, blank, message) as one line naming the command."""
    command = exc.ctx.command_path if exc.ctx is not None else "phylo-vi"
    return f"{command}: error: {one_line(exc.format_message())} (see '{command} --help')"


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """A warning on stderr as one line, like an error: ``phylo-vi: warning: …``."""
    click.echo(f"phylo-vi: warning: {message}", err=True)


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI; every error a user can cause is one line on stderr with exit status 2."""
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _show_warning
            cli.main(args=argv, prog_name="phylo-vi", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(1)
    except NO_ARGS_IS_HELP as exc:  # a group run without a subcommand: its help, as click 8.1 did
        click.echo(exc.format_message())
        sys.exit(0)
    except click.UsageError as exc:
        click.echo(usage_error_line(exc), err=True)
        sys.exit(2)
    except click.ClickException as exc:
        click.echo(f"phylo-vi: error: {one_line(exc.format_message())}", err=True)
        sys.exit(2 if exc.exit_code == 1 else exc.exit_code)
    except PhyloVIError as exc:
        click.echo(f"phylo-vi: error: {one_line(exc)}", err=True)
        sys.exit(2)
    except FileNotFoundError as exc:
        click.echo(f"phylo-vi: error: {exc.filename}: no such file", err=True)
        sys.exit(2)
    except OSError as exc:  # the system refused a read or a write (permission, I/O error, ...)
        click.echo(f"phylo-vi: error: {exc.filename or 'input/output'}: {exc.strerror or exc}", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        sys.exit(130)


if __name__ == "__main__":
    main()
