"""Tree likelihood throughput: phylo_vi's Numba engine against BEAGLE 3.1.2 (CPU, SSE, double).

Both engines evaluate the same alignment, tree and model in the same process and the same run,
in interleaved rounds, so machine load hits both alike. One *evaluation* is everything a
sampler pays when branch lengths change: transition matrices, post-order partials, root
likelihood. A *gradient* is d log L / dt for every branch.

BEAGLE is called through its C API with ctypes (Debian ``libhmsbeagle-dev``), single thread,
``BEAGLE_FLAG_VECTOR_SSE | PRECISION_DOUBLE | PROCESSOR_CPU``, tip states in compact buffers,
no rescaling (its fastest setting; on these data no site underflows, and the log-likelihoods
of the two engines are checked to agree before timing). The trifurcating root is evaluated as
an edge likelihood. BEAGLE 3.1.2 has no pre-order API, so its gradient is the usual
3.x recipe: the post-order pass, a second traversal building the partial *above* every edge
(``updatePartials`` with the parent's upper partial and the sibling), then
``calculateEdgeLogLikelihoods`` with first-derivative matrices on every edge.

phylo_vi evaluates with site repeats (its default, :mod:`phylo_vi.likelihood.site_repeats`); the
same evaluation without them (``site_repeats=False``, every pattern pruned) is timed too and
reported beside it, and the gradient's cost is given in both kinds of evaluation.

Usage: ``python benchmarks/likelihood.py [--rounds 7] [--seconds 0.3] [--clock wall|cpu] [--json]``. Prints a
markdown table (medians over rounds, phylo_vi/BEAGLE throughput ratios), or one JSON document.

``--large-tree N [--sites S]`` instead times one tree of N taxa (``likelihood.simulate``: random joins,
JC69 alignment of S sites): building the tree, simulating, building the likelihood, a log-likelihood
(compiled), a gradient, and the peak resident memory after each of the last two (no anchor: BEAGLE
would hold every node's partials, 6 GB at N = 100,000 and S = 1,000).

``--optimize [--repeats 3] [--cases NAME...]``: maximum-likelihood fits against ``iqtree2 -te`` instead
(:mod:`likelihood_optimize`).
"""
from __future__ import annotations

import argparse
import ctypes
import json
import os
import resource
import statistics
import sys
import time
from pathlib import Path

import numpy as np

REFERENCE = Path(os.environ.get("PHYLO_VI_SHARED", Path(__file__).resolve().parents[2] / "shared")) / "data" / "reference"
GTR_G4 = "GTR{0.7322,1.113,0.6498,1.878,3.333}+F{0.2340,0.2568,0.2799,0.2293}+G4{0.1124}"
SIM_MODEL = "GTR{1.2,3.1,0.8,0.9,4.0}+F{0.30,0.20,0.22,0.28}+G4{0.5}"
CASES = [  # name, alignment, tree, model, what
    ("DS1 tree A JC69", "DS1.fasta", "DS1_treeA_mapJC.nwk", "JC", "likelihood"),
    ("DS1 tree A GTR+G4", "DS1.fasta", "DS1_treeA_mapJC.nwk", GTR_G4, "likelihood"),
    ("sim100x10000 GTR+G4", "sim100x10000.fasta", "sim100x10000.true.nwk", SIM_MODEL, "likelihood"),
    ("DS1 tree A JC69 gradient", "DS1.fasta", "DS1_treeA_mapJC.nwk", "JC", "gradient"),
]

FLAG_PRECISION_DOUBLE = 1 << 1
FLAG_COMPUTATION_SYNCH = 1 << 2
FLAG_SCALING_MANUAL = 1 << 6
FLAG_VECTOR_SSE = 1 << 11
FLAG_THREADING_NONE = 1 << 14
FLAG_PROCESSOR_CPU = 1 << 15
FLAG_FRAMEWORK_CPU = 1 << 27
OP_NONE = -1


class _Details(ctypes.Structure):
    _fields_ = [("resourceNumber", ctypes.c_int), ("resourceName", ctypes.c_char_p),
                ("implName", ctypes.c_char_p), ("implDescription", ctypes.c_char_p), ("flags", ctypes.c_long)]


def _ints(values) -> ctypes.Array:
    values = list(values)
    return (ctypes.c_int * max(1, len(values)))(*values)


def _doubles(values) -> ctypes.Array:
    values = np.ascontiguousarray(values, dtype=np.float64).ravel()
    return (ctypes.c_double * max(1, len(values)))(*values.tolist())


class BeagleEngine:
    """One BEAGLE instance for one binary tree with a trifurcating root (node numbering of ``Tree``)."""

    def __init__(self, patterns, tree, model):
        try:
            self.lib = lib = ctypes.CDLL("libhmsbeagle.so.1")
        except OSError as exc:
            raise SystemExit(f"BEAGLE not found ({exc}); install it with: apt-get install -y libhmsbeagle-dev")
        lib.beagleCalculateEdgeLogLikelihoods.argtypes = [ctypes.c_int] + [ctypes.c_void_p] * 8 + [
            ctypes.c_int, ctypes.POINTER(ctypes.c_double), ctypes.POINTER(ctypes.c_double),
            ctypes.POINTER(ctypes.c_double)]
        children = [tree.children(u).tolist() for u in range(tree.n_nodes)]
        self.root = tree.root
        if len(children[self.root]) != 3 or any(len(c) not in (0, 2) for c in children[:-1]):
            raise ValueError("the BEAGLE harness expects a binary tree drawn with a trifurcating root")
        n_tips = patterns.n_taxa
        self.n_nodes = n = tree.n_nodes
        self.children = children
        self.leaf = tree.taxon
        self.n_branches = n - 1
        details = _Details()
        preference = (FLAG_PROCESSOR_CPU | FLAG_VECTOR_SSE | FLAG_PRECISION_DOUBLE | FLAG_SCALING_MANUAL
                      | FLAG_THREADING_NONE | FLAG_COMPUTATION_SYNCH | FLAG_FRAMEWORK_CPU)
        requirement = FLAG_PROCESSOR_CPU | FLAG_PRECISION_DOUBLE | FLAG_VECTOR_SSE
        self.instance = lib.beagleCreateInstance(
            n_tips, 2 * n + n_tips, n_tips, 4, patterns.n_patterns, 1, 3 * n, model.n_categories, 0, None, 0,
            ctypes.c_long(preference), ctypes.c_long(requirement), ctypes.byref(details))
        if self.instance < 0:
            raise RuntimeError(f"beagleCreateInstance failed with code {self.instance}")
        self.implementation = details.implName.decode()
        state_of = {1: 0, 2: 1, 4: 2, 8: 3, 15: 4}
        for row in range(n_tips):
            codes = patterns.codes[row]
            if not set(np.unique(codes).tolist()) <= set(state_of):
                raise ValueError("the BEAGLE harness takes unambiguous states or missing data only")
            lib.beagleSetTipStates(self.instance, row, _ints(state_of[int(c)] for c in codes))
        eig = model.eigen()
        lib.beagleSetEigenDecomposition(self.instance, 0, _doubles(eig.vectors), _doubles(eig.inverse),
                                        _doubles(eig.values))
        lib.beagleSetStateFrequencies(self.instance, 0, _doubles(model.frequencies))
        lib.beagleSetCategoryWeights(self.instance, 0, _doubles(model.category_weights()))
        lib.beagleSetCategoryRates(self.instance, _doubles(model.category_rates()))
        lib.beagleSetPatternWeights(self.instance, _doubles(patterns.weights))
        self.n_tips = n_tips
        self._build_operations()

    def _buffer(self, node: int) -> int:
        return int(self.leaf[node]) if self.leaf[node] >= 0 else self.n_tips + node

    def _upper(self, node: int) -> int:
        return self.n_tips + self.n_nodes + node

    def _build_operations(self) -> None:
        n = self.n_nodes
        post = []
        for u in range(n):
            kids = self.children[u]
            if kids:
                a, b = kids[0], kids[1]
                post += [self._buffer(u), OP_NONE, OP_NONE, self._buffer(a), a, self._buffer(b), b]
        self.post_ops = _ints(post)
        self.n_post = len(post) // 7
        pre = []
        for u in range(n - 1, -1, -1):
            kids = self.children[u]
            for v in kids:
                others = [s for s in kids if s != v]
                if u == self.root:
                    s1, s2 = others
                    pre += [self._upper(v), OP_NONE, OP_NONE, self._buffer(s1), s1, self._buffer(s2), s2]
                else:
                    (s,) = others
                    pre += [self._upper(v), OP_NONE, OP_NONE, self._upper(u), u, self._buffer(s), s]
        self.pre_ops = _ints(pre)
        self.n_pre = len(pre) // 7
        self.branches = _ints(range(n - 1))
        self.derivative_matrices = _ints(range(n, 2 * n - 1))
        third = self.children[self.root][2]
        self.root_parent, self.root_child, self.root_matrix = _ints([self._buffer(self.root)]), \
            _ints([self._buffer(third)]), _ints([third])
        self.zero = _ints([0])
        self.none = _ints([OP_NONE])
        self.edge_args = [(_ints([self._upper(v)]), _ints([self._buffer(v)]), _ints([v]), _ints([n + v]))
                          for v in range(n - 1)]

    def log_likelihood(self, branch_lengths: np.ndarray) -> float:
        lib, inst = self.lib, self.instance
        lengths = branch_lengths.ctypes.data_as(ctypes.POINTER(ctypes.c_double))
        lib.beagleUpdateTransitionMatrices(inst, 0, self.branches, None, None, lengths, self.n_branches)
        lib.beagleUpdatePartials(inst, self.post_ops, self.n_post, OP_NONE)
        out = ctypes.c_double()
        lib.beagleCalculateEdgeLogLikelihoods(inst, self.root_parent, self.root_child, self.root_matrix, None, None,
                                              self.zero, self.zero, self.none, 1, ctypes.byref(out), None, None)
        return out.value

    def gradient(self, branch_lengths: np.ndarray) -> tuple[float, np.ndarray]:
        lib, inst = self.lib, self.instance
        lengths = branch_lengths.ctypes.data_as(ctypes.POINTER(ctypes.c_double))
        lib.beagleUpdateTransitionMatrices(inst, 0, self.branches, self.derivative_matrices, None, lengths,
                                           self.n_branches)
        lib.beagleUpdatePartials(inst, self.post_ops, self.n_post, OP_NONE)
        lib.beagleUpdatePartials(inst, self.pre_ops, self.n_pre, OP_NONE)
        gradient = np.empty(self.n_branches)
        out, first = ctypes.c_double(), ctypes.c_double()
        for v, (parent, child, matrix, derivative) in enumerate(self.edge_args):
            lib.beagleCalculateEdgeLogLikelihoods(inst, parent, child, matrix, derivative, None, self.zero,
                                                  self.zero, self.none, 1, ctypes.byref(out), ctypes.byref(first),
                                                  None)
            gradient[v] = first.value
        return out.value, gradient


#: clocks for ``--clock``: elapsed time, or CPU time of this process (both engines run single-threaded
#: in this process, so CPU time leaves out the time other programs hold the cores on a shared machine)
CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}


def _rate(function, seconds: float, clock=time.perf_counter) -> float:
    """Calls per second of ``function`` over about ``seconds`` of ``clock``."""
    n, start = 0, clock()
    while True:
        function()
        n += 1
        elapsed = clock() - start
        if elapsed >= seconds:
            return n / elapsed


def run(rounds: int, seconds: float, clock: str = "wall") -> dict:
    from phylo_vi.io import read_alignment
    from phylo_vi.io.newick import read_newick
    from phylo_vi.likelihood import TreeLikelihood

    results = []
    alignments = {}
    implementation = None
    for name, alignment, tree_file, model, what in CASES:
        if alignment not in alignments:
            alignments[alignment] = read_alignment(REFERENCE / alignment).site_patterns()
        tree = next(read_newick(REFERENCE / tree_file))
        ours = TreeLikelihood(alignments[alignment], tree, model)
        dense = TreeLikelihood(alignments[alignment], tree, model, site_repeats=False)
        theirs = BeagleEngine(ours.patterns, tree, ours.model)
        implementation = theirs.implementation
        t = np.ascontiguousarray(tree.branch_length[:-1])
        if what == "likelihood":
            agreement = abs(ours.log_likelihood(t) - theirs.log_likelihood(t)) / abs(theirs.log_likelihood(t))
            ours_call, theirs_call = (lambda: ours.log_likelihood(t)), (lambda: theirs.log_likelihood(t))
        else:
            agreement = float(np.max(np.abs(ours.gradient(t)[1] - theirs.gradient(t)[1])))
            ours_call, theirs_call = (lambda: ours.gradient(t)), (lambda: theirs.gradient(t))
        ours_single = lambda: ours.log_likelihood(t)  # noqa: E731  (cost unit of a gradient)
        dense_single = lambda: dense.log_likelihood(t)  # noqa: E731  (the same without site repeats)
        theirs_single = lambda: theirs.log_likelihood(t)  # noqa: E731
        rates = {"phylo_vi": [], "beagle": [], "phylo_vi_eval": [], "phylo_vi_dense_eval": [], "beagle_eval": []}
        timer = CLOCKS[clock]
        for _ in range(rounds):
            rates["phylo_vi"].append(_rate(ours_call, seconds, timer))
            rates["beagle"].append(_rate(theirs_call, seconds, timer))
            rates["phylo_vi_dense_eval"].append(_rate(dense_single, seconds, timer))
            if what == "gradient":
                rates["phylo_vi_eval"].append(_rate(ours_single, seconds, timer))
                rates["beagle_eval"].append(_rate(theirs_single, seconds, timer))
        medians = {key: statistics.median(value) for key, value in rates.items() if value}
        entry = {"case": name, "what": what, "n_patterns": ours.patterns.n_patterns,
                 "phylo_vi_per_s": medians["phylo_vi"], "beagle_per_s": medians["beagle"],
                 "ratio": medians["phylo_vi"] / medians["beagle"],
                 "phylo_vi_dense_eval_per_s": medians["phylo_vi_dense_eval"],
                 "agreement": agreement}
        if what == "likelihood":
            entry["dense_ratio"] = medians["phylo_vi_dense_eval"] / medians["beagle"]
        if what == "gradient":
            entry["phylo_vi_gradient_cost_in_evaluations"] = medians["phylo_vi_eval"] / medians["phylo_vi"]
            entry["phylo_vi_gradient_cost_in_dense_evaluations"] = medians["phylo_vi_dense_eval"] / medians["phylo_vi"]
            entry["beagle_gradient_cost_in_evaluations"] = medians["beagle_eval"] / medians["beagle"]
        results.append(entry)
    return {"benchmark": "likelihood", "anchor": f"BEAGLE 3.1.2 ({implementation}, 1 thread, double)",
            "rounds": rounds, "seconds_per_round": seconds, "clock": clock, "statistic": "median", "cases": results}


def large_tree(n_taxa: int, n_sites: int, clock: str = "wall") -> dict:
    """Seconds (``clock``) of each step of one likelihood on a simulated tree of ``n_taxa``, and the peak
    resident memory (MiB) of the process after the log-likelihood and after the gradient."""
    from phylo_vi.likelihood import JC69, TreeLikelihood
    from phylo_vi.likelihood.simulate import random_join_tree, simulate_patterns

    timer = CLOCKS[clock]
    steps = {}

    def step(name, function):
        start = timer()
        result = function()
        steps[name] = timer() - start
        return result

    tree = step("random tree", lambda: random_join_tree(n_taxa, 1))
    patterns = step("simulate", lambda: simulate_patterns(tree, JC69(), n_sites, 2))
    lik = step("build likelihood", lambda: TreeLikelihood(patterns, tree, "JC"))
    step("first log-likelihood", lik.log_likelihood)
    value = step("log-likelihood", lik.log_likelihood)
    rss_value = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    step("gradient", lik.gradient)
    return {"benchmark": "likelihood-large-tree", "n_taxa": n_taxa, "n_sites": n_sites,
            "n_patterns": patterns.n_patterns, "block": lik.plan.post.shape[4], "log_likelihood": value,
            "clock": clock, "seconds": steps, "peak_rss_mib_after_log_likelihood": rss_value,
            "peak_rss_mib_after_gradient": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def markdown(document: dict) -> str:
    if document["benchmark"] == "likelihood-large-tree":
        steps = document["seconds"]
        return "\n".join([
            f"One tree of {document['n_taxa']:,} taxa, JC69, {document['n_sites']:,} sites "
            f"({document['n_patterns']:,} patterns), {document['clock']} clock, seconds:", "",
            "| " + " | ".join(steps) + " | peak RSS after log L (MiB) | after gradient (MiB) |",
            "|" + "---:|" * (len(steps) + 2),
            "| " + " | ".join(f"{s:.2f}" for s in steps.values())
            + f" | {document['peak_rss_mib_after_log_likelihood']:,.0f}"
            + f" | {document['peak_rss_mib_after_gradient']:,.0f} |"])
    lines = [f"Anchor: {document['anchor']}; medians of {document['rounds']} rounds ({document['clock']} clock).", "",
             "| case | phylo_vi /s | BEAGLE /s | ratio | without site repeats /s (ratio) | agreement "
             "| gradient cost (evals) phylo_vi / BEAGLE | gradient cost (evals without site repeats) |",
             "|---|---:|---:|---:|---:|---:|---|---|"]
    for c in document["cases"]:
        cost, dense_cost, dense = "", "", f"{c['phylo_vi_dense_eval_per_s']:,.0f}"
        if c["what"] == "gradient":
            cost = f"{c['phylo_vi_gradient_cost_in_evaluations']:.2f} / {c['beagle_gradient_cost_in_evaluations']:.2f}"
            dense_cost = f"{c['phylo_vi_gradient_cost_in_dense_evaluations']:.2f}"
        else:
            dense += f" ({c['dense_ratio']:.2f})"
        lines.append(f"| {c['case']} | {c['phylo_vi_per_s']:,.0f} | {c['beagle_per_s']:,.0f} | {c['ratio']:.2f} | "
                     f"{dense} | {c['agreement']:.1e} | {cost} | {dense_cost} |")
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--seconds", type=float, default=0.3, help="timing window per engine per round")
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="wall",
                        help="wall: elapsed time; cpu: CPU time of this process (steadier on a loaded machine)")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument("--large-tree", type=int, metavar="N", help="time one simulated tree of N taxa instead")
    parser.add_argument("--sites", type=int, default=1000, help="alignment length of --large-tree")
    parser.add_argument("--optimize", action="store_true",
                        help="instead: ML fits, phylo-vi likelihood --optimize vs iqtree2 -te (likelihood_optimize.py)")
    parser.add_argument("--repeats", type=int, default=3, help="with --optimize: interleaved repeats per case")
    parser.add_argument("--cases", nargs="*", default=None, help="with --optimize: cases whose name contains these")
    args = parser.parse_args(argv)
    report = markdown
    if args.optimize:
        import likelihood_optimize

        document = likelihood_optimize.run(args.repeats, args.cases)
        report = likelihood_optimize.markdown
    elif args.large_tree:
        document = large_tree(args.large_tree, args.sites, args.clock)
    else:
        document = run(args.rounds, args.seconds, args.clock)
    if args.json:
        json.dump(document, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print(report(document))


if __name__ == "__main__":
    main()
