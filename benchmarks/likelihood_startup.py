"""Where the start-up of ``phylo-vi likelihood ALN TREE --model M --optimize --json`` goes, phase by phase.

Each repeat is a fresh Python process that makes the calls of the command in its order (imports,
reading the alignment and the tree, the fit, the JSON document) and records the CPU time
(``process_time``) and wall time of every phase; the table gives the minimum over the repeats
(the least disturbed run on a loaded machine). The fit is timed twice: the first includes loading
its kernels from Numba's on-disk cache, the second is the warm fit alone. Numba's cache is warmed
by one unrecorded process first. Data from ``../shared`` beside the repository, or
``$PHYLO_VI_SHARED``.

Usage: ``python benchmarks/likelihood_startup.py [--model JC] [--repeats 5]``
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

SHARED = Path(os.environ.get("PHYLO_VI_SHARED", Path(__file__).resolve().parents[2] / "shared"))
REFERENCE = SHARED / "data" / "reference"
ALIGNMENT, TREE = REFERENCE / "DS1.fasta", REFERENCE / "DS1_treeA_mapJC.nwk"


def _phases(model: str) -> list[tuple[str, float, float]]:
    """The command's calls in order, with (phase, CPU seconds, wall seconds) after each."""
    marks = [("start", time.process_time(), time.perf_counter())]

    def mark(name: str) -> None:
        marks.append((name, time.process_time(), time.perf_counter()))

    import numpy  # noqa: F401
    mark("import numpy")
    import numba  # noqa: F401
    mark("import numba")
    import scipy.optimize  # noqa: F401
    mark("import scipy.optimize")
    import phylo_vi.cli.likelihood  # noqa: F401
    import phylo_vi.cli.main  # noqa: F401
    mark("import phylo_vi.cli")
    from phylo_vi.cli.likelihood_fit import fit_document
    mark("import cli.likelihood_fit (phylo_vi.io, Biopython)")
    from phylo_vi.likelihood.model_selection import compare_models
    mark("import phylo_vi.likelihood (kernel dispatchers)")
    from phylo_vi.io import read_alignment
    from phylo_vi.io.trees import read_trees
    patterns = read_alignment(ALIGNMENT).site_patterns()
    mark("read alignment")
    tree = list(read_trees(TREE, burnin=0.0))[0]
    mark("read tree (first cache load: Numba's initialisation)")
    patterns = patterns.match_taxa(tree.taxa)
    fits = compare_models(patterns, tree, [model])
    mark(f"fit {model} (kernels loaded from the cache)")
    json.dumps(fit_document(fits[0]))
    mark("JSON document")
    compare_models(patterns, tree, [model])
    mark(f"fit {model} again (warm)")
    return [(name, cpu - marks[i][1], wall - marks[i][2]) for i, (name, cpu, wall) in enumerate(marks[1:])]


def run(model: str, repeats: int) -> dict:
    command = [sys.executable, __file__, "--child", "--model", model]
    subprocess.run(command, check=True, capture_output=True)                  # warm Numba's on-disk cache
    runs = [json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout)
            for _ in range(repeats)]
    names = [name for name, _, _ in runs[0]]
    return {"benchmark": "likelihood start-up", "model": model, "repeats": repeats, "statistic": "minimum",
            "phases": [{"phase": name, "cpu": min(r[i][1] for r in runs), "wall": min(r[i][2] for r in runs)}
                       for i, name in enumerate(names)]}


def markdown(document: dict) -> str:
    lines = [f"`phylo-vi likelihood DS1.fasta DS1_treeA_mapJC.nwk --model {document['model']} --optimize --json`, "
             f"phase by phase: minimum of {document['repeats']} fresh processes.", "",
             "| phase | CPU ms | wall ms |", "|---|---:|---:|"]
    for phase in document["phases"]:
        lines.append(f"| {phase['phase']} | {1e3 * phase['cpu']:.1f} | {1e3 * phase['wall']:.1f} |")
    startup = [p for p in document["phases"] if "again" not in p["phase"]]
    lines.append(f"| total (without the warm fit) | {1e3 * sum(p['cpu'] for p in startup):.1f} | "
                 f"{1e3 * sum(p['wall'] for p in startup):.1f} |")
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="JC")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(_phases(args.model)))
        return
    document = run(args.model, args.repeats)
    print(json.dumps(document, indent=2) if args.json else markdown(document))


if __name__ == "__main__":
    main()
