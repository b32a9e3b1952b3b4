"""Never misread a file: exact format detection, and burn-in for MCMC chains only.

References: the files phylo_vi itself writes (``trees summary -o`` tables, ``sbn sample``
Newick) read back must give the numbers that were written; the credible set of Fourment et al.
2020 for DS1 holds 42 topologies whose SRF sum to 0.9512 (``shared/data/marginal/README.md``,
counted from the file by its curator).
"""
from __future__ import annotations

import json
from importlib.resources import files
from pathlib import Path

import numpy as np
import pytest

from phylo_vi.cli.main import main
from phylo_vi.errors import EmptyInputError, TreeFormatError
from phylo_vi.io import (BurninSkippedWarning, detect_alignment_format, detect_format, format_newick,
                         read_alignment, read_trees)
from phylo_vi.io.tree_tables import read_table_trees

DATA = Path(__file__).parent / "data"
MRBAYES_RUN = files("phylo_vi.data") / "mrbayes" / "example.nex.run1.t"


def _summary(capsys, *args) -> tuple[dict, str]:
    """``phylo-vi trees summary ARGS --json``: the document and what was written on stderr."""
    try:
        main(["trees", "summary", *map(str, args), "--json", "-q"])
    except SystemExit as exit_:
        assert exit_.code == 0, capsys.readouterr().err
    captured = capsys.readouterr()
    return json.loads(captured.out), captured.err


def test_trprobs_tsv_round_trip_keeps_every_topology_and_its_probability(tmp_path, capsys):
    written, _ = _summary(capsys, MRBAYES_RUN, "-o", tmp_path / "run1")
    table = tmp_path / "run1.trprobs.tsv"
    assert detect_format(table) == "trprobs-tsv"
    again, warning = _summary(capsys, table)
    assert warning.startswith("phylo-vi: warning: burn-in and thinning apply to MCMC chains only")
    assert warning.endswith("run1.trprobs.tsv (trprobs-tsv, 23 trees)\n") and warning.count("\n") == 1
    # the table is a distribution: no burn-in (the most probable topologies come first), weights honoured
    assert again["files"][0]["n_burnin"] == 0
    assert again["distinct_topologies"] == written["distinct_topologies"] == 23
    assert again["credible_set_size"] == written["credible_set_size"]
    for mine, theirs in zip(again["top_topologies"], written["top_topologies"]):
        assert mine["probability"] == pytest.approx(theirs["probability"], rel=1e-12)
    trees = list(read_table_trees(table, format="trprobs-tsv"))
    assert [tree.name for tree in trees[:3]] == ["1", "2", "3"]
    assert trees[0].weight == written["top_topologies"][0]["probability"]


def test_credible_set_keeps_its_first_tree(tmp_path):
    rows = ["0.5\t((A,B),C,(D,E));", "0.3\t((A,C),B,(D,E));", "0.2\t((A,D),B,(C,E));"]
    path = tmp_path / "credible_set"
    path.write_text("\n".join(rows) + "\n")
    assert detect_format(path) == "credible-set"
    trees = list(read_trees(path))
    assert [tree.weight for tree in trees] == [0.5, 0.3, 0.2]
    assert len({tree.topology_key() for tree in trees}) == 3


def test_ds1_credible_set_has_42_topologies_summing_to_0_9512(shared_data):
    with pytest.warns(BurninSkippedWarning):  # the default burn-in of 0.25 is not applied
        sample = read_trees(shared_data / "marginal" / "JC_no_gamma_credible_set_ds1")
    assert sample.runs[0].format == "credible-set" and sample.runs[0].n_burnin == 0
    weights = [tree.weight for tree in sample]
    assert len(weights) == 42 and sum(weights) == pytest.approx(0.9512, abs=5e-5)
    assert weights[0] == 0.278152  # the first row of the file


def test_newick_list_is_not_a_chain(tmp_path):
    # what `phylo-vi sbn sample` writes: one topology per line, no lengths
    path = tmp_path / "sample.nwk"
    topologies = read_trees(DATA / "mrbayes_run.t", burnin=0)
    path.write_text("".join(format_newick(tree, lengths=False) + "\n" for tree in topologies) * 3)
    with pytest.warns(BurninSkippedWarning, match=r"sample.nwk \(newick, 12 trees\)"):
        whole = read_trees(path, burnin=0.25)
    assert len(whole) == 12 and whole.n_burnin == 0
    assert len(read_trees(path, burnin=0.25, chain=True)) == 9  # floor(0.25 * 12) = 3 dropped


def test_chains_keep_their_burnin_without_a_warning(recwarn):
    for name, n_kept in [("mrbayes_run.t", 3), ("beast2.trees", 3), ("revbayes.trees", 3)]:
        sample = read_trees(DATA / name, burnin=0.25)
        assert len(sample) == n_kept  # floor(0.25 * 4) = 1 and floor(0.25 * 3) = 0 trees dropped
    assert not [w for w in recwarn if issubclass(w.category, BurninSkippedWarning)]


def test_revbayes_version_lines_are_skipped(tmp_path):
    path = tmp_path / "trace.trees"
    path.write_text("#RevBayes version (1.2.1)\n#Build from master (abc) on 2021\n"
                    + (DATA / "revbayes.trees").read_text())
    assert detect_format(path) == "revbayes"
    sample = read_trees(path, burnin=0)
    assert sample.n_trees == 3 and [tree.name for tree in sample] == ["0", "10", "20"]


@pytest.mark.parametrize("text, line, message", [
    ("ID\tbitstring\t#obs\tProbab.\n1\t..**\t3\t1.0\n", 1, "split table"),
    ('{\n"format": "phylo_vi.sbn"\n}\n', 1, "cannot recognise"),
    ("\n\ncell\tmut1\nc1\t0\n", 3, "cannot recognise"),
    ("# a note\n# another\n", 2, "only '#' comment lines"),
])
def test_other_files_are_refused_at_their_first_line(tmp_path, text, line, message):
    path = tmp_path / "not_trees"
    path.write_text(text)
    with pytest.raises(TreeFormatError, match=message) as info:
        read_trees(path)
    assert info.value.line == line and info.value.path == str(path)


def test_revbayes_header_is_required_by_the_reader(tmp_path):
    path = tmp_path / "trace.trees"
    path.write_text((DATA / "revbayes.trees").read_text().replace("Iteration", "Gen", 1))
    with pytest.raises(TreeFormatError):
        read_trees(path, format="revbayes")


def test_bad_table_rows_name_their_line(tmp_path):
    path = tmp_path / "credible_set"
    path.write_text("0.5\t((A,B),C,(D,E));\n-0.3\t((A,C),B,(D,E));\n")
    with pytest.raises(TreeFormatError, match="not a finite non-negative number") as info:
        list(read_trees(path))
    assert info.value.line == 2
    path.write_text("0.5\t((A,B),C,(D,E));\n0.3\t((A,C),B,(D,E));\textra\n")
    with pytest.raises(TreeFormatError, match="3 tab-separated fields") as info:
        list(read_trees(path))
    assert info.value.line == 2


def test_empty_table_is_an_empty_input(tmp_path):
    path = tmp_path / "empty.trprobs.tsv"
    path.write_text("rank\tweight\tprobability\tcumulative\tin_95pct_set\tnewick\n")
    with pytest.raises(EmptyInputError):
        read_trees(path)


def test_alignment_format_comes_from_the_content_not_the_name(tmp_path):
    fasta, phylip = tmp_path / "named_as.phy", tmp_path / "named_as.fasta"
    fasta.write_text(">a\nACGT\n>b\nACGA\n>c\nTCGA\n")
    phylip.write_text("3 4\na ACGT\nb ACGA\nc TCGA\n")
    assert detect_alignment_format(fasta) == "fasta" and detect_alignment_format(phylip) == "phylip"
    first, second = read_alignment(fasta), read_alignment(phylip)
    assert first.taxa.names == second.taxa.names == ("a", "b", "c")
    np.testing.assert_array_equal(first.codes, second.codes)
