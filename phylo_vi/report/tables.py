"""Tab-separated tables written atomically."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Iterable, Sequence

from phylo_vi.util.atomic import atomic_write


def _format(value: Any) -> str:
    if isinstance(value, float):
        return "nan" if math.isnan(value) else repr(value)
    return str(value)


def write_tsv(path: str | Path, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Path:
    """Write ``rows`` under ``header`` as TSV; floats keep full precision (``repr``)."""
    path = Path(path)
    with atomic_write(path) as handle:
        handle.write("\t".join(header) + "\n")
        for row in rows:
            handle.write("\t".join(_format(value) for value in row) + "\n")
    return path
