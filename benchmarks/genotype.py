"""Noise elimination on the PhISCS-simulated matrices: phylo_vi versus HUNTRESS and ScisTree2.

For every noisy matrix of ``../shared/data/genotype/phiscs_sim/noisy`` (100 x 100; fp in
{1e-4, 3e-4}, fn in {0.05, 0.1, 0.2}; trees simNo 1-3) this runs, in one process and on the same
inputs:

- ``input``: the noisy matrix itself (do nothing);
- ``network``: phylo_vi's pointer network alone (shipped weights, beam search), before repair;
- ``repair``: phylo_vi's exact conflict-free repair alone (no network);
- ``phylo_vi``: the denoiser as ``phylo-vi genotype denoise --network auto`` runs it;
- ``HUNTRESS``: ``scphylo.tl.huntress(df, alpha=fp, beta=fn, n_threads=1)`` (scphylo-tools);
- ``ScisTree2``: ``ScisTree2(threads=1).infer`` with P(genotype 0) = fp where 1 was observed,
  1 - fn where 0 was observed.

Per noise setting it reports the means over trees of entry error, ancestor–descendant and
different-lineage accuracy (HUNTRESS definitions), the number of conflict-free outputs and the
median wall time, with time also as a ratio to ScisTree2 (the anchor) measured in the same run.
It then trains the two fully connected classifiers on simulated 10 x 10 sets and reports their
held-out accuracy next to the exact checks.

Usage: ``python benchmarks/genotype.py [--data DIR] [--trees 1,2,3] [--no-huntress] [--json]``
(peers come from the ``benchmarks`` extra: ``pip install phylo_vi[benchmarks]``).

``--suite hard`` runs the settings of issue 17 instead: the ground-truth trees simNo 1-3 with
FN 0.1, FP 1e-3, missing 5/15/25% and doublets 0/2/5% added by :func:`add_doublets` and
:func:`add_noise` (seeded), plus clonal simulations of 1,000 x 100 and 300 x 300 (15% missing).
Every matrix goes, in one run, through: ``phylo_vi`` as ``phylo-vi genotype denoise`` runs it
with no rates given (rates estimated, network as ``--network auto``), the network only, the repair
alone and network + repair (true rates), HUNTRESS and ScisTree2 (true rates). Per setting: entry
error (all cells, and singlets only), AD/DL accuracy, conflict-free count, median time, and the
estimated FP/FN rates next to the oracle rates (the M-step applied to the truth). ``--trees``
and ``--no-scale`` run a subset (the same matrices: every setting is drawn); ``--no-peers`` and
``--no-huntress`` skip peers; ``--json`` keeps every (matrix, method) record, and ``--merge`` prints
the table of several such runs (subsets run side by side; ``--only TEXT`` keeps the settings whose
label contains TEXT).

``--suite real`` runs the five real data sets of ``../shared/data/genotype/real`` (no ground
truth): phylo_vi estimates the rates, then every method's matrix (phylo_vi, the network only,
HUNTRESS and ScisTree2, the last three under those rates) is scored by its log-likelihood under
those rates, its number of flips, its clones and its time.

``--suite network`` measures what the pointer network adds, by matrix size (20 x 20 to 300 x 300,
``--matrices`` clonal simulations each): entry error and time of the input, the network only, the
repair alone and network + repair (with how often the repair started from the network's matrix
scored higher than the repair from the observation), under the true rates.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch

from phylo_vi.genotype import denoise, evaluate, is_conflict_free, load_network, log_likelihood, read_genotype
from phylo_vi.genotype.denoise import network_flips
from phylo_vi.genotype.rates import rates_given_matrix
from phylo_vi.genotype.repair import repair
from phylo_vi.genotype.simulate import add_doublets, add_noise, simulate_clonal

NAME = re.compile(r"simNo_(\d+)-.*-fp_([0-9.]+)-fn_([0-9.]+)-")


def run_huntress(values, fp, fn):
    import pandas as pd
    import scphylo as scp

    df = pd.DataFrame(values, index=[f"cell{i}" for i in range(len(values))],
                      columns=[f"mut{j}" for j in range(values.shape[1])])
    with contextlib.redirect_stdout(sys.stderr):  # scphylo logs on stdout; keep --json output clean
        return scp.tl.huntress(df, alpha=fp, beta=fn, n_threads=1).values.astype(np.int8)


def run_scistree2(values, fp, fn):
    from scistree2 import ScisTree2
    from scistree2.probability import from_probs

    prob0 = np.where(values == 1, fp, np.where(values == 0, 1 - fn, 0.5)).T  # sites x cells
    _, genotypes, _ = ScisTree2(threads=1, verbose=False).infer(from_probs(prob0))
    return np.asarray(genotypes).T.astype(np.int8)


def classifier_rows(seed: int) -> list[dict]:
    from phylo_vi.genotype.classifiers import (MatrixClassifier, branching_dataset, compare_with_exact,
                                               noise_dataset)

    rows = []
    x, y = noise_dataset(1000, 10, 10, fp=1e-3, fn=0.1, model="clonal", random_state=seed)
    xt, yt = noise_dataset(400, 10, 10, fp=1e-3, fn=0.1, model="clonal", random_state=seed + 1)
    clf = MatrixClassifier(task="noise", n_epochs=40, random_state=seed).fit(x, y)
    rows.append({"set": "noise, clonal 10x10, fp 1e-3 fn 0.1", **compare_with_exact(clf, xt, yt).as_dict()})
    for fp, fn in ((0.0, 0.0), (1e-3, 0.1)):
        x, y, _ = branching_dataset(1000, 10, 10, n_clones=4, fp=fp, fn=fn, random_state=seed + 2)
        xt, yt, _ = branching_dataset(400, 10, 10, n_clones=4, fp=fp, fn=fn, random_state=seed + 3)
        clf = MatrixClassifier(task="branching", n_epochs=40, random_state=seed).fit(x, y)
        rows.append({"set": f"branching, clonal 10x10, fp {fp} fn {fn}",
                     **compare_with_exact(clf, xt, yt, fp=max(fp, 1e-3), fn=max(fn, 0.1)).as_dict()})
    return rows


def hard_settings(data: Path, seed: int):
    """(label, tree, truth, observed, fp, fn, doublet rate, doublet mask) of the issue-17 settings
    (module docstring); every setting is drawn, whatever subset runs, so a subset sees the same matrices."""
    rng = np.random.default_rng(seed)
    fp, fn = 1e-3, 0.1
    for sim in (1, 2, 3):
        truth = read_genotype(next((data / "ground").glob(f"simNo_{sim}-*.SC"))).values
        for missing in (0.05, 0.15, 0.25):
            for doublet in (0.0, 0.02, 0.05):
                merged, doublets = add_doublets(truth, doublet, random_state=rng)
                observed = add_noise(merged, fp, fn, missing, random_state=rng)
                label = f"simNo 1-3, missing {missing:g}, doublets {doublet:g}"
                yield label, sim, truth, observed, fp, fn, doublet, doublets
    for n, m in ((1000, 100), (300, 300)):
        truth = simulate_clonal(n, m, 10, random_state=rng)
        yield f"clonal {n} x {m}, missing 0.15", None, truth, add_noise(truth, fp, fn, 0.15, random_state=rng), \
            fp, fn, 0.0, np.zeros(n, bool)


def peer_methods(args) -> dict:
    """HUNTRESS and ScisTree2 (those installed, unless skipped), called as ``method(values, fp, fn)``."""
    methods = {}
    if args.no_peers:
        return methods
    with contextlib.suppress(ImportError):
        import scistree2  # noqa: F401
        methods["ScisTree2"] = run_scistree2
    if not args.no_huntress:
        with contextlib.suppress(ImportError):
            import scphylo  # noqa: F401  (imported once, outside the timings)
            methods["HUNTRESS"] = run_huntress
    return methods


def hard_records(args) -> list[dict]:
    """One record per (matrix, method) of the hard settings selected by ``--trees``/``--no-scale``."""
    network = load_network()
    trees = {int(t) for t in args.trees.split(",") if t}

    def phylo_vi(v, fp, fn, d):  # the default of `phylo-vi genotype denoise` (no rates given)
        return denoise(v, network=False, doublet_rate=0.02 if d else 0.0, random_state=args.seed)

    methods = {
        "phylo_vi (rates estimated)": phylo_vi,
        "network only": lambda v, fp, fn, d: network_flips(network, v, fp, fn, n_candidates=args.candidates,
                                                           random_state=args.seed),
        "repair (true rates)": lambda v, fp, fn, d: repair(v, fp, fn, doublet_rate=d),
        "network + repair (true rates)": lambda v, fp, fn, d: denoise(
            v, fp, fn, network=network, doublet_rate=d, n_candidates=args.candidates, random_state=args.seed),
        **{name: (lambda run: lambda v, fp, fn, d: run(v, fp, fn))(run) for name, run in peer_methods(args).items()},
    }
    repair(np.zeros((4, 3), np.int8), 0.01, 0.1)  # compile the Numba kernels outside the timings
    records = []
    for label, tree, truth, observed, fp, fn, doublet, doublets in hard_settings(args.data, args.seed):
        if (tree is not None and tree not in trees) or (tree is None and args.no_scale) or args.only not in label:
            continue
        oracle_fp, oracle_fn = rates_given_matrix(observed, truth, doublets)
        for name, method in methods.items():
            start = time.perf_counter()
            result = method(observed, fp, fn, doublet)
            seconds = time.perf_counter() - start
            predicted = getattr(result, "matrix", result)
            score = evaluate(truth, predicted)
            singlets = ~doublets
            rec = {"setting": label, "tree": tree, "method": name, "seconds": seconds, **score.as_dict(),
                   "singlet_error": float(np.mean(predicted[singlets] != truth[singlets])),
                   "oracle_fp": oracle_fp, "oracle_fn": oracle_fn}
            if getattr(result, "rates", None) is not None:
                rec.update(fp_hat=result.rates.fp, fn_hat=result.rates.fn, doublet_hat=result.rates.doublet)
            if getattr(result, "doublets", None) is not None:
                rec.update(called=int(result.doublets.sum()), called_right=int((result.doublets & doublets).sum()),
                           true_doublets=int(doublets.sum()))
            records.append(rec)
            print(f"{label} tree {tree} {name}: error {score.entry_error:.4f} cf {score.conflict_free} "
                  f"{seconds:.2f}s", file=sys.stderr, flush=True)
    return records


def hard_table(records: list[dict]) -> list[dict]:
    """Per (setting, method): means over matrices, the median time and the conflict-free count."""
    grouped = defaultdict(lambda: defaultdict(list))
    for rec in records:
        grouped[rec["setting"]][rec["method"]].append(rec)
    table = []
    for label, by_method in grouped.items():
        for name, recs in by_method.items():
            row = {"setting": label, "method": name, "n": len(recs)}
            for key in recs[0]:
                if key in ("setting", "method", "tree"):
                    continue
                values = [r[key] for r in recs]
                row[key] = float(np.median(values)) if key == "seconds" else float(np.nanmean(values))
            row["conflict_free"] = int(sum(r["conflict_free"] for r in recs))
            table.append(row)
    return table


def hard_suite(args) -> int:
    if args.merge:
        records = [rec for path in args.merge for rec in json.loads(Path(path).read_text())["records"]]
    else:
        records = hard_records(args)
    table = hard_table(records)
    if args.json:
        json.dump({"benchmark": "genotype-hard", "rows": table, "records": records}, sys.stdout, indent=2)
        print()
        return 0
    print("| setting | method | entry error | singlet error | AD | DL | CF | median s | FP est / oracle "
          "| FN est / oracle | doublets called (right) / true |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in table:
        rates = (f"{r['fp_hat']:.5f} / {r['oracle_fp']:.5f} | {r['fn_hat']:.4f} / {r['oracle_fn']:.4f}"
                 if "fp_hat" in r else "— | —")
        calls = f"{r['called']:.1f} ({r['called_right']:.1f}) / {r['true_doublets']:.1f}" if "called" in r else "—"
        print(f"| {r['setting']} | {r['method']} | {r['entry_error']:.4f} | {r['singlet_error']:.4f} "
              f"| {r['ancestor_descendant']:.4f} | {r['different_lineage']:.4f} | {r['conflict_free']}/{r['n']} "
              f"| {r['seconds']:.2f} | {rates} | {calls} |")
    return 0


NETWORK_SHAPES = ((20, 20), (50, 50), (100, 100), (300, 300))


def network_suite(args) -> int:
    """What the pointer network adds: input, network only, repair alone and network + repair (true
    rates) on ``--matrices`` clonal simulations per shape (10 clones, at most one per 3 cells; FP 1e-3,
    FN 0.1, 15% missing)."""
    network = load_network()
    rng = np.random.default_rng(args.seed)
    methods = {
        "input": lambda v, fp, fn: np.where(v == 3, 0, v).astype(np.int8),
        "network only": lambda v, fp, fn: network_flips(network, v, fp, fn, n_candidates=args.candidates,
                                                        random_state=args.seed),
        "repair": lambda v, fp, fn: repair(v, fp, fn).matrix,
        "network + repair": lambda v, fp, fn: denoise(v, fp, fn, network=network, n_candidates=args.candidates,
                                                      random_state=args.seed),
    }
    repair(np.zeros((4, 3), np.int8), 0.01, 0.1)  # compile the Numba kernels outside the timings
    rows = []
    for n, m in (tuple(int(x) for x in shape.split("x")) for shape in args.shapes.split(",")):
        records = defaultdict(list)
        for _ in range(args.matrices):
            truth = simulate_clonal(n, m, min(10, n // 3), random_state=rng)
            observed = add_noise(truth, 1e-3, 0.1, 0.15, random_state=rng)
            for name, method in methods.items():
                start = time.perf_counter()
                result = method(observed, 1e-3, 0.1)
                seconds = time.perf_counter() - start
                predicted = getattr(result, "matrix", result)
                records[name].append((float(np.mean(predicted != truth)), seconds, is_conflict_free(predicted),
                                      getattr(result, "network_start_kept", False)))
        for name, recs in records.items():
            errors, seconds, free, kept = zip(*recs)
            rows.append({"shape": f"{n}x{m}", "method": name, "n": len(recs), "entry_error": float(np.mean(errors)),
                         "max_error": float(np.max(errors)), "conflict_free": int(sum(free)),
                         "network_start_kept": int(sum(kept)), "seconds": float(np.median(seconds))})
            print(f"{n}x{m} {name}: error {rows[-1]['entry_error']:.4f} {rows[-1]['seconds']:.2f}s", file=sys.stderr,
                  flush=True)
    if args.json:
        json.dump({"benchmark": "genotype-network", "rows": rows}, sys.stdout, indent=2)
        print()
        return 0
    print("| shape | method | n | mean entry error | max entry error | CF | network start kept | median s |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        kept = f"{r['network_start_kept']}/{r['n']}" if r["method"] == "network + repair" else "—"
        print(f"| {r['shape']} | {r['method']} | {r['n']} | {r['entry_error']:.4f} | {r['max_error']:.4f} "
              f"| {r['conflict_free']}/{r['n']} | {kept} | {r['seconds']:.2f} |")
    return 0


REAL_SETS = {"ALL patient 6": "ALL_Gawad2014_patient6_146x10.SC", "CRC1": "CRC1_Leung2017_178x16.SC",
             "TNBC": "tnbc_Wang2014_16x20.SC", "ER+ breast (Navin)": "scite_dataNavin.csv",
             "ccRCC (Xu)": "scite_dataXu.csv"}


def real_suite(args) -> int:
    folder = args.data.parent / "real"
    network = load_network()
    repair(np.zeros((4, 3), np.int8), 0.01, 0.1)  # compile the Numba kernels outside the timings
    rows = []
    for name, file in REAL_SETS.items():
        observed = read_genotype(folder / file).values
        start = time.perf_counter()
        result = denoise(observed, network=False, random_state=args.seed)
        outputs = {"phylo_vi": (result.matrix, time.perf_counter() - start)}
        fp, fn = result.fp, result.fn
        start = time.perf_counter()
        matrix = network_flips(network, observed, fp, fn, n_candidates=args.candidates, random_state=args.seed)
        outputs["network only"] = (matrix, time.perf_counter() - start)
        for method, run in peer_methods(args).items():
            start = time.perf_counter()
            matrix = run(observed, fp, fn)
            outputs[method] = (matrix, time.perf_counter() - start)
        filled = np.where(observed == 3, 0, observed)
        for method, (matrix, seconds) in outputs.items():
            rows.append({"data": name, "shape": "x".join(map(str, observed.shape)), "method": method,
                         "fp": fp, "fn": fn, "missing": result.rates.missing,
                         "log_likelihood": log_likelihood(observed, matrix, fp, fn),
                         "flips": int((matrix != filled)[observed != 3].sum()), "conflict_free": is_conflict_free(matrix),
                         "clones": len(np.unique(matrix, axis=0)), "seconds": seconds})
            print(f"{name} {method}: log-lik {rows[-1]['log_likelihood']:.1f} {seconds:.2f}s", file=sys.stderr,
                  flush=True)
    if args.json:
        json.dump({"benchmark": "genotype-real", "rows": rows}, sys.stdout, indent=2)
        print()
        return 0
    print("| data | cells x muts | method | est. FP | est. FN | missing | log-lik (est. rates) | flips | clones | CF "
          "| s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['data']} | {r['shape']} | {r['method']} | {r['fp']:.2g} | {r['fn']:.3f} | {r['missing']:.3f} "
              f"| {r['log_likelihood']:.1f} | {r['flips']} | {r['clones']} | {r['conflict_free']} | {r['seconds']:.2f} |")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    shared = Path(os.environ.get("PHYLO_VI_SHARED", Path(__file__).resolve().parents[1].parent / "shared"))
    parser.add_argument("--data", type=Path, default=shared / "data/genotype/phiscs_sim",
                        help="The phiscs_sim folder (default: under ../shared or $PHYLO_VI_SHARED).")
    parser.add_argument("--trees", default="1,2,3",
                        help="Ground-truth trees to run (phiscs and hard suites; empty: none).")
    parser.add_argument("--no-huntress", action="store_true", help="Skip HUNTRESS (about 45 s per matrix).")
    parser.add_argument("--no-classifiers", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--candidates", type=int, default=4, help="Beams decoded by the pointer network.")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--suite", choices=["phiscs", "hard", "real", "network"], default="phiscs",
                        help="phiscs: the shared noisy files; hard: missing data, doublets and scale (issue 17); "
                             "real: the five real data sets; network: what the pointer network adds, by size.")
    parser.add_argument("--matrices", type=int, default=5, help="network suite: simulations per shape.")
    parser.add_argument("--shapes", default=",".join(f"{n}x{m}" for n, m in NETWORK_SHAPES),
                        help="network suite: matrix shapes, cells x mutations, comma-separated.")
    parser.add_argument("--no-peers", action="store_true", help="hard and real suites: phylo_vi only.")
    parser.add_argument("--no-scale", action="store_true", help="hard suite: skip 1,000 x 100 and 300 x 300.")
    parser.add_argument("--only", default="", metavar="TEXT",
                        help="hard suite: only the settings whose label contains TEXT (e.g. 'missing 0.25').")
    parser.add_argument("--merge", nargs="+", metavar="JSON",
                        help="hard suite: print the table of the records of earlier --json runs (e.g. one per "
                             "--trees subset) instead of running.")
    args = parser.parse_args(argv)
    if args.suite in ("hard", "real", "network"):
        torch.set_num_threads(1)
        return {"hard": hard_suite, "real": real_suite, "network": network_suite}[args.suite](args)
    trees = {int(t) for t in args.trees.split(",") if t}
    torch.set_num_threads(1)  # every method on one thread, like the peers (threads=1)
    network = load_network()
    methods = {
        "input": lambda v, fp, fn: np.where(v == 3, 0, v).astype(np.int8),
        "network": lambda v, fp, fn: network_flips(network, v, fp, fn, n_candidates=args.candidates,
                                                   random_state=args.seed),
        "repair": lambda v, fp, fn: repair(v, fp, fn).matrix,
        "phylo_vi": lambda v, fp, fn: denoise(v, fp, fn, network=False, random_state=args.seed).matrix,
        "ScisTree2": run_scistree2,
    }
    if not args.no_huntress:
        import scphylo  # noqa: F401  (imported once, outside the timings)
        methods["HUNTRESS"] = run_huntress
    repair(np.zeros((4, 3), np.int8), 0.01, 0.1)  # compile the Numba kernels outside the timings
    records = defaultdict(lambda: defaultdict(list))
    for path in sorted((args.data / "noisy").glob("*.SC")):
        sim, fp, fn = NAME.search(path.name).groups()
        if int(sim) not in trees:
            continue
        fp, fn = float(fp), float(fn)
        truth = read_genotype(next((args.data / "ground").glob(f"simNo_{sim}-*.SC"))).values
        observed = read_genotype(path).values
        for name, method in methods.items():
            start = time.perf_counter()
            predicted = method(observed, fp, fn)
            seconds = time.perf_counter() - start
            score = evaluate(truth, predicted)
            rec = records[(fp, fn)][name]
            rec.append({"tree": int(sim), "seconds": seconds, **score.as_dict()})
            print(f"simNo_{sim} fp={fp} fn={fn} {name}: error {score.entry_error:.4f} "
                  f"cf {score.conflict_free} {seconds:.2f}s", file=sys.stderr, flush=True)
    table = []
    for (fp, fn), by_method in sorted(records.items()):
        anchor = float(np.median([r["seconds"] for r in by_method["ScisTree2"]]))
        for name, recs in by_method.items():
            seconds = float(np.median([r["seconds"] for r in recs]))
            table.append({
                "fp": fp, "fn": fn, "method": name, "n": len(recs),
                "entry_error": float(np.mean([r["entry_error"] for r in recs])),
                "ancestor_descendant": float(np.nanmean([r["ancestor_descendant"] for r in recs])),
                "different_lineage": float(np.nanmean([r["different_lineage"] for r in recs])),
                "conflict_free": int(sum(r["conflict_free"] for r in recs)),
                "seconds": seconds, "time_vs_scistree2": seconds / anchor})
    classifiers = [] if args.no_classifiers else classifier_rows(args.seed)
    if args.json:
        json.dump({"benchmark": "genotype", "anchor": "ScisTree2", "rows": table, "classifiers": classifiers},
                  sys.stdout, indent=2)
        print()
        return 0
    print("| fp | fn | method | entry error | AD acc | DL acc | conflict-free | median s | x ScisTree2 |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in table:
        print(f"| {r['fp']:g} | {r['fn']:g} | {r['method']} | {r['entry_error']:.4f} | {r['ancestor_descendant']:.4f} "
              f"| {r['different_lineage']:.4f} | {r['conflict_free']}/{r['n']} | {r['seconds']:.3f} "
              f"| {r['time_vs_scistree2']:.1f} |")
    if classifiers:
        print("\n| classifier set | n test | classifier acc | exact acc | exact method |")
        print("|---|---|---|---|---|")
        for c in classifiers:
            print(f"| {c['set']} | {c['n_test']} | {c['classifier_accuracy']:.3f} | {c['exact_accuracy']:.3f} "
                  f"| {c['exact_method']} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
