"""Mutation tree and cell placement: read back through an independent Newick parser (DendroPy),
every cell's root path must carry exactly the mutations of its row."""
from __future__ import annotations

import dendropy
import numpy as np
import pytest

from phylo_vi.errors import InvalidParameterError
from phylo_vi.genotype import simulate_clonal, simulate_coalescent
from phylo_vi.genotype.mutation_tree import mutation_tree, plot_tree, to_dot, to_newick, tree_genotypes


def _matrices():
    yield simulate_clonal(40, 25, 7, random_state=0)
    yield simulate_clonal(30, 12, 5, linear=True, random_state=1)
    yield simulate_coalescent(20, 15, random_state=2)
    yield np.zeros((3, 4), dtype=np.int8)


@pytest.mark.parametrize("matrix", list(_matrices()))
def test_newick_root_paths_reproduce_the_matrix(matrix):
    n, m = matrix.shape
    mutations = [f"m{j}" for j in range(m)]
    cells = [f"c{i}" for i in range(n)]
    tree = mutation_tree(matrix, mutations, cells)
    np.testing.assert_array_equal(tree_genotypes(tree, mutations), matrix)
    parsed = dendropy.Tree.get(data=to_newick(tree), schema="newick", preserve_underscores=True,
                               suppress_internal_node_taxa=True, suppress_leaf_node_taxa=False)
    rows = {}
    for leaf in parsed.leaf_node_iter():
        assert leaf.taxon is not None  # every leaf is a cell: a mutation node always holds cells below it
        carried = set()
        node = leaf.parent_node
        while node is not None:
            if node.label and node.label != "root":
                carried.update(node.label.split("|"))
            node = node.parent_node
        rows[leaf.taxon.label] = carried
    assert sorted(rows) == sorted(cells)
    for i, name in enumerate(cells):
        assert rows[name] == {mutations[j] for j in np.flatnonzero(matrix[i])}
    # one node per distinct non-empty column (mutations with the same support share an edge)
    distinct = {tuple(col) for col in matrix.T if col.any()}
    assert tree.n_nodes == len(distinct) + 1


def test_dot_has_one_edge_per_node_and_cell():
    matrix = simulate_clonal(15, 10, 4, random_state=3)
    tree = mutation_tree(matrix)
    dot = to_dot(tree)
    assert dot.startswith("digraph") and dot.count("->") == (tree.n_nodes - 1) + 15
    plot_tree(tree).savefig(__import__("io").BytesIO(), format="png")


def test_names_with_newick_specials_are_quoted():
    tree = mutation_tree(np.array([[1, 0], [1, 1]], dtype=np.int8), ["TP53 (R175H)", "it's"], ["a b", "c"])
    parsed = dendropy.Tree.get(data=to_newick(tree), schema="newick", preserve_underscores=True)
    assert {leaf.taxon.label for leaf in parsed.leaf_node_iter()} == {"a b", "c"}


def test_conflicting_matrix_is_refused():
    with pytest.raises(InvalidParameterError):
        mutation_tree(np.array([[1, 0], [0, 1], [1, 1]], dtype=np.int8))
