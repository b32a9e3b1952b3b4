"""VAE benchmarks: the clonal-genotype VAE on the PhISCS simulations, beside the denoiser.

For every noisy matrix of ``../shared/data/genotype/phiscs_sim/noisy`` (100 cells x 100
mutations, 10 true clones; fp in {1e-4, 3e-4}, fn in {0.05, 0.1, 0.2}; trees simNo 1-3) this fits
:class:`phylo_vi.vi.vae.clonal.ClonalVAE` with each requested discrete estimator at the file's
true fp/fn and reports the adjusted Rand index of its clone assignment against the true clones
(distinct rows of the ground truth), the number of clones found (truth: 10), the entry error of
the implied genotype matrix and, in the same run, the entry error of ``phylo_vi.genotype.denoise``
(pointer network + conflict-free repair, shipped weights) and of the noisy input itself.

The estimator comparison on the digits is the CLI's:
``phylo-vi vi compare-estimators --problem vae-digits --seed 0 -o vae``.

Usage: ``python benchmarks/vae.py [--data DIR] [--estimators reinforce-loo,unordered-set]
[--steps 1500] [--seed 0] [--no-denoise] [--json]``; ``--data`` defaults to
``$PHYLO_VI_SHARED/data/genotype/phiscs_sim`` (``../shared`` beside the repository).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import time
from pathlib import Path

import torch

from phylo_vi.genotype import denoise, read_genotype
from phylo_vi.genotype.metrics import entry_error
from phylo_vi.vi.vae.clonal import ClonalVAE
from phylo_vi.vi.vae.clonal_report import score_clones

NAME = re.compile(r"simNo_(\d+)-.*-fp_([0-9.]+)-fn_([0-9.]+)-")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    shared = Path(os.environ.get("PHYLO_VI_SHARED", Path(__file__).resolve().parents[1].parent / "shared"))
    parser.add_argument("--data", type=Path, default=shared / "data" / "genotype" / "phiscs_sim")
    parser.add_argument("--estimators", default="reinforce-loo,unordered-set")
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--max-clones", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-denoise", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(1)
    rows = []
    for path in sorted((args.data / "noisy").glob("*.SC")):
        tree, fp, fn = NAME.search(path.name).groups()
        fp, fn = float(fp), float(fn)
        truth = read_genotype(args.data / "ground" / f"simNo_{tree}-s_10-m_100-n_100.ground.SC").values
        noisy = read_genotype(path).values
        row = {"tree": int(tree), "fp": fp, "fn": fn, "input_entry_error": entry_error(truth, noisy % 3)}
        if not args.no_denoise:
            began = time.perf_counter()
            row["denoise_entry_error"] = entry_error(truth, denoise(noisy, fp, fn, seed=args.seed).matrix)
            row["denoise_seconds"] = time.perf_counter() - began
        for estimator in args.estimators.split(","):
            began = time.perf_counter()
            model = ClonalVAE(fp=fp, fn=fn, max_clones=args.max_clones, estimator=estimator, n_steps=args.steps,
                              random_state=args.seed).fit(noisy)
            row[estimator] = {**score_clones(truth, model), "seconds": time.perf_counter() - began}
        rows.append(row)
        if not args.json:
            print(json.dumps(row), flush=True)
    summary = {}
    for fn in sorted({row["fn"] for row in rows}):
        subset = [row for row in rows if row["fn"] == fn]
        entry = {"input_entry_error": statistics.mean(r["input_entry_error"] for r in subset)}
        if not args.no_denoise:
            entry["denoise_entry_error"] = statistics.mean(r["denoise_entry_error"] for r in subset)
        for estimator in args.estimators.split(","):
            entry[estimator] = {key: statistics.mean(r[estimator][key] for r in subset)
                                for key in ("adjusted_rand_index", "n_clones", "entry_error", "seconds")}
            entry[estimator]["exact_clone_count"] = sum(r[estimator]["n_clones"] == 10 for r in subset)
        summary[f"fn={fn}"] = entry
    document = {"seed": args.seed, "steps": args.steps, "max_clones": args.max_clones, "files": rows,
                "summary_by_fn (means over trees and fp)": summary}
    print(json.dumps(document if args.json else summary, indent=1))


if __name__ == "__main__":
    main()
