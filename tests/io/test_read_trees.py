"""read_trees: detection, burn-in, thinning, several runs, one namespace, rooting defaults, errors."""
from __future__ import annotations

import math
import shutil
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from phylo_vi.errors import EmptyInputError, PhyloVIError, TaxonMismatchError, TreeFormatError
from phylo_vi.io import BurninSkippedWarning, TreeSample, detect_format, read_trees
from phylo_vi.io.counting import count_trees
from phylo_vi.io.nexus import IncompleteFileWarning
from phylo_vi.io.revbayes import read_revbayes_trees
from phylo_vi.trees import TaxonNamespace

DATA = Path(__file__).parent / "data"

FORMATS = {"mrbayes_run.t": "mrbayes", "mrbayes_clock.t": "mrbayes", "mrbayes_no_end.t": "mrbayes",
           "mrbayes.trprobs": "trprobs", "beast1.trees": "beast", "beast2.trees": "beast",
           "translate_unused.nex": "nexus", "revbayes.trees": "revbayes", "quirks.nwk": "newick"}
# trees per fixture, counted by hand
N_TREES = {"mrbayes_run.t": 4, "mrbayes_clock.t": 2, "mrbayes_no_end.t": 3, "mrbayes.trprobs": 3,
           "beast1.trees": 2, "beast2.trees": 3, "translate_unused.nex": 2, "revbayes.trees": 3, "quirks.nwk": 3}


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_format_detection_by_content(name, tmp_path):
    copy = tmp_path / "no_extension"
    shutil.copy(DATA / name, copy)
    assert detect_format(copy) == FORMATS[name]


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_counting_agrees_with_parsing(name):
    assert count_trees(DATA / name, FORMATS[name]) == N_TREES[name]


def test_default_burnin_is_a_quarter_of_each_file_floored(tmp_path):
    # MrBayes relburnin=yes burninfrac=0.25: floor(0.25 * 4) = 1 tree dropped from each run
    second = tmp_path / "run2.t"
    shutil.copy(DATA / "mrbayes_run.t", second)
    sample = read_trees([DATA / "mrbayes_run.t", second])
    assert isinstance(sample, TreeSample) and len(sample.runs) == 2
    assert [run.n_burnin for run in sample.runs] == [1, 1]
    assert [tree.name for tree in sample] == ["gen.1000", "gen.2000", "gen.3000"] * 2
    assert len(sample) == 6 and sample.n_trees == 8


def test_burnin_count_and_thinning():
    sample = read_trees(DATA / "mrbayes_run.t", n_burnin=1, thin=2)
    assert [tree.name for tree in sample] == ["gen.1000", "gen.3000"]
    sample = read_trees(DATA / "mrbayes_run.t", burnin=0.5, thin=1)
    assert [tree.name for tree in sample] == ["gen.2000", "gen.3000"]
    sample = read_trees(DATA / "mrbayes_run.t", burnin=0, thin=3)
    assert [tree.name for tree in sample] == ["gen.0", "gen.3000"]
    assert [len(batch) for batch in sample.batches()] == [2]


def test_trprobs_is_a_summary_without_burnin():
    with pytest.warns(BurninSkippedWarning, match="MCMC chains only .*mrbayes.trprobs \\(trprobs, 3 trees\\)"):
        sample = read_trees(DATA / "mrbayes.trprobs", thin=2)
    assert len(sample) == 3 and [tree.weight for tree in sample] == [0.6, 0.3, 0.1]


def test_one_namespace_across_files():
    sample = read_trees([DATA / "beast1.trees", DATA / "beast2.trees"], burnin=0)
    assert sample.taxa.names == ("human", "chimp", "gorilla", "orangutan")
    assert all(tree.taxa is sample.taxa for tree in sample)
    taxa = TaxonNamespace(["orangutan", "gorilla", "chimp", "human"])
    sample = read_trees(DATA / "beast2.trees", burnin=0, taxa=taxa)
    assert sample.taxa is taxa and len(taxa) == 4


def test_rooting_defaults_and_override():
    assert not any(tree.rooted for tree in read_trees(DATA / "mrbayes_run.t", burnin=0))
    assert all(tree.rooted for tree in read_trees(DATA / "mrbayes_clock.t", burnin=0))
    assert all(tree.rooted for tree in read_trees(DATA / "beast2.trees", burnin=0))
    assert not any(tree.rooted for tree in read_trees(DATA / "beast2.trees", burnin=0, rooted=False))
    # RevBayes: rooted exactly when the root has two children (the third tree)
    assert [tree.rooted for tree in read_trees(DATA / "revbayes.trees", burnin=0)] == [False, False, True]


def test_revbayes_trace_names_and_lengths():
    trees = list(read_revbayes_trees(DATA / "revbayes.trees"))
    assert [tree.name for tree in trees] == ["0", "10", "20"]
    first = trees[0]
    assert first.branch_length[first.leaf_of_taxon[first.taxa.index("D")]] == 0.4


def test_missing_end_warns_through_read_trees():
    with pytest.warns(IncompleteFileWarning):
        names = [tree.name for tree in read_trees(DATA / "mrbayes_no_end.t", burnin=0)]
    assert names == ["gen.0", "gen.1000", "gen.2000"]


def test_zero_trees_kept_is_an_error(tmp_path):
    empty = tmp_path / "empty.t"
    empty.write_text("#NEXUS\nbegin trees;\ntranslate 1 A, 2 B;\nend;\n")
    with pytest.raises(EmptyInputError):
        read_trees(empty)
    one = tmp_path / "one.nwk"
    one.write_text("((A,B),C);\n")
    with pytest.raises(EmptyInputError, match="no tree left"):
        read_trees(one, n_burnin=1, chain=True)
    with pytest.raises(EmptyInputError):
        read_trees([])


def test_bad_options():
    with pytest.raises(PhyloVIError, match="burnin"):
        read_trees(DATA / "mrbayes_run.t", burnin=1.0)
    with pytest.raises(PhyloVIError, match="thin"):
        read_trees(DATA / "mrbayes_run.t", thin=0)
    with pytest.raises(PhyloVIError, match="unknown tree format"):
        read_trees(DATA / "mrbayes_run.t", format="phylip")


def test_different_taxa_across_trees_is_an_error(tmp_path):
    path = tmp_path / "mixed.nwk"
    path.write_text("((A,B),C,D);\n((A,B),C,E);\n")
    sample = read_trees(path, burnin=0)
    expected = "line 2: the tree has taxa .*missing from the tree: D; in the tree but not in the first tree of the sample: E"
    with pytest.raises(TaxonMismatchError, match=expected):
        list(sample)


def test_malformed_tree_error_names_file_and_line_through_read_trees(tmp_path):
    lines = (DATA / "mrbayes_run.t").read_text().splitlines()
    lines[12] = lines[12].replace("(3:", "((3:", 1)
    path = tmp_path / "bad.t"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(TreeFormatError, match="unbalanced") as caught:
        list(read_trees(path, burnin=0))
    assert caught.value.line == 13 and caught.value.path == str(path)


def _write_run(path: Path, n_trees: int) -> None:
    rng = np.random.default_rng(3)
    with open(path, "w") as handle:
        handle.write("#NEXUS\nbegin trees;\ntranslate\n" + ",\n".join(f"{i} t{i}" for i in range(1, 9)) + ";\n")
        for k in range(n_trees):
            order = rng.permutation(8) + 1
            handle.write(f"tree gen.{k} = [&U] (({order[0]}:0.1,{order[1]}:0.2):0.3,({order[2]}:0.1,"
                         f"{order[3]}:0.2):0.3,(({order[4]}:0.5,{order[5]}:0.25):0.125,({order[6]}:1.0,"
                         f"{order[7]}:2.0):0.5):0.75);\n")
        handle.write("end;\n")


def _peak_bytes(path: Path) -> int:
    tracemalloc.start()
    kept = sum(1 for batch in read_trees(path, burnin=0).batches(batch_size=256) for _ in batch.topology_keys())
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert kept > 0
    return peak


def test_memory_does_not_grow_with_the_number_of_trees(tmp_path):
    # streaming: the traced peak for 20x more trees stays within 1.5x (chunked file reading,
    # fixed-size batches that are dropped once consumed)
    small, large = tmp_path / "small.t", tmp_path / "large.t"
    _write_run(small, 1_000)
    _write_run(large, 20_000)
    _peak_bytes(small)
    assert _peak_bytes(large) < 1.5 * _peak_bytes(small)


def test_sample_of_many_runs_keeps_file_order_and_lengths(tmp_path):
    first, second = tmp_path / "a.t", tmp_path / "b.t"
    _write_run(first, 40)
    _write_run(second, 20)
    sample = read_trees([first, second])
    assert [len(run) for run in sample.runs] == [30, 15]
    names = [tree.name for tree in sample]
    assert names[:2] == ["gen.10", "gen.11"] and names[30:32] == ["gen.5", "gen.6"]
    lengths = sorted(tree.branch_length[tree.root - 1] for tree in sample)
    assert not any(math.isnan(length) for length in lengths)


def test_annotations_through_read_trees_and_batches_agree():
    with_notes = list(read_trees(DATA / "beast1.trees", burnin=0, keep_annotations=True))
    plain = list(read_trees(DATA / "beast1.trees", burnin=0))
    assert "[&rate=0.95,height_95%_HPD={1.5,2.5}]" in with_notes[1].annotations.values()
    assert not plain[1].annotations
    for noted, tree in zip(with_notes, plain):
        np.testing.assert_array_equal(noted.parent, tree.parent)
        np.testing.assert_array_equal(noted.branch_length, tree.branch_length)
        assert noted.topology_key() == tree.topology_key()
