"""Branch-length gradients, Hessian diagonals and model-parameter derivatives."""
from __future__ import annotations

import csv

import numpy as np
import pytest

from phylo_vi.io.newick import read_newick
from phylo_vi.likelihood import TreeLikelihood

GTR_G4 = "GTR{0.7322,1.113,0.6498,1.878,3.333}+F{0.2340,0.2568,0.2799,0.2293}+G4{0.1124}"
GTR_G4_05 = "GTR{0.7322,1.113,0.6498,1.878,3.333}+F{0.2340,0.2568,0.2799,0.2293}+G4{0.5}"
SIM = "GTR{1.2,3.1,0.8,0.9,4.0}+F{0.30,0.20,0.22,0.28}+G4{0.5}"
CASES = {  # case -> (alignment, tree, model, absolute tolerance)
    "A-JC": ("ds1", "DS1_treeA_mapJC.nwk", "JC", 1e-7),
    "A-GTR+G4": ("ds1", "DS1_treeA_mapJC.nwk", GTR_G4, 1e-7),
    "C-JC": ("ds1", "DS1_treeC_all0.1.nwk", "JC", 1e-7),
    "C-GTR+G4a0.5": ("ds1", "DS1_treeC_all0.1.nwk", GTR_G4_05, 1e-7),
    "S-JC": ("sim", "sim100x10000.true.nwk", "JC", 1e-5),
    "S-GTR+G4": ("sim", "sim100x10000.true.nwk", SIM, 1e-5),
}


def read_tree(path):
    return next(read_newick(path))


@pytest.mark.parametrize("case", sorted(CASES))
def test_gradient_matches_beagle(case, reference_dir, ds1_patterns, sim_patterns):
    # reference: shared/data/reference/grad_<case>.tsv (BEAGLE 3.1.2 harness; BEAGLE vs NumPy agree
    # to 7e-10 on DS1 and 4e-7 on the simulated data, gradient_crosscheck.tsv)
    alignment, tree_file, model, tolerance = CASES[case]
    tree = read_tree(reference_dir / tree_file)
    likelihood = TreeLikelihood(ds1_patterns if alignment == "ds1" else sim_patterns, tree, model)
    with open(reference_dir / f"grad_{case}.tsv") as handle:
        expected = {row["clade_below_edge"]: float(row["dlogL_dlength"]) for row in csv.DictReader(handle, delimiter="\t")}
    _, gradient = likelihood.gradient()
    labels = likelihood.clade_labels()
    assert sorted(labels) == sorted(expected)
    for label, value in zip(labels, gradient):
        assert value == pytest.approx(expected[label], abs=tolerance, rel=1e-9), label


def _central(f, x, direction, h):
    return (f(x + h * direction) - f(x - h * direction)) / (2 * h)


@pytest.mark.parametrize("model", ["JC", GTR_G4_05, "HKY{2.0}+F+I{0.3}+G4{0.4}"])
def test_gradient_and_hessian_match_finite_differences(model, reference_dir, ds1_patterns):
    # reference: central finite differences (h = 1e-5) of log L and of the analytic gradient
    tree = read_tree(reference_dir / "DS1_treeC_all0.1.nwk")
    likelihood = TreeLikelihood(ds1_patterns, tree, model)
    t = np.random.default_rng(7).uniform(0.01, 0.2, likelihood.n_branches)
    value, gradient, hessian = likelihood.derivatives(t)
    assert value == pytest.approx(likelihood.log_likelihood(t), rel=1e-14)
    assert np.allclose(likelihood.hessian_diagonal(t), hessian, rtol=1e-14)
    h = 1e-5
    for branch in [0, 5, 17, likelihood.n_branches - 1]:
        e = np.eye(likelihood.n_branches)[branch]
        fd = _central(lambda x: likelihood.log_likelihood(x), t, e, h)
        assert gradient[branch] == pytest.approx(fd, rel=1e-6, abs=1e-5)
        fd2 = _central(lambda x: likelihood.gradient(x)[1][branch], t, e, h)
        assert hessian[branch] == pytest.approx(fd2, rel=1e-6, abs=1e-4)


def test_gamma_shape_derivative_matches_finite_differences(reference_dir, ds1_patterns):
    # reference: 4th-order central differences of log L in alpha (step 1e-4)
    tree = read_tree(reference_dir / "DS1_treeA_mapJC.nwk")
    likelihood = TreeLikelihood(ds1_patterns, tree, GTR_G4_05 + "")
    alpha, h = 0.5, 1e-4

    def at(a):
        return TreeLikelihood(ds1_patterns, tree, likelihood.model.with_gamma_shape(a)).log_likelihood()

    fd = (at(alpha - 2 * h) - 8 * at(alpha - h) + 8 * at(alpha + h) - at(alpha + 2 * h)) / (12 * h)
    assert likelihood.gamma_shape_derivative() == pytest.approx(fd, rel=1e-6)


def test_exchangeability_gradient_matches_finite_differences(reference_dir, ds1_patterns):
    # reference: central differences (h = 1e-4) of the Numba log L in each free exchangeability (GT = 1)
    tree = read_tree(reference_dir / "DS1_treeA_mapJC.nwk")
    likelihood = TreeLikelihood(ds1_patterns, tree, GTR_G4_05)
    gradient = likelihood.exchangeability_gradient()
    rates, h = likelihood.model.exchangeabilities.copy(), 1e-4
    for m in range(5):
        step = np.zeros(6)
        step[m] = h
        up = TreeLikelihood(ds1_patterns, tree, likelihood.model.with_exchangeabilities(rates + step))
        down = TreeLikelihood(ds1_patterns, tree, likelihood.model.with_exchangeabilities(rates - step))
        fd = (up.log_likelihood() - down.log_likelihood()) / (2 * h)
        assert gradient[m] == pytest.approx(fd, rel=1e-6, abs=2e-6)


def test_batched_gradients_equal_single_calls(reference_dir, ds1_patterns):
    # reference: the single-vector methods (the batch must be the same computation)
    tree = read_tree(reference_dir / "DS1_treeA_mapJC.nwk")
    likelihood = TreeLikelihood(ds1_patterns, tree, GTR_G4)
    samples = np.random.default_rng(3).uniform(0.0, 0.3, (4, likelihood.n_branches))
    values, gradients = likelihood.gradient_batch(samples)
    np.testing.assert_allclose(likelihood.log_likelihood_batch(samples), values, rtol=1e-14)
    for s in range(4):
        value, gradient = likelihood.gradient(samples[s])
        assert values[s] == pytest.approx(value, rel=1e-14)
        np.testing.assert_allclose(gradients[s], gradient, rtol=1e-12, atol=1e-12)


def test_gradient_on_rooted_and_multifurcating_trees(reference_dir, ds1_patterns):
    # reference: central finite differences (h = 1e-5); a bifurcating root and a polytomy
    # (a zero-length internal branch collapsed by hand) exercise the non-binary pre-order path
    from phylo_vi.io.newick import parse_newick

    tree = read_tree(reference_dir / "DS1_treeB_mlGTRG4.nwk")
    rooted = tree.reroot(10, 0.4)
    grouped = ("Alligator_mississippiensis", "Ambystoma_mexicanum", "Siren_intermedia", "Amphiuma_tridactylum",
               "Bufo_valliceps")
    rest = [name for name in ds1_patterns.taxa.names if name not in grouped]
    text = ("((Alligator_mississippiensis:0.1,Ambystoma_mexicanum:0.05,Siren_intermedia:0.2,"
            "(Amphiuma_tridactylum:0.1,Bufo_valliceps:0.1):0.02):0.03,"
            + ",".join(f"{name}:0.07" for name in rest) + ");")
    polytomy = parse_newick(text, tree.taxa)
    for shape in (rooted, polytomy):
        likelihood = TreeLikelihood(ds1_patterns, shape, "HKY{2.0}+F+G4{0.5}")
        t = np.random.default_rng(1).uniform(0.01, 0.2, likelihood.n_branches)  # away from the 0 boundary
        _, gradient = likelihood.gradient(t)
        for branch in range(0, likelihood.n_branches, 7):
            e = np.zeros_like(t)
            e[branch] = 1.0
            fd = _central(lambda x: likelihood.log_likelihood(x), t, e, 1e-5)
            assert gradient[branch] == pytest.approx(fd, rel=1e-6, abs=1e-5)
