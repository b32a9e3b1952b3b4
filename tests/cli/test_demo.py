"""``phylo-vi demo``: analyze on the bundled MrBayes runs, checked against MrBayes' own outputs."""
import json
import re
from importlib.resources import files

import pytest

from phylo_vi.cli.main import main


def _run(capsys, *args):
    try:
        main(["demo", *args])
        status = 0
    except SystemExit as exit_:
        status = exit_.code
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_demo_says_the_example_has_not_converged(capsys, tmp_path):
    status, out, _ = _run(capsys, "-q", "--no-alignment", "-o", str(tmp_path / "report"))
    assert status == 0
    assert out.splitlines()[2] == "NOT CONVERGED"
    # MrBayes 3.2.7a sump on the bundled runs: min ESS 1.029964e+01 for r(A<->G) (tests/diagnostics/mrbayes_reference)
    assert "min parameter ESS 10.3 (r(A<->G)) FAILS" in out
    log = (files("phylo_vi.data") / "mrbayes" / "sumt.log").read_text()
    average = re.search(r"Average standard deviation of split frequencies = ([0-9.]+)", log).group(1)
    assert f"ASDSF (MrBayes convention): {average};" in out
    assert (tmp_path / "report" / "report.html").is_file()


def test_demo_json(capsys, tmp_path):
    status, out, _ = _run(capsys, "--json", "-q", "--no-alignment", "-o", str(tmp_path / "report"))
    assert status == 0
    document = json.loads(out)
    assert document["converged"] is False and document["n_taxa"] == 14 and document["trees_kept"] == 752
    assert document["asdsf"] == pytest.approx(0.013752, abs=5e-7)  # MrBayes sumt.log, bundled
    # MrBayes sumt.log: credible sets of 3, 11, 14 and 19 trees
    assert document["credible_set_size"] == {"0.5": 3, "0.9": 11, "0.95": 14, "0.99": 19}
    psrf = {row["parameter"]: row["psrf_mrbayes"] for row in document["parameters"]}
    assert psrf["pi(A)"] == pytest.approx(1.075286, abs=5e-7)  # .pstat of mb 3.2.7a sump


@pytest.mark.slow
def test_demo_with_alignment_bayes_factors_agree_with_posterior_odds(capsys, tmp_path):
    status, out, _ = _run(capsys, "--json", "-q", "-o", str(tmp_path / "report"))
    assert status == 0
    rows = json.loads(out)["bayes_factors"]
    assert [row["rank"] for row in rows] == [1, 2, 3]
    # log posterior odds of ranks 2 and 3 against 1: MrBayes .trprobs [&W 0.227394], [&W 0.151596], [&W 0.246011]
    assert rows[1]["log_posterior_odds"] == pytest.approx(-0.07869, abs=5e-4)
    assert rows[2]["log_posterior_odds"] == pytest.approx(-0.48416, abs=5e-4)
    # GSS under the posterior-mean GTR model: Bayes factors within two standard errors of the odds
    assert all(row["consistent"] for row in rows)
