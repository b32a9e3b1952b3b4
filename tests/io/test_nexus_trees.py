"""NEXUS dialects: MrBayes .t / .trprobs, BEAST 1 / 2, translate quirks, errors, real DS1 files."""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

from phylo_vi.errors import EmptyInputError, TreeFormatError
from phylo_vi.io.beast import read_beast_trees
from phylo_vi.io.mrbayes import read_mrbayes_trees
from phylo_vi.io.nexus import IncompleteFileWarning, read_nexus_trees

DATA = Path(__file__).parent / "data"

# file, DendroPy schema, rooted, reader
DIALECTS = [
    ("mrbayes_run.t", False, read_mrbayes_trees),
    ("mrbayes_clock.t", True, read_mrbayes_trees),
    ("mrbayes.trprobs", False, read_mrbayes_trees),
    ("beast1.trees", True, read_beast_trees),
    ("beast2.trees", True, read_beast_trees),
    ("translate_unused.nex", False, read_nexus_trees),
]


@pytest.mark.parametrize("name, rooted, reader", DIALECTS)
def test_dialects_match_dendropy(oracle, name, rooted, reader):
    # reference: DendroPy 4 (schema nexus, preserve_underscores) on the same file: every
    # clade (rooted) or split (unrooted) and the length of its branch, and the tree weights
    ours = list(reader(DATA / name))
    theirs = oracle.trees(DATA / name, "nexus", rooted)
    assert len(ours) == len(theirs)
    for tree, reference in zip(ours, theirs):
        assert tree.rooted == rooted
        assert tree.name == reference.label
        oracle.assert_same_edges(oracle.phylo_vi_edges(tree, rooted), oracle.dendropy_edges(reference, rooted))


def test_mrbayes_translate_order_and_underscores():
    trees = list(read_mrbayes_trees(DATA / "mrbayes_run.t"))
    assert trees[0].taxa.names == ("Alligator_mississippiensis", "Homo_sapiens", "Gallus_gallus",
                                   "Xenopus_laevis", "Latimeria_chalumnae")
    assert [tree.name for tree in trees] == ["gen.0", "gen.1000", "gen.2000", "gen.3000"]
    # 16 significant digits as MrBayes writes them, converted exactly like Python's float()
    leaf = trees[1].leaf_of_taxon[trees[1].taxa.index("Latimeria_chalumnae")]
    assert trees[1].branch_length[leaf] == float("7.777777777777777e-01")


def test_trprobs_weights_and_the_equals_inside_p_comments():
    trees = list(read_mrbayes_trees(DATA / "mrbayes.trprobs"))
    # weights from [&W 0.600000], [&W 0.300000] and [&W 1/10] (the m/n form)
    assert [tree.weight for tree in trees] == [0.6, 0.3, 0.1]
    assert [tree.name for tree in trees] == ["tree_1", "tree_2", "tree_3"]
    assert all(np.isnan(tree.branch_length).all() for tree in trees)


def test_run_in_progress_without_end_warns_and_reads_all_complete_trees():
    with pytest.warns(IncompleteFileWarning, match="no 'end;'"):
        trees = list(read_mrbayes_trees(DATA / "mrbayes_no_end.t"))
    assert [tree.name for tree in trees] == ["gen.0", "gen.1000", "gen.2000"]


def test_truncated_last_tree_is_an_error_naming_its_line(tmp_path):
    text = (DATA / "mrbayes_no_end.t").read_text()
    path = tmp_path / "cut.t"
    path.write_text(text[: text.rindex(";")])
    with pytest.raises(TreeFormatError, match="truncated tree") as caught:
        list(read_mrbayes_trees(path))
    assert caught.value.line == 13 and caught.value.path == str(path)


def test_beast2_translate_semicolon_on_its_own_line_and_taxa_block():
    trees = list(read_beast_trees(DATA / "beast2.trees"))
    assert trees[0].taxa.names == ("human", "chimp", "gorilla", "orangutan")
    assert trees[0].branch_length[trees[0].root] == 0.0


def test_beast1_annotations_after_the_colon_are_kept_on_request():
    tree = next(read_beast_trees(DATA / "beast1.trees", keep_annotations=True))
    assert "[&rate=1.0]" in tree.annotations.values()
    second = list(read_beast_trees(DATA / "beast1.trees", keep_annotations=True))[1]
    assert "[&rate=0.95,height_95%_HPD={1.5,2.5}]" in second.annotations.values()


def test_translate_present_but_unused():
    trees = list(read_nexus_trees(DATA / "translate_unused.nex"))
    assert len(trees[0].taxa) == 4 and trees[0].n_leaves == 4


def test_rooted_override():
    trees = list(read_mrbayes_trees(DATA / "mrbayes_run.t", rooted=True))
    assert all(tree.rooted for tree in trees)
    assert not any(tree.rooted for tree in read_beast_trees(DATA / "beast1.trees", rooted=False))


def _nexus(tmp_path, body: str) -> Path:
    path = tmp_path / "bad.t"
    path.write_text("#NEXUS\nbegin trees;\n" + body + "end;\n")
    return path


@pytest.mark.parametrize("body, message, line", [
    ("translate 1 A, 2 B, 3 C;\ntree t = (1,2,4);\n", "unknown translate token or taxon '4'", 4),
    ("translate 1 A, 2 B, 3 C;\ntree t = ((1,2),(3,1));\n", "appears more than once", 4),
    ("translate 1 A, 2 B, 1 C;\n", "defined twice", 3),
    ("translate 1 A, 2 A;\n", "appears twice in the translate block", 3),
    ("translate 1 A, 2 B, 3 C;\ntree t = ((1,2),3;\n", "unbalanced parentheses", 4),
    ("translate 1 A, 2 B, 3 C;\ntree t ((1,2),3);\n", "without '='", 4),
])
def test_malformed_nexus_errors_name_file_and_line(tmp_path, body, message, line):
    path = _nexus(tmp_path, body)
    with pytest.raises(TreeFormatError, match=message) as caught:
        list(read_nexus_trees(path))
    assert caught.value.path == str(path) and caught.value.line == line


def test_duplicate_taxlabels(tmp_path):
    path = tmp_path / "dup.nex"
    path.write_text("#NEXUS\nbegin taxa;\ntaxlabels A B A;\nend;\nbegin trees;\ntree t = (A,B);\nend;\n")
    with pytest.raises(TreeFormatError, match="listed twice") as caught:
        list(read_nexus_trees(path))
    assert caught.value.line == 3


def test_zero_trees_and_not_nexus(tmp_path):
    path = _nexus(tmp_path, "translate 1 A, 2 B;\n")
    with pytest.raises(EmptyInputError, match="no tree"):
        list(read_nexus_trees(path))
    other = tmp_path / "other.t"
    other.write_text("begin trees;\ntree t = (A,B);\nend;\n")
    with pytest.raises(TreeFormatError, match="#NEXUS"):
        list(read_nexus_trees(other))


def test_ds1_subsampled_t_matches_dendropy(shared_data, oracle):
    # reference: DendroPy on the real MrBayes file (27 taxa, translate block, 10 trees)
    path = shared_data / "DS1" / "DS1.subsampled_10.t"
    ours = list(read_mrbayes_trees(path))
    theirs = oracle.trees(path, "nexus", rooted=False)
    assert len(ours) == 10 and len(ours[0].taxa) == 27
    for tree, reference in zip(ours, theirs):
        oracle.assert_same_edges(oracle.phylo_vi_edges(tree, False), oracle.dendropy_edges(reference, False))


def _trprobs_prefix(source: Path, n_trees: int, target: Path) -> Path:
    """The header and the first ``n_trees`` trees of a .trprobs file, closed with ``end;``."""
    lines, kept = [], 0
    for line in source.read_text().splitlines():
        if line.lstrip().startswith("tree "):
            if kept == n_trees:
                break
            kept += 1
        lines.append(line)
    target.write_text("\n".join(lines + ["end;"]) + "\n")
    return target


def _compare_trprobs_with_dendropy(path: Path, oracle) -> list:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ours = list(read_mrbayes_trees(path))
    theirs = oracle.trees(path, "nexus", rooted=False)
    assert len(ours) == len(theirs)
    for tree, reference in zip(ours, theirs):
        assert oracle.phylo_vi_splits(tree) == oracle.dendropy_splits(reference)
        assert tree.weight == pytest.approx(reference.weight, abs=1e-12)
    return ours


def test_ds1_trprobs_splits_and_weights_match_dendropy(shared_data, oracle, tmp_path):
    # reference: DendroPy (store_tree_weights) on the first 300 trees of the real .trprobs of
    # short-run replicate 1: the same split set and [&W] weight per tree
    source = shared_data / "DS1" / "short_run" / "rep_1" / "DS1.trprobs"
    ours = _compare_trprobs_with_dendropy(_trprobs_prefix(source, 300, tmp_path / "head.trprobs"), oracle)
    assert len(ours) == 300 and len({tree.topology_key() for tree in ours}) == 300


@pytest.mark.slow
@pytest.mark.parametrize("rep", range(1, 11))
def test_ds1_trprobs_all_replicates_match_dendropy(shared_data, oracle, rep):
    # reference: DendroPy on every tree of every short-run replicate; rep_1 holds 1278
    # distinct topologies (the count the summary check expects) with weights summing to 1
    ours = _compare_trprobs_with_dendropy(shared_data / "DS1" / "short_run" / f"rep_{rep}" / "DS1.trprobs",
                                          oracle)
    assert len({tree.topology_key() for tree in ours}) == len(ours)
    if rep == 1:
        assert len(ours) == 1278
        assert sum(tree.weight for tree in ours) == pytest.approx(1.0, abs=1e-3)
