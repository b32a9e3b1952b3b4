"""``phylo-vi analyze`` against MrBayes ``sumt`` + ``sump`` on two long runs (50 taxa).

The runs are made here with MrBayes (``mb``) on DS5 (50 taxa x 378 sites, ``../shared/data``):
GTR+G, two runs of one chain, ``ngen=--ngen`` (default 100,000) sampled every generation, so
each ``.t``/``.p`` holds ngen + 1 samples (seeds fixed; ``--runs-dir`` reuses a folder that
already holds ``ds5.run{1,2}.{t,p}``). Then, on the same files:

- MrBayes: ``sump`` and ``sumt`` (defaults: 25% burn-in, halfcompat consensus) in one session;
- phylo_vi: ``phylo-vi analyze ds5 -q --threads T`` (the whole command: reading, tables, consensus,
  RWTY windows, topological ESS, figures, HTML) in a fresh process, for each T of ``--threads``
  (default 1 and 2; MrBayes sump/sumt is single-threaded): speed-ups are given per T, and the
  report folders of every T are compared byte for byte;
- equality: ``.pstat``, ``.parts``, ``.tstat``, ``.vstat`` and ``.con.tre`` of both, byte for
  byte without MrBayes' ``[ID: …]`` stamp lines;
- the approximate topological ESS of run 1 alone (in process, kernel compiled beforehand);
- peak memory (``ru_maxrss`` of the child) of ``analyze`` on the first 10%, 50% and all samples.

Wall-clock and CPU seconds are both reported (the machine may be shared).

Usage: ``python benchmarks/analyze.py [--ngen 100000] [--runs-dir DIR] [--threads 1 2] [--json]``.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("PHYLO_VI_SHARED", REPO.parent / "shared"))


def fasta_to_nexus(fasta: Path, nexus: Path) -> None:
    sequences: dict[str, str] = {}
    name = None
    for line in fasta.read_text().splitlines():
        line = line.strip()
        if line.startswith(">"):
            name = line[1:].split()[0]
            sequences[name] = ""
        elif line and name is not None:
            sequences[name] += line
    n_sites = len(next(iter(sequences.values())))
    rows = "".join(f"  {taxon} {sequence}\n" for taxon, sequence in sequences.items())
    nexus.write_text(f"#NEXUS\nbegin data;\n dimensions ntax={len(sequences)} nchar={n_sites};\n"
                     f" format datatype=dna missing=? gap=-;\n matrix\n{rows} ;\nend;\n")


def timed(command: list[str], cwd: Path) -> dict:
    """Run ``command``; wall and CPU seconds and the child's peak RSS (MiB)."""
    probe = [sys.executable, "-c", "import resource, subprocess, sys, time; t = time.perf_counter(); "
             "r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True); "
             "u = resource.getrusage(resource.RUSAGE_CHILDREN); "
             "print(time.perf_counter() - t, u.ru_utime + u.ru_stime, u.ru_maxrss / 1024, r.returncode); "
             "sys.stderr.write(r.stderr[-2000:] if r.returncode else '')", *command]
    out = subprocess.run(probe, cwd=cwd, capture_output=True, text=True, check=True)
    wall, cpu, rss, status = out.stdout.split()
    if int(status) != 0:
        raise RuntimeError(f"{' '.join(command)} failed: {out.stderr}")
    return {"wall_s": float(wall), "cpu_s": float(cpu), "peak_rss_mib": float(rss)}


def make_runs(folder: Path, ngen: int) -> float:
    fasta_to_nexus(SHARED / "data" / "DS5" / "DS5.fasta", folder / "ds5.nex")
    (folder / "run.mb").write_text(
        "set autoclose=yes nowarn=yes seed=11 swapseed=12;\nexecute ds5.nex;\nlset nst=6 rates=gamma;\n"
        f"mcmcp ngen={ngen} samplefreq=1 printfreq={max(1, ngen // 5)} diagnfreq={ngen} nruns=2 nchains=1 "
        "filename=ds5;\nmcmc;\nquit;\n")
    start = time.perf_counter()
    subprocess.run(["mb", "run.mb"], cwd=folder, stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def truncate(folder: Path, target: Path, n_samples: int) -> None:
    """The first ``n_samples`` samples of each run (trees and parameters) in ``target``."""
    target.mkdir(parents=True, exist_ok=True)
    for run in (1, 2):
        trees, kept = [], 0
        with open(folder / f"ds5.run{run}.t") as handle:
            for line in handle:
                if line.lstrip().startswith("tree "):
                    if kept == n_samples:
                        continue
                    kept += 1
                elif line.strip() == "end;":
                    continue
                trees.append(line)
        (target / f"ds5.run{run}.t").write_text("".join(trees) + "end;\n")
        lines = (folder / f"ds5.run{run}.p").read_text().splitlines(keepends=True)
        (target / f"ds5.run{run}.p").write_text("".join(lines[:2 + n_samples]))


def _stripped(path: Path) -> str:
    return "".join(line for line in path.read_text().splitlines(keepends=True) if not line.startswith("[ID:"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ngen", type=int, default=100_000)
    parser.add_argument("--runs-dir", type=Path, default=None)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2],
                        help="analyze's --threads values timed (default: 1 2)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="phylo_vi_analyze_bench_"))
    runs = args.runs_dir or work / "runs"
    runs.mkdir(parents=True, exist_ok=True)
    report: dict = {"ngen": args.ngen}
    if not (runs / "ds5.run1.t").is_file():
        report["mrbayes_mcmc_s"] = make_runs(runs, args.ngen)
    if not (runs / "ds5.nex").is_file():
        fasta_to_nexus(SHARED / "data" / "DS5" / "DS5.fasta", runs / "ds5.nex")
    mb_dir = work / "mrbayes"
    mb_dir.mkdir()
    for name in ("ds5.nex", "ds5.run1.t", "ds5.run2.t", "ds5.run1.p", "ds5.run2.p"):
        os.symlink((runs / name).resolve(), mb_dir / name)
    (mb_dir / "sum.mb").write_text(
        "set autoclose=yes nowarn=yes;\nexecute ds5.nex;\n"
        "sump filename=ds5 relburnin=yes burninfrac=0.25 nruns=2 hpd=yes;\n"
        "sumt filename=ds5 relburnin=yes burninfrac=0.25 nruns=2 hpd=yes minpartfreq=0.10 contype=halfcompat "
        "conformat=figtree;\nquit;\n")
    report["mrbayes_sump_sumt"] = timed(["mb", "sum.mb"], mb_dir)
    mrbayes = report["mrbayes_sump_sumt"]
    report["phylo_vi_analyze"] = {}
    folders = {}
    for threads in args.threads:
        ours = folders[threads] = work / f"analyze_out_{threads}"  # not "phylo_vi": the child's sys.path
        row = timed([sys.executable, "-m", "phylo_vi.cli.main", "analyze", str(runs / "ds5"), "-q", "-o", str(ours),
                     "--threads", str(threads)], work)
        row["speed_up_wall"] = mrbayes["wall_s"] / row["wall_s"]
        row["speed_up_cpu"] = mrbayes["cpu_s"] / row["cpu_s"]
        report["phylo_vi_analyze"][f"threads_{threads}"] = row
    ours = folders[args.threads[0]]
    report["identical"] = {suffix: _stripped(mb_dir / f"ds5.{suffix}") == _stripped(ours / f"ds5.{suffix}")
                           for suffix in ("pstat", "parts", "tstat", "vstat", "con.tre")}
    report["same_files_every_thread_count"] = all(
        sorted(path.name for path in folder.iterdir()) == sorted(path.name for path in ours.iterdir())
        and all((folder / path.name).read_bytes() == path.read_bytes() for path in ours.iterdir())
        for folder in folders.values())
    from phylo_vi.diagnostics.mrbayes_partitions import count_partitions
    from phylo_vi.diagnostics.tree_convergence import approximate_topological_ess
    from phylo_vi.io import read_trees

    sample = read_trees([runs / "ds5.run1.t"], burnin=0.25)
    table = count_partitions([run.batches() for run in sample.runs])
    approximate_topological_ess(table, 0)  # compile
    start = time.perf_counter()
    ess = approximate_topological_ess(table, 0)
    report["topological_ess"] = {"n_trees": int(table.n_sampled[0]), "ess": ess.ess,
                                 "seconds": time.perf_counter() - start}
    report["peak_rss_mib"] = {}
    for percent in (10, 50):
        part = work / f"first_{percent}"
        truncate(runs, part, args.ngen * percent // 100)
        report["peak_rss_mib"][f"{percent}%"] = timed(
            [sys.executable, "-m", "phylo_vi.cli.main", "analyze", str(part / "ds5"), "-q", "-o",
             str(work / f"first_{percent}_out"), "--threads", str(args.threads[0])], work)["peak_rss_mib"]
    report["peak_rss_mib"]["100%"] = report["phylo_vi_analyze"][f"threads_{args.threads[0]}"]["peak_rss_mib"]
    shutil.rmtree(work)
    if args.json:
        json.dump(report, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return
    print("| command | wall s | CPU s | peak MiB | speed-up wall | speed-up CPU |\n|---|---:|---:|---:|---:|---:|")
    rows = {"mb sump + sumt (1 thread)": mrbayes} | {f"phylo-vi analyze --threads {key.split('_')[1]}": row
                                                    for key, row in report["phylo_vi_analyze"].items()}
    for name, row in rows.items():
        speed = (f"{row['speed_up_wall']:.1f}x | {row['speed_up_cpu']:.1f}x" if "speed_up_wall" in row else "— | —")
        print(f"| {name} | {row['wall_s']:.2f} | {row['cpu_s']:.2f} | {row['peak_rss_mib']:.0f} | {speed} |")
    print(f"\nreport folders byte-identical for every --threads: {report['same_files_every_thread_count']}")
    print("identical to MrBayes: " + ", ".join(f"{k} {'yes' if v else 'NO'}" for k, v in report["identical"].items()))
    topo = report["topological_ess"]
    print(f"approximate topological ESS of {topo['n_trees']} trees: {topo['ess']:.1f} in {topo['seconds']:.2f} s")
    print("peak memory: " + ", ".join(f"{rss:.0f} MiB ({share} of the samples)"
                                      for share, rss in report["peak_rss_mib"].items()))


if __name__ == "__main__":
    main()
