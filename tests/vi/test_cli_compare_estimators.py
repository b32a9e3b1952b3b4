"""``phylo-vi vi compare-estimators``: JSON document, files, reproducibility, errors."""
from __future__ import annotations

import json

import pytest
import torch
from click.testing import CliRunner

from phylo_vi.cli.main import cli, main
from phylo_vi.vi.estimator_comparison import compare_estimators, make_problem


def _invoke(args):
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


def test_json_document_has_exact_gradient_and_unbiased_estimators(tmp_path):
    args = ["vi", "compare-estimators", "--problem", "bernoulli", "--n-repeats", "1500", "--seed", "3", "--json",
            "-o", str(tmp_path / "cmp")]
    document = json.loads(_invoke(args))
    (problem,) = document["problems"]
    assert problem["exact_gradient"] == pytest.approx([-0.045], abs=1e-12)   # spec §1.9
    by_name = {e["name"]: e for e in problem["estimators"]}
    assert set(by_name) == {"reinforce", "reinforce-loo", "sum-and-sample", "unordered-set", "gumbel-softmax",
                            "straight-through"}
    for name in ("reinforce", "reinforce-loo", "sum-and-sample", "unordered-set"):   # unbiased: 4 s.e.
        assert by_name[name]["bias"] < 4 * by_name[name]["standard_error"]
    # exact variances for k = 4 (spec §1.9/§1.10): unordered 1.13e-3, LOO 1.99e-3, sum-and-sample 0.0699
    assert by_name["unordered-set"]["variance"] == pytest.approx(1.13e-3, rel=0.15)
    assert by_name["reinforce-loo"]["variance"] == pytest.approx(1.99e-3, rel=0.15)
    assert by_name["sum-and-sample"]["variance"] == pytest.approx(0.0699, rel=0.25)
    assert all(e["time_per_estimate_s"] > 0 for e in problem["estimators"])
    table = (tmp_path / "cmp.tsv").read_text().splitlines()
    assert table[0].split("\t")[:3] == ["problem", "estimator", "bias"] and len(table) == 7
    assert "data:image/png;base64" in (tmp_path / "cmp.html").read_text()


def test_same_seed_same_numbers():
    args = ["vi", "compare-estimators", "--problem", "categorical", "--estimator", "unordered-set",
            "--estimator", "reinforce", "--n-repeats", "200", "--seed", "5", "--json", "-q"]
    strip = lambda doc: [{k: v for k, v in e.items() if k != "time_per_estimate_s"}
                         for e in doc["problems"][0]["estimators"]]
    first, second = (json.loads(_invoke(args)) for _ in range(2))
    assert [e["name"] for e in first["problems"][0]["estimators"]] == ["unordered-set", "reinforce"]
    assert strip(first) == strip(second)


def test_categorical_problem_gradient_is_exact_enumeration():
    # reference: autograd Jacobian of the enumerated expectation sum_c softmax(theta)_c f_c
    document = compare_estimators("categorical", n_evaluations=3, n_repeats=50, estimators=["unordered-set"])
    problem = make_problem("categorical")
    expectation = lambda theta: (torch.softmax(theta, 0) * problem.costs).sum()
    reference = torch.autograd.functional.jacobian(expectation, problem.parameter.detach())
    assert document["exact_gradient"] == pytest.approx(reference.tolist(), abs=1e-12)
    assert len(document["estimators"]) == 1 and len(document["estimators"][0]["mean_gradient"]) == 10


def test_bad_arguments_exit_with_status_2(capsys):
    with pytest.raises(SystemExit) as excinfo:
        main(["vi", "compare-estimators", "--problem", "bernoulli", "-k", "9", "--seed", "1"])
    assert excinfo.value.code == 2
    assert "n_evaluations must lie in [1, 8]" in capsys.readouterr().err
    with pytest.raises(SystemExit) as excinfo:
        main(["vi", "compare-estimators", "--problem", "unknown"])
    assert excinfo.value.code == 2
