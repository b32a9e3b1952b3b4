"""``phylo-vi sbn fit|prob|sample|kl`` through ``phylo_vi.cli.main.main``."""
from __future__ import annotations

import json
from importlib.resources import files
from pathlib import Path

import numpy as np
import pytest

from phylo_vi.cli.main import main
from phylo_vi.io.nexus import read_nexus_trees
from phylo_vi.io.newick import parse_newick
from phylo_vi.trees.taxa import TaxonNamespace


def _run(capsys, *args):
    try:
        main(["sbn", *map(str, args)])
        status = 0
    except SystemExit as exit_:
        status = exit_.code
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@pytest.fixture
def rep1(shared_data):
    return shared_data / "DS1" / "short_run" / "rep_1" / "DS1.trprobs"


def test_fit_srf_then_prob_gives_the_file_frequencies(capsys, tmp_path, rep1):
    model = tmp_path / "srf.json"
    status, _, _ = _run(capsys, "fit", rep1, "--method", "srf", "-o", model)
    assert status == 0 and model.is_file()
    status, out, _ = _run(capsys, "prob", model, rep1)
    assert status == 0
    rows = [line.split("\t") for line in out.strip().splitlines()[1:]]
    # reference: the [&W] frequencies written by MrBayes in the same file, normalised
    weights = np.array([tree.weight for tree in read_nexus_trees(rep1, TaxonNamespace())])
    assert len(rows) == len(weights) == 1278
    assert np.allclose([float(r[2]) for r in rows], np.log(weights / weights.sum()), atol=1e-12)


def test_fit_em_json_and_sample_is_reproducible(capsys, tmp_path, rep1):
    model = tmp_path / "em.json"
    status, out, _ = _run(capsys, "fit", rep1, "--method", "em", "-o", model, "--json")
    assert status == 0
    summary = json.loads(out)
    assert summary["em_iterations"] == 66 and summary["score"] == pytest.approx(-2.903152, abs=5e-7)  # spec §2
    first = _run(capsys, "sample", model, "-n", 5, "--seed", 11)
    second = _run(capsys, "sample", model, "-n", 5, "--seed", 11)
    assert first[0] == 0 and first[1] == second[1]
    taxa = TaxonNamespace()
    trees = [parse_newick(line, taxa) for line in first[1].splitlines()]
    assert len(trees) == 5 and all(tree.n_leaves == 27 for tree in trees)


def test_fit_with_burnin_on_mrbayes_runs(capsys, tmp_path):
    folder = files("phylo_vi.data") / "mrbayes"
    runs = [str(folder / f"example.nex.run{i}.t") for i in (1, 2)]
    status, out, _ = _run(capsys, "fit", *runs, "--method", "sa", "--burnin", 0.25, "-o", tmp_path / "m.json", "--json")
    assert status == 0
    assert json.loads(out)["trees"] == 752  # kept trees of both runs, as MrBayes' sumt.log (tests/cli/test_demo.py)


def test_kl_json_row(capsys, shared_data, rep1):
    truth = sorted((shared_data / "DS1" / "golden_run").glob("rep_*/DS1.trprobs"))
    status, out, _ = _run(capsys, "kl", "--truth", *truth, "--train", rep1, "--methods", "srf,em", "--json", "-q")
    assert status == 0
    document = json.loads(out)
    row = document["rows"][0]
    assert row["kl"]["srf"] == pytest.approx(0.01304, abs=5.1e-6)  # spec §2, DS1 rep 1
    assert row["kl"]["em"] == pytest.approx(0.01260, abs=5.1e-6)
    assert row["em_iterations"]["em"] == 66
    assert document["truth_topologies"] == 2784


def test_bad_input_exits_with_status_2(capsys, tmp_path, rep1):
    status, _, err = _run(capsys, "kl", "--truth", rep1, "--train", rep1, "--methods", "bogus")
    assert status == 2 and "unknown" in err
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    status, _, err = _run(capsys, "prob", broken, rep1)
    assert status == 2 and "invalid JSON" in err


def test_rooted_sbn_on_a_beast_file(capsys, tmp_path):
    beast = Path(__file__).resolve().parents[1] / "io" / "data" / "beast2.trees"  # the io tests' BEAST 2 file
    model = tmp_path / "rooted.json"
    status, _, _ = _run(capsys, "fit", beast, "--method", "rooted", "--burnin", 0, "-o", model)
    assert status == 0
    status, out, _ = _run(capsys, "prob", model, beast)
    # by hand: the 3 trees share the root split {orangutan | gorilla, chimp, human} and split the
    # 3-taxon clade in the 3 possible ways once each, so each has probability 1 × 1/3
    values = [float(line.split("\t")[2]) for line in out.strip().splitlines()[1:]]
    assert status == 0 and np.allclose(values, np.log(1 / 3), atol=1e-12)


def test_prob_and_sample_json_carry_the_same_values_as_the_text(capsys, tmp_path):
    folder = files("phylo_vi.data") / "mrbayes"
    run = str(folder / "example.nex.run1.t")
    model = tmp_path / "srf"
    assert _run(capsys, "fit", run, "--method", "srf", "-o", model, "-q")[0] == 0
    model = tmp_path / "srf.json"  # -o is a prefix: PREFIX.json
    _, text, _ = _run(capsys, "prob", model, run)
    status, out, _ = _run(capsys, "prob", model, run, "--json")
    rows = [line.split("\t") for line in text.strip().splitlines()[1:]]
    assert status == 0 and [row["log_q"] for row in json.loads(out)["trees"]] == [float(r[2]) for r in rows]
    _, text, _ = _run(capsys, "sample", model, "-n", 4, "--seed", 2)
    status, out, _ = _run(capsys, "sample", model, "-n", 4, "--seed", 2, "--json")
    assert status == 0 and json.loads(out)["trees"] == text.splitlines()
    status, _, err = _run(capsys, "sample", model, "-n", 4, "--seed", 2, "-o", tmp_path / "drawn")
    assert status == 0 and err == f"wrote: {tmp_path / 'drawn.nwk'}\n"
    assert (tmp_path / "drawn.nwk").read_text().splitlines() == text.splitlines()


def test_load_model_of_a_missing_file_is_a_phylo_vi_error(tmp_path):
    from phylo_vi.errors import PhyloVIError
    from phylo_vi.sbn import load_model

    with pytest.raises(PhyloVIError, match="no such file"):
        load_model(tmp_path / "absent.json")
    with pytest.raises(PhyloVIError, match="directory"):
        load_model(tmp_path)
