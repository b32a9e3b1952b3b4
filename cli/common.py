"""Options and helpers shared by the subcommands, declared once.

Vocabulary (the same on every command): ``--seed`` (non-negative), ``--threads``/``-T``
(Numba or torch threads in this process), ``--workers`` (Dask processes, ``marginal`` only),
``--burnin`` (a fraction) and ``--n-burnin`` (a count), ``-o`` (an output prefix, or ``DIR`` for a
command that writes a report folder), ``--json``
(one JSON document on stdout) and ``-q`` (no progress bar, no list of written files).
"""
from __future__ import annotations

import contextlib
import json
import os
import sys
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

import click

from phylo_vi.util.atomic import atomic_write
from phylo_vi.util.outputs import OutputSet

SEED_MAX = 2**32 - 1

seed_option = click.option(
    "--seed", type=click.IntRange(0, SEED_MAX), default=None, show_default=True,
    help="Random seed in [0, 2^32); a random one is drawn, printed and recorded when omitted.",
)
threads_option = click.option(
    "--threads", "-T", type=click.IntRange(min=1), default=1, show_default=True,
    help="Number of threads in this process.",
)
json_option = click.option("--json", "as_json", is_flag=True, help="Print one JSON document on stdout.")
quiet_option = click.option("-q", "--quiet", is_flag=True,
                            help="No progress bar and no list of written files on stderr.")
burnin_option = click.option(
    "--burnin", type=click.FloatRange(0.0, 1.0, max_open=True), default=0.25, show_default=True,
    help="Fraction of each MCMC chain's trees discarded at its start (MrBayes convention).")
n_burnin_option = click.option(
    "--n-burnin", type=click.IntRange(min=0), default=None,
    help="Number of trees discarded at the start of each MCMC chain (instead of --burnin).")


def _prefix(ctx: click.Context, param: click.Parameter, value: str | None) -> Path | None:
    if value is None:
        return None
    if not value or value.endswith(("/", os.sep)) or Path(value).is_dir():
        raise click.BadParameter(f"{value!r} is a directory, not a prefix; give one such as "
                                 f"{str(Path(value or '.') / 'run')!r}", ctx, param)
    return Path(value)


def out_option_for(help_text: str, *, required: bool = False):
    """``-o/--out PREFIX`` (dest ``out_prefix``) with the command's own description of what it writes;
    a directory is refused (it is not a prefix)."""
    return click.option("-o", "--out", "out_prefix", type=click.Path(), callback=_prefix, required=required,
                        metavar="PREFIX", help=help_text)


out_option = out_option_for("Output prefix for result files.")


def out_folder_option_for(help_text: str):
    """``-o/--out DIR`` (dest ``out_dir``): a folder the command writes as a whole (see
    :class:`~phylo_vi.util.outputs.OutputSet` ``folders``), with the command's own description."""
    return click.option("-o", "--out", "out_dir", type=click.Path(path_type=Path), default=None, metavar="DIR",
                        help=help_text)


class DeprecatedOption(click.Option):
    """An old option spelling kept for one release: hidden from --help, a note on stderr when used."""

    def __init__(self, *args, replaced_by: str, **kwargs):
        kwargs.setdefault("hidden", True)
        super().__init__(*args, **kwargs)
        self.replaced_by = replaced_by

    def handle_parse_result(self, ctx: click.Context, opts: Mapping[str, Any], args: list[str]):
        if self.name in opts:
            click.echo(f"phylo-vi: note: {self.opts[0]} is deprecated and will be removed in the next release; "
                       f"use {self.replaced_by}", err=True)
        return super().handle_parse_result(ctx, opts, args)


def burnin_choice(ctx: click.Context, n_burnin: int | None, deprecated_count: int | None = None) -> int | None:
    """The ``--n-burnin`` count (or its deprecated spelling); refuses it together with ``--burnin``."""
    if n_burnin is not None and deprecated_count is not None:
        raise click.UsageError("give --n-burnin once (--burnin-trees is its deprecated spelling)")
    count = n_burnin if n_burnin is not None else deprecated_count
    if count is not None and ctx.get_parameter_source("burnin") == click.core.ParameterSource.COMMANDLINE:
        raise click.UsageError("give either --burnin (a fraction) or --n-burnin (a count), not both")
    return count


class DeviceType(click.ParamType):
    """A torch device string (``cpu``, ``cuda``, ``cuda:1``, ``mps``) that torch can parse and use."""

    name = "device"

    def convert(self, value: Any, param, ctx) -> str:
        import torch

        try:
            device = torch.device(value)
        except (RuntimeError, TypeError):
            self.fail(f"{value!r} is not a torch device (cpu, cuda, cuda:N, mps)", param, ctx)
        if device.type == "cuda" and not torch.cuda.is_available():
            self.fail(f"{value!r} requested but CUDA is not available", param, ctx)
        if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
            self.fail(f"{value!r}: there are {torch.cuda.device_count()} CUDA devices", param, ctx)
        if device.type not in ("cpu", "cuda", "mps"):
            self.fail(f"{value!r}: only cpu, cuda and mps devices are supported", param, ctx)
        if device.type == "mps" and not torch.backends.mps.is_available():
            self.fail(f"{value!r} requested but MPS is not available", param, ctx)
        return str(device)


def resolve_seed(seed: int | None) -> int:
    """Return ``seed``, or draw one and announce it on stderr so the run can be repeated."""
    if seed is None:
        import secrets

        seed = secrets.randbelow(SEED_MAX + 1)
        click.echo(f"seed: {seed}", err=True)
    return seed


def emit_json(document: Any) -> None:
    """Print one JSON document on stdout."""
    json.dump(document, sys.stdout, indent=2, allow_nan=True)
    sys.stdout.write("\n")


def emit_document(document: dict[str, Any], as_json: bool) -> None:
    """Print ``document`` as one JSON document, or as ``key: value`` lines for a person."""
    if as_json:
        emit_json(document)
    else:
        for key, value in document.items():
            click.echo(f"{key}: {value}")


def write_json(path: Path, document: Any) -> None:
    """Write a JSON document atomically."""
    with atomic_write(path) as handle:
        json.dump(document, handle, indent=2, allow_nan=True)
        handle.write("\n")


def planned_outputs(targets: Mapping[str, Path], inputs: Iterable[Path] = (), *,
                    make_parents: bool = False, folders: Mapping[str, Path] | None = None) -> OutputSet:
    """Declare and check a command's output files (and folders) before its work starts (exit 2 on a
    bad location)."""
    return OutputSet(targets, inputs, make_parents=make_parents, folders=folders).check()


@contextlib.contextmanager
def writing(outputs: OutputSet, quiet: bool) -> Iterator[dict[str, Path]]:
    """Stage ``outputs`` (key → temporary path), move them into place together, then list them on stderr."""
    with outputs.staged() as staged:
        yield staged
    announce(outputs.paths, quiet)


def announce(paths: Iterable[Path], quiet: bool) -> None:
    """``wrote: a, b`` on stderr unless ``quiet``."""
    paths = [str(path) for path in paths]
    if paths and not quiet:
        click.echo("wrote: " + ", ".join(paths), err=True)
