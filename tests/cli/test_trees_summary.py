"""``phylo-vi trees summary``: the issue's "Done when" lines, and MrBayes ``sumt`` as the reference.

The bundled runs (``phylo_vi.data``, see data/README.md) come with MrBayes 3.2.7a's own ``sumt``
output on the same files and burn-in: ``.tstat`` (split frequencies), ``.parts`` (split key),
``.trprobs`` (topology probabilities) and the screen log (ASDSF, credible sets).
"""
import json
import re
from importlib.resources import files

import numpy as np
import pytest

from phylo_vi.cli.main import main
from phylo_vi.io.newick import parse_newick
from phylo_vi.io.trees import read_trees

MRBAYES = files("phylo_vi.data") / "mrbayes"
RUNS = [str(MRBAYES / "example.nex.run1.t"), str(MRBAYES / "example.nex.run2.t")]


def run_cli(capsys, *args):
    """Run ``phylo-vi ARGS``; return (exit status, stdout, stderr)."""
    try:
        main(list(args))
        status = 0
    except SystemExit as exit_:
        status = exit_.code
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def summary_json(capsys, *args):
    status, out, err = run_cli(capsys, "trees", "summary", *args, "--json", "-q")
    assert status == 0, err
    return json.loads(out)


def test_done_when_trprobs_has_1278_topologies_summing_to_one(capsys, shared_data):
    document = summary_json(capsys, str(shared_data / "DS1" / "short_run" / "rep_1" / "DS1.trprobs"))
    # issue 2, "Done when"
    assert document["distinct_topologies"] == 1278
    assert document["probability_sum"] == pytest.approx(1.0, abs=1e-12)


def test_done_when_subsampled_has_10_trees_of_27_taxa(capsys, shared_data):
    document = summary_json(capsys, str(shared_data / "DS1" / "DS1.subsampled_10.t"), "--burnin", "0")
    # issue 2, "Done when"; shared/data/README.md: 10 trees of DS1 (27 taxa)
    assert (document["trees_kept"], document["n_taxa"]) == (10, 27)
    assert document["files"][0]["n_burnin"] == 0


def _sumt_log():
    return (MRBAYES / "sumt.log").read_text()


def test_bundled_runs_match_mrbayes_sumt(capsys):
    document = summary_json(capsys, *RUNS)
    log = _sumt_log()
    # MrBayes: "Read a total of 1002 trees in 2 files (sampling 752 of them)" (25% burn-in)
    total, kept = map(int, re.search(r"Read a total of (\d+) trees in 2 files \(sampling (\d+)", log).groups())
    assert (document["trees_read"], document["trees_kept"]) == (total, kept)
    # MrBayes: "Average/Maximum standard deviation of split frequencies = x" (6 decimals printed)
    average = float(re.search(r"Average standard deviation of split frequencies = ([0-9.]+)", log).group(1))
    maximum = float(re.search(r"Maximum standard deviation of split frequencies = ([0-9.]+)", log).group(1))
    assert document["asdsf"] == pytest.approx(average, abs=5e-7)
    assert document["max_sdsf"] == pytest.approx(maximum, abs=5e-7)
    # MrBayes: "NN % credible set contains K trees"
    sets = {f"{int(p) / 100:g}": int(k) for p, k in re.findall(r"(\d+) % credible set contains (\d+) tree", log)}
    assert document["credible_set_size"] == sets
    assert document["distinct_topologies"] == int(re.search(r"Credible sets of trees \((\d+) trees", log).group(1))


def test_split_frequencies_match_mrbayes_tstat_and_parts(capsys):
    document = summary_json(capsys, *RUNS)
    parts = dict(line.split("\t") for line in (MRBAYES / "example.nex.parts").read_text().splitlines()[2:])
    ours = {row["bitstring"]: row for row in document["splits"]}
    lines = (MRBAYES / "example.nex.tstat").read_text().splitlines()[2:]
    assert lines
    for line in lines:
        split_id, _, count, probability, sd, low, high, n_runs = line.split("\t")
        row = ours[parts[split_id]]  # MrBayes' .parts bitstring is our split ID
        assert row["count"] == int(count)
        for ours_value, theirs in [(row["probability"], probability), (row["sd"], sd), (row["min"], low),
                                   (row["max"], high)]:
            assert ours_value == pytest.approx(float(theirs), abs=5e-7)  # .tstat prints 7 digits
        assert row["n_runs"] == int(n_runs)
    # MrBayes lists the splits with frequency >= 0.10 in some run; ours lists all of them
    assert {parts[line.split("\t")[0]] for line in lines} == {
        row["bitstring"] for row in document["splits"] if max(row["run_frequencies"]) >= 0.10}


def test_out_prefix_tables_match_mrbayes_trprobs(capsys, tmp_path):
    status, _, err = run_cli(capsys, "trees", "summary", *RUNS, "-o", str(tmp_path / "ex"), "-q")
    assert status == 0, err
    rows = [line.split("\t") for line in (tmp_path / "ex.trprobs.tsv").read_text().splitlines()]
    assert rows[0] == ["rank", "weight", "probability", "cumulative", "in_95pct_set", "newick"]
    reference = read_trees(str(MRBAYES / "example.nex.trprobs"))
    expected = {tree.topology_key(): tree.weight for tree in reference}  # MrBayes [&W] = p, 6 decimals
    assert len(rows) - 1 == len(expected)
    for row in rows[1:]:
        key = parse_newick(row[5], reference.taxa).topology_key()
        assert float(row[2]) == pytest.approx(expected[key], abs=5e-7)
    splits = (tmp_path / "ex.splits.tsv").read_text().splitlines()
    assert splits[0].split("\t") == ["ID", "bitstring", "#obs", "Probab.", "Sd(s)", "Min(s)", "Max(s)", "Nruns",
                                     "freq_example.nex.run1.t", "freq_example.nex.run2.t"]
    assert len(splits) - 1 == 19  # every non-trivial split sampled after burn-in


def test_text_output_n_burnin_and_thin(capsys):
    status, out, _ = run_cli(capsys, "trees", "summary", *RUNS, "--n-burnin", "101", "--thin", "5", "-q")
    assert status == 0
    # 501 trees, 101 discarded, every 5th of the remaining 400 kept: 80 per run
    assert "trees kept: 160 of 1002; taxa: 14" in out
    assert "ASDSF (non-trivial splits with frequency >= 0.1 in some run)" in out


def test_one_run_has_no_asdsf(capsys):
    document = summary_json(capsys, RUNS[0])
    assert document["asdsf"] is None and all(row["sd"] is None for row in document["splits"])
    assert document["trees_kept"] == 376  # 501 - floor(0.25 * 501)


@pytest.mark.parametrize("text", ["#NEXUS\nbegin trees;\n  tree t1 = ((A,B),(C,D);\nend;\n",
                                  "((A,B),(C,D));\n((A,B),(C,D)\n"])
def test_malformed_file_exits_2_with_one_line(capsys, tmp_path, text):
    path = tmp_path / "bad.trees"
    path.write_text(text)
    status, out, err = run_cli(capsys, "trees", "summary", str(path), "--burnin", "0")
    assert status == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("phylo-vi: error: ") and str(path) in err


def test_burnin_and_n_burnin_together_are_refused(capsys):
    status, _, err = run_cli(capsys, "trees", "summary", RUNS[0], "--burnin", "0.1", "--n-burnin", "5")
    assert status == 2 and "not both" in err


def test_deprecated_burnin_trees_still_works_with_a_note(capsys):
    status, out, err = run_cli(capsys, "trees", "summary", *RUNS, "--burnin-trees", "101", "--thin", "5", "-q")
    assert status == 0 and "trees kept: 160 of 1002" in out  # as --n-burnin 101 above
    assert "--burnin-trees is deprecated" in err and "--n-burnin" in err


def test_missing_file_exits_2(capsys, tmp_path):
    status, _, err = run_cli(capsys, "trees", "summary", str(tmp_path / "absent.t"))
    assert status == 2 and err.count("\n") == 1


def test_split_probabilities_pool_the_runs(capsys):
    document = summary_json(capsys, *RUNS)
    for row in document["splits"]:
        # equal run sizes (376 trees each): pooled frequency = mean of the run frequencies
        assert row["probability"] == pytest.approx(np.mean(row["run_frequencies"]), abs=1e-15)
