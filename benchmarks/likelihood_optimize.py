"""Maximum likelihood on a fixed tree: ``phylo-vi likelihood --optimize`` against ``iqtree2 -te -nt 1``.

Both programs run as processes on the same alignment, tree and model string, in interleaved
repeats of the same run (machine load hits both alike): IQ-TREE 2 as
``iqtree2 -s ALN -te TREE -m MODEL -nt 1 -redo --quiet`` (log-likelihood read from its
checkpoint's ``CandidateSet``, 12 digits), phylo_vi as ``phylo-vi likelihood ALN TREE --model
MODEL --optimize --json -q`` (one thread). Wall time and CPU time (user + system of the child
process) are recorded; the table gives medians, ``ours - IQ-TREE`` in log-likelihood and the
time ratios phylo_vi / IQ-TREE (below 1: phylo_vi faster). Numba's on-disk cache is warmed by
one unrecorded phylo_vi run first.

The whole-process time of phylo_vi is mostly start-up (imports of numpy, Numba and scipy, Numba's
initialisation and cache loading: about 0.8 s of CPU, phase by phase in ``likelihood_startup.py``),
which IQ-TREE, a C++ program, does not pay. So each repeat also times the fit alone, in this
process: ``fit_model(patterns, tree, MODEL)`` (:func:`phylo_vi.likelihood.optimize.fit_model`, one
thread, warm: after one unrecorded fit of the case), wall (``perf_counter``) and CPU
(``process_time``), against the same IQ-TREE process times (IQ-TREE's own start-up is about 0.01 s).

Usage: ``python benchmarks/likelihood.py --optimize [--repeats 3] [--json] [--cases sim]`` (data from
``../shared`` beside the repository, or ``$PHYLO_VI_SHARED``).
"""
from __future__ import annotations

import gzip
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SHARED = Path(os.environ.get("PHYLO_VI_SHARED", Path(__file__).resolve().parents[2] / "shared"))
REFERENCE = SHARED / "data" / "reference"
CASES = [  # name, alignment, tree, model
    ("DS1 tree A JC", "DS1.fasta", "DS1_treeA_mapJC.nwk", "JC"),
    ("DS1 tree A GTR+G4", "DS1.fasta", "DS1_treeA_mapJC.nwk", "GTR+G4"),
    ("DS1 tree A HKY+I+G4", "DS1.fasta", "DS1_treeA_mapJC.nwk", "HKY+I+G4"),
    ("sim100x10000 GTR+G4", "sim100x10000.fasta", "sim100x10000.true.nwk", "GTR+G4"),
]


def _timed(command: list[str]) -> tuple[str, float, float]:
    """stdout, wall seconds and CPU seconds (user + system) of one child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return done.stdout, wall, cpu


def _phylo_vi(alignment: Path, tree: Path, model: str) -> tuple[float, float, float]:
    executable = shutil.which("phylo-vi", path=str(Path(sys.executable).parent)) or "phylo-vi"
    out, wall, cpu = _timed([executable, "likelihood", str(alignment), str(tree), "--model", model, "--optimize",
                             "--json", "-q", "--threads", "1"])
    return json.loads(out)["log_likelihood"], wall, cpu


def _iqtree(alignment: Path, tree: Path, model: str, folder: Path) -> tuple[float, float, float]:
    prefix = folder / "iq"
    _, wall, cpu = _timed(["iqtree2", "-s", str(alignment), "-te", str(tree), "-m", model, "-nt", "1", "-redo",
                           "--quiet", "--prefix", str(prefix)])
    with gzip.open(f"{prefix}.ckp.gz", "rt") as handle:
        lines = handle.read().splitlines()
    value = float(lines[lines.index("CandidateSet:") + 1].split()[1])
    return value, wall, cpu


def _fit_in_process(patterns, tree, model: str) -> tuple[float, float, float]:
    """log L, wall and CPU seconds of one warm ``fit_model`` call in this process."""
    from phylo_vi.likelihood.optimize import fit_model

    started_wall, started_cpu = time.perf_counter(), time.process_time()
    fit = fit_model(patterns, tree, model, n_threads=1)
    return fit.log_likelihood, time.perf_counter() - started_wall, time.process_time() - started_cpu


def _load(alignment: Path, tree: Path):
    from phylo_vi.io import read_alignment
    from phylo_vi.io.trees import read_trees

    patterns = read_alignment(alignment).site_patterns()
    tree = next(iter(read_trees(tree, burnin=0.0)))
    return patterns.match_taxa(tree.taxa), tree


def run(repeats: int, names: list[str] | None = None) -> dict:
    if shutil.which("iqtree2") is None:
        raise SystemExit("iqtree2 not found; install it with: apt-get install -y iqtree")
    cases = [case for case in CASES if names is None or any(n.lower() in case[0].lower() for n in names)]
    results = []
    with tempfile.TemporaryDirectory() as folder:
        first = cases[0]
        _phylo_vi(REFERENCE / first[1], REFERENCE / first[2], first[3])        # warm Numba's on-disk cache
        for name, alignment, tree, model in cases:
            samples: dict[str, list[float]] = {key: [] for key in ("ours_wall", "ours_cpu", "iqtree_wall",
                                                                   "iqtree_cpu", "fit_wall", "fit_cpu")}
            patterns, topology = _load(REFERENCE / alignment, REFERENCE / tree)
            _fit_in_process(patterns, topology, model)                            # warm: unrecorded
            for _ in range(repeats):
                ours, wall, cpu = _phylo_vi(REFERENCE / alignment, REFERENCE / tree, model)
                samples["ours_wall"].append(wall)
                samples["ours_cpu"].append(cpu)
                theirs, wall, cpu = _iqtree(REFERENCE / alignment, REFERENCE / tree, model, Path(folder))
                samples["iqtree_wall"].append(wall)
                samples["iqtree_cpu"].append(cpu)
                in_process, wall, cpu = _fit_in_process(patterns, topology, model)
                samples["fit_wall"].append(wall)
                samples["fit_cpu"].append(cpu)
            medians = {key: statistics.median(values) for key, values in samples.items()}
            results.append({"case": name, "model": model, "phylo_vi_log_likelihood": ours,
                            "iqtree_log_likelihood": theirs, "difference": ours - theirs,
                            "fit_log_likelihood": in_process, **medians,
                            "wall_ratio": medians["ours_wall"] / medians["iqtree_wall"],
                            "cpu_ratio": medians["ours_cpu"] / medians["iqtree_cpu"],
                            "fit_wall_ratio": medians["fit_wall"] / medians["iqtree_wall"],
                            "fit_cpu_ratio": medians["fit_cpu"] / medians["iqtree_cpu"], "samples": samples})
    version = subprocess.run(["iqtree2", "--version"], capture_output=True, text=True).stdout.splitlines()
    return {"benchmark": "likelihood --optimize", "anchor": (version[0] if version else "iqtree2") + ", -nt 1",
            "repeats": repeats, "statistic": "median", "cases": results}


def markdown(document: dict) -> str:
    lines = [f"Anchor: {document['anchor']}; medians of {document['repeats']} interleaved repeats. Process: whole "
             "processes; fit: phylo_vi's fit_model alone in process (warm) against the IQ-TREE process. "
             "Ratios phylo_vi / IQ-TREE, wall (CPU).",
             "", "| case | phylo_vi log L | IQ-TREE log L | difference | phylo_vi process wall / CPU s "
             "| phylo_vi fit wall / CPU s | IQ-TREE wall / CPU s | process ratio | fit ratio |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for c in document["cases"]:
        lines.append(f"| {c['case']} | {c['phylo_vi_log_likelihood']:.4f} | {c['iqtree_log_likelihood']:.4f} | "
                     f"{c['difference']:+.4f} | {c['ours_wall']:.2f} / {c['ours_cpu']:.2f} | "
                     f"{c['fit_wall']:.3f} / {c['fit_cpu']:.3f} | {c['iqtree_wall']:.2f} / {c['iqtree_cpu']:.2f} | "
                     f"{c['wall_ratio']:.2f} ({c['cpu_ratio']:.2f}) | {c['fit_wall_ratio']:.2f} "
                     f"({c['fit_cpu_ratio']:.2f}) |")
    return "\n".join(lines)
