"""Discrete gradient estimators at equal cost: time and variance relative to REINFORCE.

Anchor: plain REINFORCE with the same number of cost evaluations, measured in the same run.
For each problem and estimator the script repeats ``phylo_vi.vi.estimator_comparison`` runs
and reports the median ratio of time per estimate and of total variance to the anchor's.

    python benchmarks/vi_estimators.py [--repeats 5] [--n-repeats 4000] [--device cpu] [--json]
"""
from __future__ import annotations

import argparse
import json
import statistics

from phylo_vi.vi.estimator_comparison import ESTIMATORS, PROBLEMS, compare_estimators

ANCHOR = "reinforce"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="independent runs (median reported)")
    parser.add_argument("--n-repeats", type=int, default=4000, help="gradient estimates per run")
    parser.add_argument("--n-evaluations", type=int, default=4)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rows = []
    for problem in PROBLEMS:
        runs = [compare_estimators(problem, n_evaluations=args.n_evaluations, n_repeats=args.n_repeats,
                                   device=args.device, random_state=1000 * r) for r in range(args.repeats)]
        for name in ESTIMATORS:
            time_ratio, variance_ratio, bias = [], [], []
            for run in runs:
                by_name = {e["name"]: e for e in run["estimators"]}
                time_ratio.append(by_name[name]["time_per_estimate_s"] / by_name[ANCHOR]["time_per_estimate_s"])
                variance_ratio.append(by_name[name]["variance"] / by_name[ANCHOR]["variance"])
                bias.append(by_name[name]["bias"])
            rows.append({"problem": problem, "estimator": name, "time_ratio": statistics.median(time_ratio),
                         "variance_ratio": statistics.median(variance_ratio), "median_bias": statistics.median(bias),
                         "anchor_time_per_estimate_s": statistics.median(
                             {e["name"]: e for e in run["estimators"]}[ANCHOR]["time_per_estimate_s"] for run in runs)})
    if args.json:
        print(json.dumps({"anchor": ANCHOR, "device": args.device, "n_evaluations": args.n_evaluations,
                          "n_repeats": args.n_repeats, "repeats": args.repeats, "rows": rows}, indent=2))
        return
    print(f"anchor: {ANCHOR} ({args.n_evaluations} evaluations per estimate, device {args.device}); "
          f"medians of {args.repeats} runs of {args.n_repeats} estimates\n")
    print("| problem | estimator | time / anchor | variance / anchor | bias |")
    print("|---|---|---|---|---|")
    for row in rows:
        print(f"| {row['problem']} | {row['estimator']} | {row['time_ratio']:.3g} | {row['variance_ratio']:.3g} "
              f"| {row['median_bias']:.2g} |")


if __name__ == "__main__":
    main()
