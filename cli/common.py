"""Options shared by several subcommands, declared once."""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from phylo_vi.util.atomic import atomic_write

seed_option = click.option(
    "--seed", type=int, default=None, show_default=True,
    help="Random seed; a random one is drawn, printed and recorded when omitted.",
)
threads_option = click.option(
    "--threads", "-T", type=click.IntRange(min=1), default=1, show_default=True,
    help="Number of threads for Numba kernels.",
)
json_option = click.option("--json", "as_json", is_flag=True, help="Print one JSON document on stdout.")
out_option = click.option(
    "-o", "--out", "out_prefix", type=click.Path(dir_okay=False, path_type=Path), default=None,
    help="Output prefix for result files.",
)
quiet_option = click.option("-q", "--quiet", is_flag=True, help="No progress bar on stderr.")


def resolve_seed(seed: int | None) -> int:
    """Return ``seed``, or draw one and announce it on stderr so the run can be repeated."""
    if seed is None:
        import secrets

        seed = secrets.randbelow(2**31 - 1)
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
