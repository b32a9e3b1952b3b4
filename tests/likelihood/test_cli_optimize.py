"""``phylo-vi likelihood --optimize`` and ``--models``."""
from __future__ import annotations

import json

import pytest

from phylo_vi.cli.main import main

IQTREE_A_JC = -6884.97022812   # iqtree2 -s DS1.fasta -te DS1_treeA_mapJC.nwk -m JC -nt 1 (test_optimize.py)


def _run(args, capsys):
    main(["likelihood", *map(str, args)])
    return capsys.readouterr()


def test_optimize_json_reports_fit_and_tree(reference_dir, capsys):
    from phylo_vi.io import read_alignment
    from phylo_vi.io.newick import parse_newick
    from phylo_vi.likelihood import TreeLikelihood
    from phylo_vi.trees import TaxonNamespace

    aln, tree = reference_dir / "DS1.fasta", reference_dir / "DS1_treeA_mapJC.nwk"
    document = json.loads(_run([aln, tree, "--model", "JC", "--optimize", "--json"], capsys).out)
    assert document["log_likelihood"] >= IQTREE_A_JC - 1e-3
    assert document["n_parameters"] == 51 and document["n_sites"] == 1949
    assert document["BIC"] == pytest.approx(51 * 7.575071699507561 - 2 * document["log_likelihood"], abs=1e-6)
    fitted = parse_newick(document["tree"], TaxonNamespace())
    again = TreeLikelihood(read_alignment(aln).site_patterns(), fitted, document["model"])
    assert again.log_likelihood() == pytest.approx(document["log_likelihood"], abs=1e-8)


def test_models_are_ranked_by_bic_and_written(reference_dir, tmp_path, capsys):
    aln, tree = reference_dir / "DS1.fasta", reference_dir / "DS1_treeA_mapJC.nwk"
    prefix = tmp_path / "fit"
    outcome = _run([aln, tree, "--models", "JC,K80,HKY", "--json", "-o", prefix], capsys)
    document = json.loads(outcome.out)
    bic = [entry["BIC"] for entry in document["models"]]
    assert bic == sorted(bic)
    assert [entry["model_input"] for entry in document["models"]][0] == "HKY"   # kappa ~1.9 matters on DS1
    assert document["best_model"] == document["models"][0]["model"]
    assert json.loads((tmp_path / "fit.json").read_text()) == document
    assert (tmp_path / "fit.treefile").read_text().strip() == document["models"][0]["tree"]


def test_standard_errors_in_the_document(reference_dir, capsys):
    aln, tree = reference_dir / "DS1.fasta", reference_dir / "DS1_treeA_mapJC.nwk"
    document = json.loads(_run([aln, tree, "--model", "K80", "--optimize", "--standard-errors", "--json"],
                               capsys).out)
    assert document["standard_errors"]["kappa"] > 0
    assert document["branch_lengths"]["Grandisonia_alternans"]["standard_error"] is None   # on the 1e-6 bound


@pytest.mark.parametrize("extra, message", [
    (["--standard-errors"], "--standard-errors and -o go with --optimize"),
    (["--optimize", "--model", "HKY+Q"], "unknown component +Q"),
])
def test_bad_requests_exit_2_with_one_line(reference_dir, capsys, extra, message):
    with pytest.raises(SystemExit) as stop:
        main(["likelihood", str(reference_dir / "DS1.fasta"), str(reference_dir / "DS1_treeA_mapJC.nwk"), *extra])
    assert stop.value.code == 2
    assert message in capsys.readouterr().err


def test_several_trees_are_refused(shared_data, capsys):
    with pytest.raises(SystemExit) as stop:
        main(["likelihood", str(shared_data / "DS1" / "DS1.fasta"), str(shared_data / "DS1" / "DS1.subsampled_10.t"),
              "--optimize"])
    assert stop.value.code == 2
    assert "fit one tree, the file holds 10" in capsys.readouterr().err
