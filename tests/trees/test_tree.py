"""Tree invariants: rerooting and unrooting, topology keys, bitsets beyond 64 taxa, DendroPy agreement."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from phylo_vi.errors import PhyloVIError
from phylo_vi.io.mrbayes import read_mrbayes_trees
from phylo_vi.io.newick import format_newick, parse_newick
from phylo_vi.trees import TaxonNamespace, Tree
from phylo_vi.trees import bitset
from phylo_vi.trees.bitset import bitset_indices


def split_lengths(tree: Tree) -> dict:
    """{split (side without the first taxon, as a frozenset): total branch length}, trivial splits included."""
    full = set(bitset_indices(tree.leaf_set))
    first = min(full)
    lengths: dict = {}
    for node in range(tree.n_nodes - 1):
        side = set(bitset_indices(tree.clades[node]))
        if first in side:
            side = full - side
        key = frozenset(side)
        lengths[key] = lengths.get(key, 0.0) + float(tree.branch_length[node])
    return lengths


@pytest.mark.parametrize("seed", range(4))
def test_every_rooting_has_the_same_unrooted_key_and_splits(make_tree, seed):
    # invariant (bito's rooting test): rooting an unrooted tree anywhere changes nothing unrooted
    tree = make_tree(9, seed, max_children=3)
    key, splits, lengths = tree.topology_key(), tree.splits(), split_lengths(tree)
    rooted_keys = set()
    for node in range(tree.n_nodes - 1):
        for position in (0.5, 0.25):
            rooted = tree.reroot(node, position)
            assert rooted.rooted and rooted.n_children[rooted.root] == 2
            rooted_keys.add(rooted.topology_key())
            unrooted = rooted.unroot()
            assert unrooted.topology_key() == key
            np.testing.assert_array_equal(rooted.splits(), splits)
            again = split_lengths(unrooted)
            assert again.keys() == lengths.keys()
            for split, length in lengths.items():
                assert again[split] == pytest.approx(length, rel=1e-12, abs=1e-15)
        if tree.taxon[node] < 0:
            drawn = tree.reroot_at_node(node)
            assert not drawn.rooted and drawn.topology_key() == key
    # brute force: one distinct rooted tree per branch of the unrooted tree
    assert len(rooted_keys) == tree.n_nodes - 1


def test_rooted_trees_differ_by_root_and_unrooted_ones_do_not():
    taxa = TaxonNamespace()
    left = parse_newick("((A,B),(C,D));", taxa, rooted=True)
    right = parse_newick("(A,(B,(C,D)));", taxa, rooted=True)
    assert left.topology_key() != right.topology_key()
    assert left.unroot().topology_key() == right.unroot().topology_key()
    # child order and branch lengths never matter
    shuffled = parse_newick("((D:1,C:2):3,(B:4,A:5):6);", taxa, rooted=True)
    assert shuffled.topology_key() == left.topology_key()


def test_reroot_rejects_the_root():
    tree = parse_newick("((A,B),C,D);", TaxonNamespace())
    with pytest.raises(PhyloVIError):
        tree.reroot(tree.root)
    with pytest.raises(PhyloVIError):
        tree.reroot_at_node(int(tree.leaves[0]))


def test_bitsets_for_200_taxa_match_python_sets(make_tree):
    # reference: clades computed with Python sets from the parent array (brute force)
    tree = make_tree(200, 11)
    assert tree.clades.shape == (tree.n_nodes, 4)
    below = [set() for _ in range(tree.n_nodes)]
    for node in range(tree.n_nodes):
        if tree.taxon[node] >= 0:
            below[node].add(int(tree.taxon[node]))
        if tree.parent[node] >= 0:
            below[tree.parent[node]] |= below[node]
    for node in range(tree.n_nodes):
        assert bitset_indices(tree.clades[node]) == sorted(below[node])
        value = bitset.bitset_to_int(tree.clades[node])
        assert value == sum(1 << t for t in below[node])
        np.testing.assert_array_equal(bitset.int_to_bitset(value, 200), tree.clades[node])
    assert bitset.popcount(tree.clades).tolist() == [len(s) for s in below]
    # splits exclude the first taxon and the trivial ones; 200 - 3 of them in a binary tree
    splits = tree.splits()
    assert len(splits) == 197
    assert not any(bitset_indices(row)[0] == 0 for row in splits)


def test_keys_and_splits_beyond_64_taxa_survive_rerooting(make_tree):
    tree = make_tree(130, 5)
    key = tree.topology_key()
    for node in (0, 64, 129, tree.n_nodes - 2):
        assert tree.reroot(node).unroot().topology_key() == key


def test_bitset_helpers():
    words = bitset.bitset_from_indices([0, 63, 64, 199], 200)
    assert bitset_indices(words) == [0, 63, 64, 199]
    assert bitset.bitset_to_string(bitset.bitset_from_indices([1, 3], 5), 5) == ".*.*."
    normalized = bitset.normalize_splits(bitset.bitset_from_indices([0, 1], 5)[None, :], 5)
    assert bitset_indices(normalized[0]) == [2, 3, 4]


def test_ds1_split_sets_equal_dendropy(shared_data, dendropy_split_sets):
    # reference: DendroPy (preserve_underscores, force-unrooted) on the real MrBayes .t
    path = shared_data / "DS1" / "DS1.subsampled_10.t"
    ours = list(read_mrbayes_trees(path))
    theirs = dendropy_split_sets(path)
    for tree, reference in zip(ours, theirs):
        everything = frozenset(tree.taxa[i] for i in bitset_indices(tree.leaf_set))
        mine = frozenset(frozenset([frozenset(tree.taxa[i] for i in bitset_indices(row)),
                                    everything - frozenset(tree.taxa[i] for i in bitset_indices(row))])
                         for row in tree.splits())
        assert mine == reference and len(mine) == 24


@pytest.mark.slow
def test_ds1_topology_keys_group_trees_as_dendropy_does(shared_data, dendropy_split_sets):
    # reference: DendroPy split sets on short-run replicate 2; two trees share a topology key
    # exactly when DendroPy gives them the same split set
    path = shared_data / "DS1" / "short_run" / "rep_2" / "DS1.trprobs"
    keys = [tree.topology_key() for tree in read_mrbayes_trees(path)]
    theirs = dendropy_split_sets(path)
    assert len(keys) == len(theirs)
    for (a, b) in itertools.islice(itertools.combinations(range(len(keys)), 2), 0, None, 97):
        assert (keys[a] == keys[b]) == (theirs[a] == theirs[b])
    assert len(set(keys)) == len(set(theirs))


def test_topology_keys_group_trees_as_dendropy_does(tmp_path, make_tree, dendropy_split_sets):
    # reference: DendroPy split sets of 60 random 7-taxon trees, drawn from a pool of 6
    # topologies and randomly rerooted: equal keys exactly when DendroPy's split sets are equal
    rng = np.random.default_rng(2)
    taxa = TaxonNamespace()
    pool = [make_tree(7, seed, taxa) for seed in range(6)]
    trees = []
    for _ in range(60):
        tree = pool[int(rng.integers(len(pool)))]
        trees.append(tree.reroot(int(rng.integers(tree.n_nodes - 1))).unroot())
    path = tmp_path / "trees.nwk"
    path.write_text("\n".join(format_newick(tree) for tree in trees) + "\n")
    keys = [tree.topology_key() for tree in trees]
    theirs = dendropy_split_sets(path, "newick")
    for a, b in itertools.combinations(range(len(trees)), 2):
        assert (keys[a] == keys[b]) == (theirs[a] == theirs[b])
    assert len(set(keys)) == len(set(theirs)) > 1


@pytest.mark.parametrize("n_taxa, rooted", [(9, False), (9, True), (150, False), (150, True), (3, False), (1, True)])
def test_topology_key_is_leaf_set_then_sorted_splits_or_clades(make_tree, n_taxa, rooted):
    # reference: the NumPy definitions (Tree.splits / Tree.nontrivial_clades: np.unique and
    # np.lexsort) against the one-pass Numba key
    tree = make_tree(n_taxa, 4, max_children=3, root_children=min(3, n_taxa)) if n_taxa > 1 else \
        parse_newick("A;", TaxonNamespace())
    tree.rooted = rooted
    sets = tree.nontrivial_clades() if rooted else tree.splits()
    expected = (b"R" if rooted else b"U") + tree.leaf_set.tobytes() + np.ascontiguousarray(sets).tobytes()
    assert tree.topology_key() == expected
