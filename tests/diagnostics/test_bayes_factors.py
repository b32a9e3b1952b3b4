"""Bayes factors between the top topologies and the posterior-odds check (``analyze(alignment=...)``)."""
import math
from pathlib import Path

import numpy as np
import pytest

import phylo_vi
from phylo_vi.analysis.bayes_factors import BayesFactorRow, model_from_parameters, sbn_log_odds
from phylo_vi.analysis.topology_model import block_bootstrap_counts, sbn_odds_bootstrap

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


def test_sbn_odds_of_four_taxa_are_the_sample_odds(tmp_path):
    # On 4 taxa every rooting of the SBN determines the topology, so the SBN family holds the sample
    # distribution and its EM fit is the relative frequency (6 : 3 : 1 here) up to the α = 1e-4 smoothing.
    path = tmp_path / "sample.nwk"
    path.write_text("((A,B),(C,D));\n" * 6 + "((A,C),(B,D));\n" * 3 + "((A,D),(B,C));\n")
    analysis = phylo_vi.analyze(path, burnin=0)
    assert sbn_log_odds(analysis.topology_model, 3) == pytest.approx([0.0, math.log(3 / 6), math.log(1 / 6)],
                                                                      abs=1e-3)
    assert np.isnan(sbn_log_odds(None, 2)).all()


def test_sbn_check_flags_beyond_the_bayes_factor_error():
    row = BayesFactorRow(2, "gl", 0.3, -10.0, 0.1, -1.0, 0.2, -0.9, 0.3, log_sbn_odds=-1.5)
    # no SBN standard error: z = (−1.0 − (−1.5)) / 0.2 = 2.5 > 2
    assert row.z_sbn == pytest.approx(2.5, abs=1e-12) and not row.sbn_consistent
    assert row.z == pytest.approx(-0.1 / math.hypot(0.2, 0.3), abs=1e-12) and row.consistent
    assert BayesFactorRow(2, "gl", 0.3, -10.0, 0.1, -1.0, 0.2, -0.9, 0.3, log_sbn_odds=-1.3).sbn_consistent


def test_sbn_odds_are_reported_beside_the_sample_odds(analysis, tmp_path):
    first, second = analysis.bayes_factors
    probabilities = analysis.topology_model.probabilities
    assert first.log_sbn_odds == 0.0
    assert second.log_sbn_odds == pytest.approx(math.log(probabilities[1] / probabilities[0]), abs=1e-12)
    # the two topologies are well sampled (.trprobs 0.246011, 0.227394): the smoothed odds stay near the counts'
    assert second.log_sbn_odds == pytest.approx(second.log_posterior_odds, abs=2 * second.log_posterior_odds_se)
    document = analysis.to_json()["bayes_factors"][1]
    assert document["log_sbn_odds"] == pytest.approx(second.log_sbn_odds)
    assert document["log_sbn_odds_se"] == pytest.approx(second.log_sbn_odds_se) and second.log_sbn_odds_se > 0
    # the block bootstrap of the SBN odds and the counts' delta method (× n/ESS) measure one sampling error
    assert second.log_sbn_odds_se == pytest.approx(second.log_posterior_odds_se, rel=0.5)
    assert document["sbn_consistent"] == second.sbn_consistent
    analysis.write_report(tmp_path)
    page = next(tmp_path.rglob("*.html")).read_text()
    assert "log SBN odds" in page and f"{second.log_sbn_odds:.3f} ± {second.log_sbn_odds_se:.3f}" in page


def test_sbn_odds_bootstrap_error_is_the_multinomial_error_on_independent_trees(tmp_path):
    # 4 taxa, where the SBN fit is the sample frequency (test above), drawn independently with
    # probabilities 0.5 : 0.3 : 0.2: the standard error of log(q_i / q_1) is the delta-method one of
    # log(c_i / c_1), sqrt(1/c_i + 1/c_1) (multinomial counts; Agresti 2013, Categorical Data
    # Analysis, §3.1.5). 300 replicates: the bootstrap SD itself is within about 4% of its limit.
    rng = np.random.default_rng(5)
    shapes = ["((A,B),(C,D));", "((A,C),(B,D));", "((A,D),(B,C));"]
    draws = rng.choice(3, size=1200, p=[0.5, 0.3, 0.2])
    path = tmp_path / "independent.nwk"
    path.write_text("".join(shapes[d] + "\n" for d in draws))
    analysis = phylo_vi.analyze(path, burnin=0)
    counts = analysis.topologies.weights[:3]
    se = sbn_odds_bootstrap(analysis.topologies, analysis.tree_topologies, [1], 3, replicates=300, seed=2)
    assert se[0] == 0.0
    expected = np.sqrt(1.0 / counts[1:] + 1.0 / counts[0])
    assert se[1:] == pytest.approx(expected, rel=0.15)


def test_block_bootstrap_keeps_the_run_length_and_draws_whole_blocks():
    sequence = np.repeat(np.arange(10, dtype=np.int32), 7)  # ten runs of 7 identical trees
    counts = block_bootstrap_counts([sequence], [7], 10, np.random.default_rng(0))
    assert counts.sum() == len(sequence)
    # blocks of 7 from uniform starts: each replicate is a sum of contiguous windows of the sequence
    single = block_bootstrap_counts([sequence], [len(sequence)], 10, np.random.default_rng(1))
    np.testing.assert_array_equal(single, np.full(10, 7.0))
