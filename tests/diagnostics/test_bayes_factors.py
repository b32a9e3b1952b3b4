"""Bayes factors between the top topologies and the posterior-odds check (``analyze(alignment=...)``)."""
import math
from pathlib import Path

import pytest

import phylo_vi
from phylo_vi.analysis.bayes_factors import model_from_parameters

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "data"


@pytest.fixture(scope="module")
def analysis():
    # gl (Gaussian Laplace, deterministic) keeps the test fast; the demo's slow test runs GSS
    return phylo_vi.analyze(DATA / "mrbayes" / "example.nex", alignment=DATA / "example.nex", top=2,
                            methods=("gl",), replicates=1, seed=3)


def test_default_model_is_the_posterior_mean_gtr(analysis):
    model = model_from_parameters(analysis.parameter_rows)
    # .pstat means (mb 3.2.7a sump): r(A<->C) 7.420880e-02, r(G<->T) 9.380023e-02, pi(A) 3.019116e-01
    rates = [float(x) for x in model[model.index("{") + 1:model.index("}")].split(",")]
    assert rates[0] == pytest.approx(7.420880e-02 / 9.380023e-02, rel=1e-5)
    assert model == analysis.bayes_factor_model and "+F{0.3019" in model


def test_posterior_odds_equal_mrbayes_trprobs_and_bayes_factor_is_a_difference(analysis):
    first, second = analysis.bayes_factors
    assert first.rank == 1 and first.log_bayes_factor == 0.0
    # MrBayes .trprobs: tree_1 [&W 0.246011], tree_2 [&W 0.227394]
    assert second.log_posterior_odds == pytest.approx(math.log(0.227394 / 0.246011), abs=5e-5)
    assert second.log_bayes_factor == pytest.approx(second.log_marginal - first.log_marginal, abs=1e-12)
    assert math.isfinite(second.log_bayes_factor) and second.log_posterior_odds_se > 0
    header, rows = analysis.tables()["bayes_factors"]
    assert header[0] == "rank" and len(rows) == 2
