"""``phylo-vi likelihood``."""
from __future__ import annotations

import json

import pytest

from phylo_vi.cli.main import main


def test_done_when_command_prints_reference_value(reference_dir, capsys):
    # reference: IQ-TREE 2.0.7, reference_loglik.tsv case A-JC (-6884.97023829)
    main(["likelihood", str(reference_dir / "DS1.fasta"), str(reference_dir / "DS1_treeA_mapJC.nwk"),
          "--model", "JC", "--json"])
    document = json.loads(capsys.readouterr().out)
    (tree,) = document["trees"]  # one shape for one tree or many: a list of trees
    assert tree["log_likelihood"] == pytest.approx(-6884.97023829, abs=1e-8)
    assert document["n_patterns"] == 934 and document["n_trees"] == 1


def test_gradient_keyed_by_clade(reference_dir, capsys):
    # reference: grad_A-JC.tsv (BEAGLE 3.1.2): Grandisonia_alternans at the zero boundary, -465.78
    main(["likelihood", str(reference_dir / "DS1.fasta"), str(reference_dir / "DS1_treeA_mapJC.nwk"),
          "--gradient", "--json"])
    gradient = json.loads(capsys.readouterr().out)["trees"][0]["gradient"]
    assert len(gradient) == 51
    assert gradient["Grandisonia_alternans"] == pytest.approx(-465.78, abs=0.01)


def test_plain_output_for_several_trees(shared_data, capsys):
    # reference: shared/data/README.md section 4 (bito), first two trees of DS1.subsampled_10.t
    main(["likelihood", str(shared_data / "DS1" / "DS1.fasta"), str(shared_data / "DS1" / "DS1.subsampled_10.t")])
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 10
    assert float(lines[1].split("\t")[1]) == pytest.approx(-6911.294207416366, abs=1e-6)


def test_json_for_several_trees_has_the_same_shape(shared_data, capsys):
    # reference: shared/data/README.md section 4 (bito), second tree of DS1.subsampled_10.t
    main(["likelihood", str(shared_data / "DS1" / "DS1.fasta"), str(shared_data / "DS1" / "DS1.subsampled_10.t"),
          "--json", "-q"])
    document = json.loads(capsys.readouterr().out)
    assert document["n_trees"] == len(document["trees"]) == 10
    assert document["trees"][1]["log_likelihood"] == pytest.approx(-6911.294207416366, abs=1e-6)


def test_bad_model_is_a_one_line_error(reference_dir, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["likelihood", str(reference_dir / "DS1.fasta"), str(reference_dir / "DS1_treeA_mapJC.nwk"),
              "--model", "WAG"])
    assert exit_info.value.code == 2
    assert "unknown substitution model" in capsys.readouterr().err
