"""Split frequencies: DendroPy as the oracle on the DS1 files, brute force on small samples."""
from collections import Counter

import dendropy
import numpy as np
import pytest

from phylo_vi.diagnostics import SplitCounter, split_frequencies
from phylo_vi.diagnostics.tree_keys import topology_key, tree_splits
from phylo_vi.io.newick import parse_newick
from phylo_vi.io.nexus import read_nexus_trees
from phylo_vi.trees import TaxonNamespace
from phylo_vi.trees import bitset


def _label_sets(frequencies):
    """``{frozenset(labels on the side without the first taxon): frequency}``."""
    taxa = frequencies.taxa
    return {frozenset(taxa[i] for i in bitset.bitset_indices(row)): f
            for row, f in zip(frequencies.splits, frequencies.frequencies)}


def _dendropy_split_frequencies(path):
    """Weighted split frequencies computed from DendroPy's own parse and bipartition encoding."""
    trees = dendropy.TreeList.get(path=str(path), schema="nexus", store_tree_weights=True,
                                  preserve_underscores=True)
    reference = trees.taxon_namespace[0]  # first taxon of the translate block, as ours
    counts, total = Counter(), 0.0
    for tree in trees:
        weight = 1.0 if tree.weight is None else float(tree.weight)
        total += weight
        tree.encode_bipartitions()
        leaves = frozenset(leaf.taxon.label for leaf in tree.leaf_node_iter())
        for bipartition in tree.bipartition_encoding:
            side = frozenset(t.label for t in bipartition.leafset_taxa(trees.taxon_namespace))
            if reference.label in side:
                side = leaves - side
            if 2 <= len(side) <= len(leaves) - 2:
                counts[side] += weight
    return {side: count / total for side, count in counts.items()}


@pytest.mark.parametrize("relative", ["DS1.subsampled_10.t", "short_run/rep_1/DS1.trprobs"])
def test_split_frequencies_equal_dendropy_on_ds1(shared_data, relative):
    path = shared_data / "DS1" / relative
    ours = _label_sets(split_frequencies(read_nexus_trees(path)))
    theirs = _dendropy_split_frequencies(path)
    assert ours.keys() == theirs.keys()
    for side, frequency in theirs.items():
        assert ours[side] == pytest.approx(frequency, abs=1e-12)


def _trees(newicks, taxa):
    return [parse_newick(text, taxa) for text in newicks]


def test_bitstrings_follow_mrbayes_parts_notation():
    taxa = TaxonNamespace(["A", "B", "C", "D", "E"])
    frequencies = split_frequencies(_trees(["((A,B),C,(D,E));", "((A,C),B,(D,E));"], taxa))
    # worked out by hand: {D,E} in both trees; {C,D,E} (side without A of {A,B}) in the first;
    # {B,D,E} (side without A of {A,C}) in the second. '*' marks the side without taxon A.
    assert frequencies.as_dict() == {"...**": 1.0, "..***": 0.5, ".*.**": 0.5}


def test_integer_weights_equal_repeated_trees():
    taxa = TaxonNamespace(["A", "B", "C", "D", "E", "F"])
    shapes = ["((A,B),C,(D,(E,F)));", "((A,C),B,(D,(E,F)));", "((A,B),(C,D),(E,F));"]
    repeated = split_frequencies(_trees([shapes[0]] * 3 + [shapes[1]] + [shapes[2]] * 2, taxa))
    weighted_trees = _trees(shapes, taxa)
    for tree, weight in zip(weighted_trees, [3.0, 1.0, 2.0]):
        tree.weight = weight
    weighted = split_frequencies(weighted_trees)
    np.testing.assert_array_equal(repeated.splits, weighted.splits)
    np.testing.assert_allclose(repeated.frequencies, weighted.frequencies, rtol=0, atol=1e-15)
    assert repeated.n_trees == 6 and weighted.n_trees == 3


def test_streaming_chunks_give_the_same_counts():
    taxa = TaxonNamespace(["A", "B", "C", "D", "E", "F"])
    trees = _trees(["((A,B),C,(D,(E,F)));", "((A,C),B,(D,(E,F)));", "((A,B),(C,D),(E,F));"] * 5, taxa)
    whole = split_frequencies(trees)
    chunked = SplitCounter(chunk_trees=2).update(trees).result()
    np.testing.assert_array_equal(whole.splits, chunked.splits)
    np.testing.assert_array_equal(whole.weights, chunked.weights)


def test_more_than_64_taxa_against_brute_force():
    rng = np.random.default_rng(7)
    names = [f"t{i}" for i in range(70)]
    taxa = TaxonNamespace(names)
    newicks, expected = [], Counter()
    for _ in range(4):
        order = list(rng.permutation(names))
        text = order[0]
        for name in order[1:-1]:  # caterpillar: the clades are the growing prefixes
            text = f"({text},{name})"
        newicks.append(f"({text},{order[-1]});")
        for size in range(2, 69):
            side = set(order[:size])
            expected[frozenset(set(names) - side if "t0" in side else side)] += 1
    frequencies = split_frequencies(_trees(newicks, taxa))
    assert frequencies.splits.shape[1] == 2
    assert _label_sets(frequencies) == {side: count / 4 for side, count in expected.items()}


@pytest.mark.parametrize("text", ["((A,B),C,(D,E));", "[&R] (((A,B),C),(D,E));", "(A,B,C);"])
def test_fast_splits_and_keys_match_tree_methods(text):
    tree = parse_newick(text, TaxonNamespace(), rooted=text.startswith("[&R]"))
    splits = tree_splits(tree)
    np.testing.assert_array_equal(splits, tree.splits())
    assert topology_key(tree, splits) == tree.topology_key()


def test_different_leaf_sets_are_refused():
    from phylo_vi.errors import TaxonMismatchError

    taxa = TaxonNamespace()
    counter = SplitCounter()
    counter.add(parse_newick("((A,B),C,(D,E));", taxa))
    with pytest.raises(TaxonMismatchError):
        counter.add(parse_newick("((A,B),C,D);", taxa))


def test_fast_splits_match_tree_splits_on_random_trees():
    # reference: Tree.splits (general bitset code path, np.unique over rows)
    rng = np.random.default_rng(11)
    taxa = TaxonNamespace(f"t{i}" for i in range(40))
    for _ in range(30):
        nodes = [f"t{i}" for i in rng.permutation(rng.integers(4, 41))]
        while len(nodes) > 3:
            i, j = sorted(rng.choice(len(nodes), size=2, replace=False))
            joined = f"({nodes[i]},{nodes[j]})"
            nodes = [n for k, n in enumerate(nodes) if k not in (i, j)] + [joined]
        tree = parse_newick("(" + ",".join(nodes) + ");", taxa)
        np.testing.assert_array_equal(tree_splits(tree), tree.splits())
