"""Substitution models, model strings, gamma categories and empirical frequencies."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import linalg

from phylo_vi.errors import ModelSpecificationError
from phylo_vi.likelihood import (GTR, HKY85, JC69, K80, TN93, F81, empirical_frequencies, gamma_category_rates,
                                 gamma_category_rates_derivative, parse_model)

FREQS = [0.2340, 0.2568, 0.2799, 0.2293]


def test_transition_matrices_match_matrix_exponential(numpy_reference):
    # reference: scipy.linalg.expm of Q built from the README conventions (independent code)
    model = GTR([0.7322, 1.113, 0.6498, 1.878, 3.333], FREQS, gamma_shape=0.5)
    q = numpy_reference.rate_matrix(model.exchangeabilities, FREQS)
    np.testing.assert_allclose(model.rate_matrix(), q, rtol=1e-14, atol=1e-15)
    lengths = np.array([0.0, 1e-6, 0.05, 0.7, 9.0])
    pmats = model.transition_matrices(lengths)
    for t, per_category in zip(lengths, pmats):
        for r, p in zip(model.category_rates(), per_category):
            np.testing.assert_allclose(p, linalg.expm(q * r * t), atol=1e-13)


def test_rate_matrix_is_normalised_and_reversible():
    model = TN93(2.5, 4.0, FREQS)
    q, pi = model.rate_matrix(), np.array(FREQS)
    assert -(pi @ np.diag(q)) == pytest.approx(1.0, abs=1e-15)   # one substitution per unit length
    np.testing.assert_allclose(pi[:, None] * q, (pi[:, None] * q).T, atol=1e-15)   # detailed balance
    np.testing.assert_allclose(q.sum(axis=1), 0.0, atol=1e-15)


def test_jc69_transition_probabilities_closed_form():
    # reference: Jukes-Cantor closed form p_same = 1/4 + 3/4 exp(-4t/3)
    t = 0.3
    p = JC69().transition_matrices(np.array([t]))[0, 0]
    assert p[0, 0] == pytest.approx(0.25 + 0.75 * np.exp(-4 * t / 3), abs=1e-15)
    assert p[0, 1] == pytest.approx(0.25 - 0.25 * np.exp(-4 * t / 3), abs=1e-15)


def test_model_family_equivalences():
    # GTR with JC parameters is JC; HKY with kappa=1 and equal frequencies is K80{1} is JC
    jc = JC69().rate_matrix()
    np.testing.assert_allclose(GTR(np.ones(5), np.full(4, 0.25)).rate_matrix(), jc, atol=1e-15)
    np.testing.assert_allclose(K80(1.0).rate_matrix(), jc, atol=1e-15)
    np.testing.assert_allclose(HKY85(3.0, FREQS).rate_matrix(), TN93(3.0, 3.0, FREQS).rate_matrix(), atol=1e-15)
    np.testing.assert_allclose(F81(FREQS).rate_matrix(), GTR(np.ones(5), FREQS).rate_matrix(), atol=1e-15)


@pytest.mark.parametrize("alpha, expected", [
    # reference: shared/data/reference/README.md (SciPy, 12 digits)
    (0.1124, [2.42524764352e-06, 0.00231098631431, 0.128523985772, 3.86916260267]),
    (0.1447, [3.78662387578e-05, 0.00909707125198, 0.225786381662, 3.76507868085]),
    (0.5, [0.0333877533836, 0.251915917593, 0.820268481974, 2.89442784705]),
])
def test_gamma_mean_rates_match_readme_table(alpha, expected):
    np.testing.assert_allclose(gamma_category_rates(alpha, 4), expected, rtol=1e-11)


def test_gamma_mean_rates_match_quadrature(numpy_reference):
    # reference: direct quadrature of x * Gamma pdf over each quantile slice
    np.testing.assert_allclose(gamma_category_rates(0.8, 6), numpy_reference.gamma_mean_rates(0.8, 6), rtol=1e-9)


def test_gamma_median_rates():
    # reference: Yang (1994) median variant: quantiles at (2k-1)/2K rescaled to mean one (scipy.stats)
    from scipy import stats

    medians = stats.gamma(0.5, scale=2.0).ppf((2 * np.arange(1, 5) - 1) / 8)
    np.testing.assert_allclose(gamma_category_rates(0.5, 4, median=True), medians / medians.mean(), rtol=1e-12)


@pytest.mark.parametrize("median", [False, True])
@pytest.mark.parametrize("alpha", [0.1124, 0.5, 3.0, 49.0, 50.0, 150.0, 300.0, 1000.0])
def test_gamma_rate_derivative_matches_finite_differences(alpha, median):
    # reference: 4th-order central differences of the rates (step 1e-4 alpha); from alpha = 50 the
    # derivative is integrated in log space (Gamma(alpha) and y^alpha overflowed from about 150 on)
    h = 1e-4 * alpha
    rates = [gamma_category_rates(alpha + j * h, 4, median=median) for j in (-2, -1, 1, 2)]
    fd = (rates[0] - 8 * rates[1] + 8 * rates[2] - rates[3]) / (12 * h)
    np.testing.assert_allclose(gamma_category_rates_derivative(alpha, 4, median=median), fd, rtol=1e-7, atol=1e-9)


def test_parse_iqtree_model_strings():
    model = parse_model("GTR{0.7322,1.113,0.6498,1.878,3.333}+F{0.2340,0.2568,0.2799,0.2293}+G4{0.1124}")
    np.testing.assert_allclose(model.exchangeabilities, [0.7322, 1.113, 0.6498, 1.878, 3.333, 1.0])
    np.testing.assert_allclose(model.frequencies, FREQS)
    assert (model.gamma_shape, model.n_categories) == (0.1124, 4)
    assert parse_model("K80{1.883}").exchangeabilities[1] == pytest.approx(1.883, rel=1e-12)
    assert parse_model("HKY{2}+F").has_empirical_frequencies
    assert parse_model("TN93{2,3}+FQ+I{0.2}+G8{0.7}").invariant_proportion == 0.2
    assert parse_model("TN{2,3}+G8{0.7}").n_categories == 8
    assert parse_model("jc69").name == "JC69"
    again = parse_model(model.to_iqtree())
    np.testing.assert_allclose(again.rate_matrix(), model.rate_matrix(), rtol=1e-15)


@pytest.mark.parametrize("bad", ["", "WAG", "K80", "GTR{1,2,3}", "JC+G4", "JC+F{0.1,0.2,0.3,0.4}",
                                 "HKY{2}+F{0.5,0.5}", "JC+I", "GTR{1,1,1,1,1}+Q", "GTR{1,x,1,1,1}",
                                 "JC+I{1.5}", "JC+G4{-1}"])
def test_bad_model_strings_raise(bad):
    with pytest.raises(ModelSpecificationError):
        parse_model(bad)


def test_empirical_frequencies_reproduce_iqtree(ds1_patterns):
    # reference: README "IQ-TREE's +F" for DS1 (EM over gaps, 8 rounds) and the count fractions
    iqtree = [0.23411423959836594, 0.25670413714056184, 0.2799148986744037, 0.22926672458666852]
    np.testing.assert_allclose(empirical_frequencies(ds1_patterns.codes, ds1_patterns.weights), iqtree, rtol=1e-13)
    counts = np.array([9804, 10750, 11722, 9601]) / 41877
    np.testing.assert_allclose(
        empirical_frequencies(ds1_patterns.codes, ds1_patterns.weights, count_fractions=True), counts, rtol=1e-14)
