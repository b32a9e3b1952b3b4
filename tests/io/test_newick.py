"""Newick reader: quirks, errors naming file and line, and write -> read round trips."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from phylo_vi.errors import EmptyInputError, TreeFormatError
from phylo_vi.io.newick import format_label, format_newick, parse_newick, read_newick
from phylo_vi.trees import TaxonNamespace

DATA = Path(__file__).parent / "data"


def test_quirks_file_matches_dendropy(oracle):
    # reference: DendroPy 4 reading the same file (quoted labels, comments, annotations before
    # and after the colon, missing lengths), underscores preserved
    ours = list(read_newick(DATA / "quirks.nwk"))
    theirs = oracle.trees(DATA / "quirks.nwk", "newick", rooted=False)
    assert len(ours) == len(theirs) == 3
    for tree, reference in zip(ours, theirs):
        oracle.assert_same_edges(oracle.phylo_vi_edges(tree, rooted=False),
                                 oracle.dendropy_edges(reference, rooted=False))


def test_quirks_labels_lengths_and_rooting():
    first, second, third = read_newick(DATA / "quirks.nwk")
    # names exactly as written: quotes stripped, '' is one quote, underscores kept
    assert set(first.taxa.names) >= {"Homo sapiens", "Pan_troglodytes", "Gorilla 'gorilla'", "Pongo_abelii"}
    assert not first.rooted and second.rooted and not third.rooted
    # BEAST 1 style annotation after the colon: length 0.4 of the (Gorilla, Pongo) clade
    clade = first.parent[first.leaf_of_taxon[first.taxa.index("Pongo_abelii")]]
    assert first.branch_length[clade] == 0.4
    # missing length -> NaN; the root length ':0.0' is kept on the root
    assert math.isnan(second.branch_length[second.leaf_of_taxon[second.taxa.index("B")]])
    assert second.branch_length[second.root] == 0.0
    assert second.branch_length[second.leaf_of_taxon[second.taxa.index("A")]] == 0.15


def test_annotations_kept_on_request():
    tree = next(read_newick(DATA / "quirks.nwk", keep_annotations=True))
    texts = sorted(tree.annotations.values())
    assert texts == ["[&height=3.0]", "[&rate=1.5]", "[&support=0.95]"]


@pytest.mark.parametrize("text, message", [
    ("((A,B),C;", "unbalanced parentheses"),
    ("((A,B)),C);", "unbalanced parentheses"),
    ("((A,B),C)", "missing ';'"),
    ("((A,B),A);", "appears more than once"),
    ("((A,B),,C);", "empty subtree"),
    ("((A,B):x,C);", "bad branch length"),
    ("((A,B) C D,E);", "unexpected label"),
    ("(A,'B,C);", "unterminated quoted label"),
])
def test_malformed_tree_errors_name_file_and_line(text, message):
    with pytest.raises(TreeFormatError, match=message) as caught:
        parse_newick(text, TaxonNamespace(), path="trees.nwk", line=7)
    assert caught.value.path == "trees.nwk" and caught.value.line == 7
    assert str(caught.value).startswith("trees.nwk, line 7: ")


def test_read_newick_reports_the_line_of_the_bad_tree(tmp_path):
    path = tmp_path / "bad.nwk"
    path.write_text("((A,B),C);\n((A,B),C);\n((A,B),(C,D);\n")
    with pytest.raises(TreeFormatError) as caught:
        list(read_newick(path))
    assert caught.value.line == 3 and caught.value.path == str(path)


def test_missing_final_semicolon_in_file(tmp_path):
    path = tmp_path / "bad.nwk"
    path.write_text("((A,B),C);\n((A,B),C)\n")
    with pytest.raises(TreeFormatError, match="missing ';'") as caught:
        list(read_newick(path))
    assert caught.value.line == 2


def test_zero_trees_is_an_error(tmp_path):
    path = tmp_path / "empty.nwk"
    path.write_text("[only a comment]\n")
    with pytest.raises(EmptyInputError):
        list(read_newick(path))


def test_unknown_taxon_without_add_taxa():
    taxa = TaxonNamespace(["A", "B"])
    with pytest.raises(TreeFormatError, match="unknown taxon 'C'"):
        parse_newick("(A,B,C);", taxa, add_taxa=False)


def test_format_label_quotes_only_when_needed():
    assert format_label("Homo_sapiens") == "Homo_sapiens"
    assert format_label("Homo sapiens") == "'Homo sapiens'"
    assert format_label("it's") == "'it''s'"


@st.composite
def random_trees(draw):
    """Random trees (multifurcations allowed) with names needing quotes and arbitrary float lengths."""
    n_taxa = draw(st.integers(2, 12))
    names = draw(st.lists(st.text(alphabet="ab_ '(),:;[]xyz0123", min_size=1, max_size=6),
                          min_size=n_taxa, max_size=n_taxa, unique=True))
    lengths = st.one_of(st.floats(min_value=0.0, max_value=1e6, allow_nan=False, allow_infinity=False),
                        st.floats(min_value=1e-300, max_value=1e-3), st.just(float("nan")))
    subtrees = [f"{format_label(name)}" for name in names]
    while len(subtrees) > 1:
        k = draw(st.integers(2, min(3, len(subtrees))))
        picked = [subtrees.pop(draw(st.integers(0, len(subtrees) - 1))) for _ in range(k)]
        picked = [p if math.isnan(length) else f"{p}:{length!r}" for p, length in
                  zip(picked, [draw(lengths) for _ in picked])]
        subtrees.append("(" + ",".join(picked) + ")")
    return subtrees[0] + ";"


@settings(max_examples=60, deadline=None)
@given(random_trees())
def test_write_read_round_trip(text):
    # reference: the tree itself; writing and reading it back must give the same topology key
    # and the same branch lengths (repr precision round-trips exactly, far inside 1e-12)
    tree = parse_newick(text, TaxonNamespace())
    again = parse_newick(format_newick(tree), tree.taxa)
    assert again.topology_key() == tree.topology_key()
    np.testing.assert_array_equal(again.parent, tree.parent)
    np.testing.assert_array_equal(again.taxon, tree.taxon)
    np.testing.assert_allclose(again.branch_length, tree.branch_length, rtol=1e-12, atol=0, equal_nan=True)


def test_rooted_trees_round_trip_with_their_flag():
    tree = parse_newick("[&R] ((A:1,B:2):0.5,(C:1,D:1):0.25);", TaxonNamespace(), rooted=True)
    text = format_newick(tree)
    assert text.startswith("[&R] ")
    again = next(read_newick_text(text, tree.taxa))
    assert again.rooted and again.topology_key() == tree.topology_key()


def read_newick_text(text: str, taxa: TaxonNamespace):
    from phylo_vi.io.statements import iter_statements
    from phylo_vi.io.newick import iter_newick_statements

    for _, _, tree in iter_newick_statements(iter_statements("<text>", [text]), taxa, "<text>"):
        yield tree
