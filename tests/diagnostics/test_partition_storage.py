"""The partition table's compact storage gives back exactly what went in.

- :class:`CladeIndex` numbers bitsets in order of first appearance, like a Python dict (the
  reference), through table growth, for one and for several 64-bit words;
- :class:`BranchLengthStore` returns each partition's lengths in file order, bit for bit equal
  to Python's ``float`` of MrBayes' ``%.6e`` text (4-byte codes) and of 17-digit text (float64
  fallback), NaN roots included, read back from its temporary file across 6 chunks per run;
- :func:`informative_splits` gives each tree's informative ids sorted (reference: ``sorted``);
- the blocked autocovariance of :func:`mrbayes_ess` equals the spec's one-lag-at-a-time loop
  (analyze.md §2.5) bit for bit on a chain that runs to the 2000-lag cap.
"""
import numpy as np
from numba import njit

from phylo_vi.diagnostics.branch_length_store import BranchLengthStore
from phylo_vi.diagnostics.mrbayes_statistics import mrbayes_ess
from phylo_vi.diagnostics.partition_kernels import CladeIndex, informative_splits


def test_clade_index_numbers_in_order_of_first_appearance():
    rng = np.random.default_rng(0)
    for width in (1, 3):
        words = rng.integers(0, 5000, size=(60_000, width)).astype(np.uint64)
        index = CladeIndex(width, capacity=4)
        got = np.concatenate([index.ids(chunk) for chunk in np.array_split(words, 7)])
        reference: dict[tuple, int] = {}
        expected = [reference.setdefault(tuple(row), len(reference)) for row in words.tolist()]
        np.testing.assert_array_equal(got, expected)
        rows = [key for key, _ in sorted(reference.items(), key=lambda item: item[1])]
        np.testing.assert_array_equal(index.partitions, np.array(rows, dtype=np.uint64))


def _texts(rng, n: int, digits: int) -> list[str]:
    values = 10.0 ** rng.uniform(-9, 3, size=n)
    values[rng.random(n) < 0.01] = 0.0
    return [f"{value:.{digits}e}" for value in values]


def test_branch_length_store_round_trips_exactly():
    rng = np.random.default_rng(1)
    for digits in (6, 16):  # MrBayes' %.6e (int32 codes), then 17 significant digits (float64 fallback)
        store = BranchLengthStore(2, chunk_nodes=5000)
        expected: dict[tuple[int, int], list[float]] = {}
        for batch in range(12):
            run = batch % 2
            values = np.array([float(text) for text in _texts(rng, 3000, digits)])
            ids = rng.integers(0, 40, size=3000).astype(np.int32)
            values[ids == 0] = np.nan  # the root's length
            store.add(run, ids, values, 40)
            for i, v in zip(ids.tolist(), values.tolist()):
                expected.setdefault((i, run), []).append(v)
        store.finish()
        assert all((chunk.dtype == np.int32) == (digits == 6) for chunks in store._chunks for chunk in chunks)
        assert [len(chunks) for chunks in store._chunks] == [6, 6]  # 6 batches of 3000 nodes a run: 3 x (5000, 1000)
        assert store.disk_bytes == 12 * 3000 * (4 if digits == 6 else 8)
        for (index, run), values in expected.items():
            got = store.lengths(index, run)
            np.testing.assert_array_equal(got.view(np.uint64), np.array(values).view(np.uint64))


def test_informative_splits_are_each_trees_sorted_informative_ids():
    rng = np.random.default_rng(2)
    sizes = rng.integers(1, 30, size=200)
    node_offsets = np.concatenate([[0], np.cumsum(sizes)])
    ids = rng.integers(0, 100, size=int(node_offsets[-1])).astype(np.int32)
    informative = rng.random(100) < 0.6
    offsets = np.empty(len(sizes) + 1, dtype=np.int64)
    out = np.empty(len(ids), dtype=np.int32)
    informative_splits(ids, node_offsets, informative, offsets, out)
    for t in range(len(sizes)):
        tree = ids[node_offsets[t]:node_offsets[t + 1]]
        np.testing.assert_array_equal(out[offsets[t]:offsets[t + 1]], sorted(tree[informative[tree]]))


@njit
def _spec_ess(x):
    n = x.shape[0]
    mean = 0.0
    for v in x:
        mean += v
    mean /= n
    max_lag = min(n - 1, 2000)
    g = np.zeros(max_lag + 1)
    var = 0.0
    lag = 0
    while lag < max_lag:
        total = 0.0
        for j in range(n - lag):
            total += (x[j] - mean) * (x[j + lag] - mean)
        g[lag] = total / (n - lag)
        if lag == 0:
            var = g[0]
        elif lag % 2 == 0:
            if g[lag - 1] + g[lag] > 0:
                var += 2.0 * (g[lag - 1] + g[lag])
            else:
                max_lag = lag
        lag += 1
    return g[0] * n / var


def test_blocked_ess_equals_the_spec_loop_bit_for_bit():
    rng = np.random.default_rng(3)
    chain = np.zeros(20_000)
    noise = rng.normal(size=len(chain))
    for i in range(1, len(chain)):
        chain[i] = 0.9995 * chain[i - 1] + noise[i]
    for x in (chain, rng.normal(size=5), rng.normal(size=11), rng.normal(size=2500)):
        assert mrbayes_ess(x) == _spec_ess(x)
