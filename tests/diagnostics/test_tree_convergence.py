"""RWTY-style tree convergence: RF kernel, split windows, ASDSF over generations, topological ESS.

References are brute-force recomputations from :meth:`Tree.splits` (independent of the partition
table and the Numba kernel) and the exact value of the Lanfear et al. (2016) estimator for
independent samples (ESS = L when the first lag already reaches the asymptote). The example's
table is built twice: with the default chunk size (one chunk per run) and with chunks of a few
trees (``tree_split_store.CHUNK_ITEMS`` = 60 split ids and tree sizes: 5 trees of 11 splits), so
that every streamed consumer crosses chunk boundaries, lags longer than a chunk included.
"""
from pathlib import Path

import numpy as np
import pytest

from phylo_vi.diagnostics import tree_split_store
from phylo_vi.diagnostics.mrbayes_partitions import count_partitions
from phylo_vi.diagnostics.tree_convergence import (approximate_topological_ess, asdsf_over_generations,
                                                   lagged_squared_rf, rf_distances_to, split_windows,
                                                   streamed_lagged_squared_rf)
from phylo_vi.io import read_trees

DATA = Path(__file__).resolve().parents[2] / "data" / "mrbayes"


@pytest.fixture(scope="module", params=[None, 60], ids=["one-chunk", "5-tree-chunks"])
def example(request):
    sample = read_trees([DATA / f"example.nex.run{i}.t" for i in (1, 2)], burnin=0.25)
    with pytest.MonkeyPatch.context() as patch:
        if request.param is not None:
            patch.setattr(tree_split_store, "CHUNK_ITEMS", request.param)
        table = count_partitions([run.batches() for run in sample.runs])
    n_chunks = len(list(table.tree_split_chunks(0)))
    assert n_chunks == (1 if request.param is None else 376 // 5 + 1)  # 11 splits + 1 size a tree
    split_sets = [[{row.tobytes() for row in tree.splits()} for tree in run] for run in sample.runs]
    return table, split_sets


def _squared_rf_by_lag(trees: list[set], lags) -> list[float]:
    return [np.mean([len(trees[i] ^ trees[i + k]) ** 2 for i in range(len(trees) - k)]) for k in lags]


def test_rf_kernel_equals_set_symmetric_difference(example):
    table, split_sets = example
    chunks = list(table.tree_split_chunks(0))
    offsets = np.concatenate([[0], np.cumsum(np.concatenate([np.diff(o) for o, _ in chunks]))])
    ids = np.concatenate([i for _, i in chunks])
    assert lagged_squared_rf(offsets, ids, 3) == pytest.approx(_squared_rf_by_lag(split_sets[0], (1, 2, 3)),
                                                               rel=1e-12)


def test_streamed_rf_equals_set_symmetric_difference(example):
    table, split_sets = example
    for run in (0, 1):
        expected = _squared_rf_by_lag(split_sets[run], range(1, 31))  # lags up to 6 chunks of 5 trees
        np.testing.assert_allclose(streamed_lagged_squared_rf(table, run, 30), expected, rtol=1e-12)
    trees = split_sets[1]
    for focal in (0, 7, 375):
        np.testing.assert_array_equal(rf_distances_to(table, 1, focal), [len(tree ^ trees[focal]) for tree in trees])


def test_windows_equal_direct_counts(example):
    table, split_sets = example
    windows = split_windows(table, 1, window_size=20)
    assert windows.sliding.shape[1] == 376 // 20  # remainder of 16 trees dropped (RWTY)
    trees = split_sets[1]
    key_of = {table.partitions[i].tobytes(): i for i in range(len(table.partitions))}
    for w in (0, 7, 17):
        counts = {}
        for tree in trees[20 * w:20 * (w + 1)]:
            for key in tree:
                counts[key_of[key]] = counts.get(key_of[key], 0) + 1
        row_of = {int(p): r for r, p in enumerate(windows.partitions)}
        for index, count in counts.items():
            assert windows.sliding[row_of[index], w] == count / 20
    assert windows.cumulative[:, 5] == pytest.approx(windows.sliding[:, :6].mean(axis=1))


def test_asdsf_over_generations_last_window_matches_pooled_frequencies(example):
    table, split_sets = example
    windows = [split_windows(table, run, 20) for run in range(2)]
    value = asdsf_over_generations(windows, table, "mrbayes")[-1]
    kept = [trees[:360] for trees in split_sets]  # 18 full windows of 20 trees per run
    keys = set().union(*[set().union(*trees) for trees in kept])
    sds = []
    for key in keys:
        f = [sum(key in tree for tree in trees) / 360 for trees in kept]
        if max(f) >= 0.10:
            sds.append(np.std(f, ddof=1))
    assert value == pytest.approx(np.mean(sds), rel=1e-12)


def _random_newick(rng, n_taxa: int) -> str:
    parts = [f"t{i}" for i in range(n_taxa)]
    while len(parts) > 3:
        i, j = sorted(rng.choice(len(parts), 2, replace=False))
        joined = f"({parts[i]},{parts[j]})"
        parts = [p for k, p in enumerate(parts) if k not in (i, j)] + [joined]
    return "(" + ",".join(parts) + ");"


def _table_of(path):
    sample = read_trees([path], n_burnin=0)
    return count_partitions([run.batches() for run in sample.runs])


def test_topological_ess_of_independent_trees_is_the_sample_size(tmp_path):
    rng = np.random.default_rng(7)
    path = tmp_path / "iid.nwk"
    path.write_text("\n".join(_random_newick(rng, 12) for _ in range(300)) + "\n")
    ess = approximate_topological_ess(_table_of(path), 0)
    assert not ess.upper_bound
    assert ess.ess == pytest.approx(300, rel=0.02)


def test_topological_ess_of_a_sticky_chain_is_small(tmp_path):
    rng = np.random.default_rng(8)
    trees = []
    for _ in range(10):  # 10 distinct topologies, each held for 30 samples
        trees += [_random_newick(rng, 12)] * 30
    path = tmp_path / "sticky.nwk"
    path.write_text("\n".join(trees) + "\n")
    ess = approximate_topological_ess(_table_of(path), 0)
    assert ess.ess < 300 / 5
