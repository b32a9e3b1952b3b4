"""``phylo-vi marginal``: the same answers as the API, all 19 methods, reports, errors."""
from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from phylo_vi.cli.main import main
from phylo_vi.marginal import METHODS, FixedTopologyProblem, make_estimator
from phylo_vi.marginal.grid import cell_seed
from phylo_vi.marginal.metrics import kl_divergence

QUARTETS = ["((A,B),C,D);", "((A,C),B,D);", "((A,D),B,C);"]


@pytest.fixture()
def files(tmp_path, quartet):
    letters = np.array(list("ACGT"))
    states = np.log2(quartet.patterns.codes).astype(int)
    columns = np.repeat(np.arange(quartet.patterns.n_patterns), quartet.patterns.weights.astype(int))
    fasta = tmp_path / "quartet.fasta"
    fasta.write_text("".join(f">{name}\n{''.join(letters[states[i, columns]])}\n"
                             for i, name in enumerate(quartet.patterns.taxa)))
    trees = tmp_path / "quartets.txt"
    trees.write_text("".join(f"{p}\t{t}\n" for p, t in zip((0.6, 0.3, 0.1), QUARTETS)))
    return fasta, trees


def _read_tsv(path):
    with open(path) as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def test_cli_equals_api(files, tmp_path, capsys):
    fasta, trees = files
    prefix = tmp_path / "out"
    main(["marginal", str(fasta), str(trees), "--methods", "glis,nmc,ml", "--preset", "paper", "--seed", "5",
          "--replicates", "2", "--reference-srf", str(trees), "-o", str(prefix), "--quiet", "--json"])
    summary = json.loads(capsys.readouterr().out)
    rows = _read_tsv(f"{prefix}.tsv")
    assert len(rows) == 2 * 3 * 3
    from phylo_vi.io import read_alignment
    from phylo_vi.marginal.topologies import read_topologies
    from phylo_vi.trees import TaxonNamespace

    aln = read_alignment(fasta)
    topologies = read_topologies(trees, TaxonNamespace(aln.taxa.names))
    for row in rows[:6] + rows[-3:]:
        tree, method, replicate = int(row["tree"]), row["method"], int(row["replicate"])
        estimator = make_estimator(method, preset="paper", random_state=cell_seed(5, tree, method, replicate))
        estimator.fit(FixedTopologyProblem(aln.site_patterns(), topologies[tree]))
        assert float(row["log_marginal"]) == estimator.log_marginal_
        assert int(row["evaluations"]) == estimator.n_likelihood_evaluations_
    # KL in the summary = KL recomputed from the TSV (reference = the SRF column, renormalised)
    log_z = np.array([float(r["log_marginal"]) for r in rows if r["method"] == "glis" and r["replicate"] == "0"])
    metric = next(m for m in summary["metrics"] if m["method"] == "glis" and m["replicate"] == 0)
    assert metric["kl"] == pytest.approx(kl_divergence(np.array([0.6, 0.3, 0.1]), log_z), rel=1e-12)
    on_disk = json.loads((tmp_path / "out.json").read_text())
    assert on_disk["seed"] == 5 and len(on_disk["cells"]) == 9
    html = (tmp_path / "out.html").read_text()
    assert html.count("<img") >= 4 and "data:image/png;base64," in html


@pytest.mark.slow
def test_all_nineteen_methods_run_through_the_cli(files, tmp_path):
    fasta, trees = files
    main(["marginal", str(fasta), str(trees), "--top", "1", "--methods", "all", "--preset", "fast", "--seed", "1",
          "-o", str(tmp_path / "all"), "--quiet"])
    rows = _read_tsv(tmp_path / "all.tsv")
    assert [r["method"] for r in rows] == list(METHODS)
    assert all(np.isfinite(float(r["log_marginal"])) for r in rows)


def test_unknown_method_is_a_one_line_error(files, capsys):
    fasta, trees = files
    with pytest.raises(SystemExit) as exit_info:
        main(["marginal", str(fasta), str(trees), "--methods", "gss,xyz", "--seed", "1"])
    assert exit_info.value.code == 2
    assert "unknown method 'xyz'" in capsys.readouterr().err


def test_taxon_mismatch_is_reported(files, tmp_path, capsys):
    fasta, _ = files
    bad = tmp_path / "bad.nwk"
    bad.write_text("((A,B),C,Z);\n")
    with pytest.raises(SystemExit) as exit_info:
        main(["marginal", str(fasta), str(bad), "--methods", "ml", "--seed", "1", "-o", str(tmp_path / "x")])
    assert exit_info.value.code == 2
    assert "Z" in capsys.readouterr().err
