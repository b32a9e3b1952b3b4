"""Maximum likelihood on a fixed topology (``phylo_vi.likelihood.optimize``) and its derivatives.

Fast tests run on an alignment simulated here (8 taxa, 600 sites, HKY+I+G4, seeded); the
IQ-TREE comparisons on DS1 pin IQ-TREE 2.0.7's log-likelihoods (Debian ``iqtree``) read from the
``CandidateSet`` entry of its checkpoint (12 digits), produced by

    iqtree2 -s shared/data/DS1/DS1.fasta -te TREE -m MODEL -nt 1 -redo --prefix P
    zcat P.ckp.gz | awk '/^CandidateSet:/{getline; print $2; exit}'

with TREE = shared/data/reference/DS1_treeA_mapJC.nwk (A) or DS1_treeB_mlGTRG4.nwk (B).
"""
from __future__ import annotations

import numpy as np
import pytest

from phylo_vi.alignment import Alignment
from phylo_vi.io.newick import parse_newick
from phylo_vi.likelihood import TreeLikelihood, parse_model
from phylo_vi.likelihood.information import information_criteria, observed_information
from phylo_vi.likelihood.model_gradient import model_gradient
from phylo_vi.likelihood.model_parameters import ModelParameters
from phylo_vi.likelihood.optimize import maximize_likelihood
from phylo_vi.trees import TaxonNamespace

SIMULATION_TREE = ("((a:0.08,b:0.12):0.05,(c:0.02,(d:0.15,e:0.07):0.03):0.06,"
                   "((f:0.1,g:0.04):0.09,h:0.2):0.01);")
SIMULATION_MODEL = "HKY{3.0}+F{0.3,0.2,0.2,0.3}+I{0.3}+G4{0.7}"
IQTREE_DS1 = {  # IQ-TREE 2.0.7, commands in the module docstring
    ("A", "JC"): -6884.97022812, ("A", "HKY+G4"): -6544.82895499,
    ("A", "GTR+G4"): -6483.19874911, ("A", "HKY+I+G4"): -6515.24997332,
    ("B", "JC"): -6884.60032122, ("B", "HKY+G4"): -6544.19851633,
    ("B", "GTR+G4"): -6482.16465247, ("B", "HKY+I+G4"): -6514.26869296,
    ("A", "GTR+FO+G4"): -6481.72840518, ("A", "HKY+I"): -6550.90115216,     # estimated frequencies; +I alone
}
TREE_FILES = {"A": "DS1_treeA_mapJC.nwk", "B": "DS1_treeB_mlGTRG4.nwk", "C": "DS1_treeC_all0.1.nwk"}


def simulate(tree, model, n_sites: int, rng) -> np.ndarray:
    """Codes (taxa, sites) evolved down ``tree`` under ``model`` (+I, +G categories drawn per site)."""
    n_categories = model.n_categories
    site_class = rng.choice(n_categories + 1, size=n_sites,
                            p=np.append(model.category_weights(), model.invariant_proportion))
    matrices = model.transition_matrices(tree.branch_length[:-1])           # (B, K, 4, 4)
    states = np.empty((tree.n_nodes, n_sites), dtype=np.int64)
    states[tree.root] = rng.choice(4, size=n_sites, p=model.frequencies)
    for node in range(tree.n_nodes - 2, -1, -1):                            # parents before children
        above = states[tree.parent[node]]
        rows = matrices[node][np.minimum(site_class, n_categories - 1), above]   # (n_sites, 4)
        cumulative = rows.cumsum(axis=1)
        drawn = (rng.random(n_sites)[:, None] > cumulative).sum(axis=1)
        states[node] = np.where(site_class == n_categories, above, np.minimum(drawn, 3))
    codes = np.zeros((len(tree.taxa), n_sites), dtype=np.uint8)
    leaves = tree.taxon >= 0
    codes[tree.taxon[leaves]] = (1 << states[leaves]).astype(np.uint8)
    return codes


@pytest.fixture(scope="module")
def simulated():
    taxa = TaxonNamespace()
    tree = parse_newick(SIMULATION_TREE, taxa)
    codes = simulate(tree, parse_model(SIMULATION_MODEL), 600, np.random.default_rng(7))
    return Alignment(taxa, codes).site_patterns(), tree


@pytest.fixture(scope="module")
def simulated_fit(simulated):
    patterns, tree = simulated
    return maximize_likelihood(TreeLikelihood(patterns, tree, "JC"), "HKY+I+G4")


# ----------------------------------------------------------------------------- parameters
@pytest.mark.parametrize("text, names, n_frequencies", [
    ("JC", (), 0), ("HKY+G4", ("kappa", "alpha"), 3), ("HKY{2}+G4", ("alpha",), 3),
    ("GTR+FO+I+G4", ("AC", "AG", "AT", "CG", "CT", "pi_A/pi_T", "pi_C/pi_T", "pi_G/pi_T", "p_inv", "alpha"), 3),
    ("TN+F{0.1,0.2,0.3,0.4}+I{0.2}", ("AG", "CT"), 0), ("K80+G8{0.5}", ("kappa",), 0),
])
def test_values_in_the_string_are_fixed_the_others_free(simulated, text, names, n_frequencies):
    # IQ-TREE's convention (a value given is fixed); +F counts 3 parameters as in IQ-TREE's report
    patterns, _ = simulated
    parameters = ModelParameters(text, patterns.codes, patterns.weights)
    assert parameters.names == names
    assert parameters.n_frequency_parameters == n_frequencies


def test_fitted_model_string_reads_back_to_the_same_log_likelihood(simulated, simulated_fit):
    patterns, tree = simulated
    again = TreeLikelihood(patterns, tree, simulated_fit.model_string)
    assert again.log_likelihood(simulated_fit.branch_lengths) == pytest.approx(simulated_fit.log_likelihood, abs=1e-9)
    fitted_tree = TreeLikelihood(patterns, simulated_fit.tree, simulated_fit.model_string)
    assert fitted_tree.log_likelihood() == pytest.approx(simulated_fit.log_likelihood, abs=1e-9)


# ---------------------------------------------------------------------------- derivatives
@pytest.mark.parametrize("text", ["HKY+I+G4", "GTR+FO+G4", "TN+I"])
def test_model_gradient_matches_finite_differences(simulated, text):
    # reference: central differences (step 1e-6) of the engine's log-likelihood in each coordinate
    patterns, tree = simulated
    parameters = ModelParameters(text, patterns.codes, patterns.weights)
    x = parameters.start + np.linspace(-0.2, 0.2, parameters.n_free)
    likelihood = TreeLikelihood(patterns, tree, parameters.model(x))
    t = tree.branch_length[:-1] * 1.3
    _, _, gradient = model_gradient(likelihood, parameters, x, t)
    for i in range(parameters.n_free):
        step = np.zeros_like(x)
        step[i] = 1e-6
        likelihood.set_model(parameters.model(x + step))
        above = likelihood.log_likelihood(t)
        likelihood.set_model(parameters.model(x - step))
        below = likelihood.log_likelihood(t)
        assert gradient[i] == pytest.approx((above - below) / 2e-6, rel=1e-5, abs=1e-5), parameters.names[i]


@pytest.mark.parametrize("alpha", [0.05, 50.0, 300.0])
def test_gamma_shape_gradient_matches_finite_differences_over_its_range(simulated, alpha):
    # above alpha = 100 the rate derivative switches from quadrature to differences of the rates
    patterns, tree = simulated
    parameters = ModelParameters("JC+G4", patterns.codes, patterns.weights)
    x = np.array([np.log(alpha)])
    likelihood = TreeLikelihood(patterns, tree, parameters.model(x))
    t = tree.branch_length[:-1]
    _, _, gradient = model_gradient(likelihood, parameters, x, t)
    values = []
    for shifted in (x - 1e-5, x + 1e-5):
        likelihood.set_model(parameters.model(shifted))
        values.append(likelihood.log_likelihood(t))
    assert gradient[0] == pytest.approx((values[1] - values[0]) / 2e-5, rel=1e-4, abs=1e-6)


def test_exchangeability_and_frequency_gradient_match_torch_autograd(simulated):
    # reference: reverse-mode autograd through the torch twin (matrix_exp of the normalised Q)
    import torch

    from phylo_vi.likelihood.torch_backend import TorchTreeLikelihood

    patterns, tree = simulated
    parameters = ModelParameters("GTR+FO", patterns.codes, patterns.weights)
    x = parameters.start + np.linspace(-0.3, 0.3, parameters.n_free)
    likelihood = TreeLikelihood(patterns, tree, parameters.model(x))
    t = tree.branch_length[:-1]
    _, _, gradient = model_gradient(likelihood, parameters, x, t)
    twin = TorchTreeLikelihood(patterns, tree, likelihood.model)
    rates = torch.tensor(likelihood.model.exchangeabilities, dtype=torch.float64, requires_grad=True)
    pi = torch.tensor(likelihood.model.frequencies, dtype=torch.float64, requires_grad=True)
    twin.log_likelihood(torch.as_tensor(t), exchangeabilities=rates, frequencies=pi).backward()
    exact_rates = parameters.base_gradient(rates.grad[:5].numpy(), x)
    exact_pi = parameters.frequency_gradient(pi.grad.numpy(), x)
    np.testing.assert_allclose(gradient, np.concatenate([exact_rates, exact_pi]), rtol=1e-6, atol=1e-6)


# ------------------------------------------------------------------------------- optimum
def test_gradient_vanishes_at_the_optimum(simulated, simulated_fit):
    # every coordinate off its bounds: a Newton step from the optimum gains under 1e-6 log units,
    # g^2 / (2 |H|) with H the second difference of log L (values only, independent of the gradient)
    patterns, tree = simulated
    fit = simulated_fit
    likelihood = TreeLikelihood(patterns, tree, fit.model_string)
    t = fit.branch_lengths
    _, gradient = likelihood.gradient(t)
    interior = t > 1e-5
    curvature = likelihood.hessian_diagonal(t)
    assert np.all(gradient[interior] ** 2 / (2 * np.abs(curvature[interior])) < 1e-6)
    assert np.all(gradient[~interior] <= 1e-3)     # at the lower bound log L may only fall inward
    parameters = fit.specification
    _, _, model_part = model_gradient(likelihood, parameters, fit.coordinates[len(t):], t)
    for i, name in enumerate(parameters.names):
        step = np.zeros(parameters.n_free)
        step[i] = 1e-3
        x = fit.coordinates[len(t):]
        values = []
        for shifted in (x - step, x, x + step):
            likelihood.set_model(parameters.model(shifted))
            values.append(likelihood.log_likelihood(t))
        second = (values[0] - 2 * values[1] + values[2]) / 1e-6
        assert model_part[i] ** 2 / (2 * abs(second)) < 1e-6, name


def test_optimum_beats_the_generating_parameters_and_nearby_points(simulated, simulated_fit):
    # a maximum: log L at the simulation's own tree and model, and at random perturbations of the
    # optimum, is lower
    patterns, tree = simulated
    generating = TreeLikelihood(patterns, tree, SIMULATION_MODEL).log_likelihood()
    assert simulated_fit.log_likelihood > generating
    likelihood = TreeLikelihood(patterns, tree, simulated_fit.model_string)
    rng = np.random.default_rng(1)
    for _ in range(5):
        nearby = simulated_fit.branch_lengths * np.exp(rng.normal(0, 0.05, likelihood.n_branches))
        assert likelihood.log_likelihood(nearby) < simulated_fit.log_likelihood


def test_fixed_parameters_stay_fixed(simulated):
    patterns, tree = simulated
    fit = maximize_likelihood(TreeLikelihood(patterns, tree, "JC"), "HKY{2.5}+G4")
    assert fit.model.exchangeabilities[1] == pytest.approx(2.5, rel=1e-15)
    assert list(fit.parameters) == ["alpha"]


def test_optimize_method_without_a_model_fits_the_branch_lengths_only(simulated):
    # every parameter of the current model is fixed: only the 13 branch lengths are free
    patterns, tree = simulated
    likelihood = TreeLikelihood(patterns, tree, SIMULATION_MODEL)
    fit = likelihood.optimize()
    assert fit.parameters == {} and fit.n_parameters == likelihood.n_branches == 13
    assert fit.log_likelihood > likelihood.log_likelihood(tree.branch_length[:-1])
    assert likelihood.model.to_iqtree() == parse_model(SIMULATION_MODEL).to_iqtree()


# --------------------------------------------------------------------------- information
def test_information_criteria_reproduce_iqtree_report():
    # reference: IQ-TREE 2.0.7 report (.iqtree) of `-te DS1_treeA_mapJC.nwk -m GTR+G4` on DS1:
    # log L -6483.1987, 60 free parameters, 1949 sites: AIC 13086.3975, AICc 13090.2746, BIC 13420.9018
    criteria = information_criteria(-6483.1987, 60, 1949)
    assert criteria["AIC"] == pytest.approx(13086.3975, abs=1e-4)
    assert criteria["AICc"] == pytest.approx(13090.2746, abs=1e-4)
    assert criteria["BIC"] == pytest.approx(13420.9018, abs=1e-4)


def test_observed_information_matches_second_differences_of_values(simulated, simulated_fit):
    # reference: second differences of log-likelihood values (no gradient code involved)
    patterns, tree = simulated
    fit = simulated_fit
    likelihood = TreeLikelihood(patterns, tree, fit.model_string)
    parameters = fit.specification
    z = fit.coordinates
    free = np.zeros(len(z), dtype=bool)
    chosen = [0, 3, len(z) - 2, len(z) - 1]          # two branches, p_inv, alpha
    free[chosen] = True
    information = observed_information(likelihood, parameters, z, free)
    n_branches = likelihood.n_branches

    def log_l(point):
        likelihood.set_model(parameters.model(point[n_branches:]))
        return likelihood.log_likelihood(point[:n_branches])

    for row, i in enumerate(chosen):
        h = 1e-3 * max(abs(z[i]), 1e-2)
        step = np.zeros_like(z)
        step[i] = h
        second = (log_l(z + step) - 2 * log_l(z) + log_l(z - step)) / h**2
        assert information[row, row] == pytest.approx(-second, rel=1e-3)


def test_standard_errors_are_finite_off_the_bounds(simulated_fit):
    branch_errors, model_errors = simulated_fit.standard_errors()
    interior = simulated_fit.branch_lengths > 1e-5
    assert np.all(np.isfinite(branch_errors[interior]) & (branch_errors[interior] > 0))
    assert set(model_errors) == {"kappa", "p_inv", "alpha"}
    assert all(np.isfinite(value) and value > 0 for value in model_errors.values())


# ------------------------------------------------------------------------------ IQ-TREE
def _ds1_fit(reference_dir, ds1_patterns, tree_name, model):
    from phylo_vi.io.trees import read_trees

    tree = next(iter(read_trees(reference_dir / TREE_FILES[tree_name], burnin=0.0)))
    return maximize_likelihood(TreeLikelihood(ds1_patterns, tree, "JC"), model)


@pytest.mark.parametrize("tree_name, model", sorted(IQTREE_DS1))
def test_ds1_at_least_iqtree(reference_dir, ds1_patterns, tree_name, model):
    # reference: IQTREE_DS1 (module docstring); free-parameter counts from the same runs' .iqtree reports
    fit = _ds1_fit(reference_dir, ds1_patterns, tree_name, model)
    assert fit.log_likelihood >= IQTREE_DS1[(tree_name, model)] - 1e-3
    assert fit.n_parameters == {"JC": 51, "HKY+G4": 56, "GTR+G4": 60, "HKY+I+G4": 57, "GTR+FO+G4": 60,
                                "HKY+I": 56}[model]
    again = TreeLikelihood(ds1_patterns, fit.tree, fit.model_string)
    assert again.log_likelihood() == pytest.approx(fit.log_likelihood, abs=1e-9)


@pytest.mark.slow
def test_ds1_from_all_branches_at_one_tenth_reaches_the_same_optimum(reference_dir, ds1_patterns):
    # tree C is tree A's topology with every branch 0.1 (tree length 5.1, far from the optimum):
    # the fit must end where the fit from tree A's lengths ends
    from_a = _ds1_fit(reference_dir, ds1_patterns, "A", "GTR+G4")
    from_c = _ds1_fit(reference_dir, ds1_patterns, "C", "GTR+G4")
    assert from_c.log_likelihood == pytest.approx(from_a.log_likelihood, abs=1e-4)


def test_a_random_sequence_ends_on_the_longest_branch_without_failure(simulated):
    # a taxon whose sequence is noise has an optimal pendant branch beyond any bound: the fit stops
    # at IQ-TREE's upper bound 10 with a finite log L and the gradient pointing outwards
    patterns, tree = simulated
    codes = patterns.codes.copy()
    row = patterns.taxa.index("h")
    codes[row] = 1 << np.random.default_rng(3).integers(0, 4, codes.shape[1])
    noisy = Alignment(patterns.taxa, np.repeat(codes, patterns.weights.astype(int), axis=1)).site_patterns()
    fit = maximize_likelihood(TreeLikelihood(noisy, tree, "JC"), "JC")
    branch = int(np.flatnonzero(tree.taxon == tree.taxa.index("h"))[0])
    assert np.isfinite(fit.log_likelihood)
    assert fit.branch_lengths[branch] > 2.0
    if fit.branch_lengths[branch] == 10.0:
        assert TreeLikelihood(noisy, fit.tree, "JC").gradient()[1][branch] >= 0


@pytest.mark.slow
def test_sim100x10000_gtr_g4_at_least_iqtree(reference_dir, sim_patterns):
    # reference: iqtree2 -s sim100x10000.fasta -te sim100x10000.true.nwk -m GTR+G4 -nt 1 -redo
    # (IQ-TREE 2.0.7): log L -196218.328448, 206 free parameters (its .iqtree report)
    from phylo_vi.io.trees import read_trees
    from phylo_vi.likelihood.optimize import fit_model

    tree = next(iter(read_trees(reference_dir / "sim100x10000.true.nwk", burnin=0.0)))
    fit = fit_model(sim_patterns, tree, "GTR+G4")
    assert fit.log_likelihood >= -196218.328448 - 1e-3
    assert fit.n_parameters == 206
