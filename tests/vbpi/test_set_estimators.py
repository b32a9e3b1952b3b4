"""The canonically rooted SBN as a sequential model, and the unordered-set and sum-and-sample estimators.

References are exact enumerations over the 15 five-taxon topologies (tests/vbpi/five_taxa.py):
q_φ(τ) from the Numba mixture kernel of :mod:`phylo_vi.vbpi.topology` (a code path independent of
the sequential model), Plackett-Luce probabilities of every ordered draw for the beam search, and
the gradient of Σ_τ q_φ(τ) f(τ) by autograd through the sum for the estimators.
"""
from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest
import torch

from phylo_vi.errors import PhyloVIError
from phylo_vi.vbpi.batch import topology_batch
from phylo_vi.vbpi.canonical import SBNSequence
from phylo_vi.vbpi.estimator import VBPI
from phylo_vi.vbpi.model import PhylogeneticModel
from phylo_vi.vbpi.posterior import VariationalPosterior
from phylo_vi.vbpi.set_estimators import sum_and_sample_objective, unordered_set_objective
from phylo_vi.vi.sequential import sample_sequences, stochastic_beam_search
from phylo_vi.vi.sequential_sum_and_sample import ExcludingModel, beam_search
from phylo_vi.vi.unordered_set import log_inclusion_ratios
from .test_estimator import check_against_exact
from .five_taxa import random_logits
from .test_cli import SHORT, _run, files  # noqa: F401 (fixture)
from .test_objectives import canonical_noise


@pytest.fixture
def canonical(five_taxa, full_support):
    posterior = VariationalPosterior(full_support, five_taxa.taxa, rooting="canonical",
                                     generator=torch.Generator().manual_seed(2))
    random_logits(posterior.topology, 4)
    return posterior


@pytest.fixture
def exact_q(five_taxa, full_support, canonical):
    """log q_φ of the 15 topologies (Numba kernel, point-mass root) keyed by topology."""
    every = topology_batch(five_taxa.arrays(), full_support)
    with torch.no_grad():
        log_q = canonical.topology.log_prob(every).numpy()
    return dict(zip(every.topology_keys, log_q))


def test_sequences_enumerate_every_topology_once_with_its_probability(canonical, exact_q):
    sequences = SBNSequence(canonical.topology)
    found = beam_search(sequences, 20)                       # more beams than topologies: all of them
    valid = found.valid[0]
    assert int(valid.sum()) == 15
    batch = sequences.topologies(found.state, torch.nonzero(valid).squeeze(-1))
    assert sorted(batch.topology_keys) == sorted(exact_q)   # each topology exactly once
    sequence_log_q = found.log_prob[0, valid].detach().numpy()
    np.testing.assert_allclose(sequence_log_q, [exact_q[key] for key in batch.topology_keys], atol=1e-12)
    assert math.isclose(float(np.exp(sequence_log_q).sum()), 1.0, abs_tol=1e-12)


def plackett_luce_inclusion(p: np.ndarray, k: int) -> np.ndarray:
    """P(i ∈ S) for k draws without replacement, by enumerating every ordered draw."""
    inclusion = np.zeros(len(p))
    for order in itertools.permutations(range(len(p)), k):
        chosen = p[list(order)]
        probability = np.prod(chosen / (1.0 - np.concatenate([[0.0], np.cumsum(chosen)[:-1]])))
        inclusion[list(order)] += probability
    return inclusion


def test_beam_search_draws_without_replacement_with_the_exact_inclusion_probabilities(canonical, exact_q):
    k, n = 3, 3000
    sequences = SBNSequence(canonical.topology)
    with torch.no_grad():
        draw = stochastic_beam_search(sequences, n, k, generator=torch.Generator().manual_seed(3))
    keys = sequences.topologies(draw.state).topology_keys
    sets = [keys[i * k:(i + 1) * k] for i in range(n)]
    assert all(len(set(s)) == k for s in sets)              # without replacement
    names = list(exact_q)
    expected = plackett_luce_inclusion(np.exp([exact_q[key] for key in names]), k)
    counts = np.array([sum(key in s for s in sets) for key in names])
    standard_error = np.sqrt(expected * (1 - expected) / n)
    assert np.all(np.abs(counts / n - expected) < 4 * standard_error)


def test_unordered_set_weights_match_enumeration(canonical, exact_q):
    # p(s) R(S, s) = p(s) P^{D\s}(S\s) / P(S), set probabilities summed over the orders of the set
    k = 3
    sequences = SBNSequence(canonical.topology)
    with torch.no_grad():
        draw = stochastic_beam_search(sequences, 5, k, generator=torch.Generator().manual_seed(4))
    keys = sequences.topologies(draw.state).topology_keys
    q = {key: math.exp(value) for key, value in exact_q.items()}

    def set_probability(members, removed=()):
        rest = 1.0 - sum(q[key] for key in removed)
        total = 0.0
        for order in itertools.permutations(members):
            probability, taken = 1.0, 0.0
            for key in order:
                probability *= q[key] / (rest - taken)
                taken += q[key]
            total += probability
        return total

    for i in range(5):
        members = keys[i * k:(i + 1) * k]
        log_p = torch.tensor([exact_q[key] for key in members])
        log_r1, _ = log_inclusion_ratios(log_p)
        expected = [set_probability([m for m in members if m != s], removed=[s]) / set_probability(members)
                    for s in members]
        np.testing.assert_allclose(log_r1.exp().numpy(), expected, rtol=1e-8)


def exact_and_estimated_gradients(canonical, five_taxa, full_support, objective, n_repeats, seed):
    """Exact ∇ Σ_τ q_φ(τ) f(τ) in (φ, ψ) (branch noise fixed per split, so f is a function of τ) and
    ``n_repeats`` estimates, projected on 3 fixed random directions."""
    model = PhylogeneticModel(five_taxa.patterns, five_taxa.taxa)
    noise = np.random.default_rng(21).standard_normal((1, 2 * 5 - 3))
    parameters = [canonical.topology.pcsp_logits, canonical.branch.features]
    every = topology_batch(five_taxa.arrays(), full_support)
    particles = canonical(model, every, canonical_noise(every, noise))
    exact = torch.cat([g.ravel() for g in torch.autograd.grad(
        (particles.log_q_topology.exp() * particles.log_weights(1.0)).sum(), parameters)])

    def particles_of(batch):
        return canonical(model, batch, canonical_noise(batch, noise))

    generator = torch.Generator().manual_seed(seed)
    estimates = torch.stack([torch.cat([g.ravel() for g in torch.autograd.grad(
        objective(canonical, 4, 1.0, generator, particles_of).surrogate, parameters)]) for _ in range(n_repeats)])
    directions = torch.randn(3, exact.numel(), generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    return directions @ exact, estimates @ directions.T


@pytest.mark.parametrize("objective", [unordered_set_objective, sum_and_sample_objective])
def test_set_estimators_are_unbiased(canonical, five_taxa, full_support, objective):
    exact, projected = exact_and_estimated_gradients(canonical, five_taxa, full_support, objective, 400, 6)
    estimate = projected.mean(0)
    standard_error = projected.std(0) / math.sqrt(len(projected))
    assert torch.all((estimate - exact).abs() < 3.5 * standard_error + 1e-9)
    assert torch.all(standard_error < 0.2 * exact.abs().max())  # the test has power


def test_excluding_model_samples_outside_the_set_in_proportion_to_q(canonical, exact_q):
    sequences = SBNSequence(canonical.topology)
    with torch.no_grad():
        top = beam_search(sequences, 4)
        excluded = ExcludingModel(sequences, top.choices[0], top.log_prob[0])
        draw = sample_sequences(excluded, 1, 4000, generator=torch.Generator().manual_seed(9))
    top_keys = set(sequences.topologies(top.state).topology_keys)
    keys = sequences.topologies(draw.state.inner).topology_keys
    assert not top_keys & set(keys)
    rest = [key for key in exact_q if key not in top_keys]
    expected = np.exp([exact_q[key] for key in rest])
    expected /= expected.sum()
    frequency = np.array([keys.count(key) for key in rest]) / len(keys)
    assert np.all(np.abs(frequency - expected) < 4 * np.sqrt(expected * (1 - expected) / len(keys)))


@pytest.mark.slow
@pytest.mark.parametrize("estimator", ["unordered-set", "sum-and-sample"])
def test_set_estimator_training_reaches_the_exact_evidence(five_taxa, estimator):
    fitted = VBPI(estimator=estimator, random_state=1, warm_up=1000, lr_decay_every=1000, learning_rate=0.01).fit(
        five_taxa.patterns, five_taxa.arrays(), 3000)
    check_against_exact(fitted, five_taxa)


@pytest.mark.parametrize("estimator", ["unordered-set", "sum-and-sample"])
def test_set_estimator_runs_resume_exactly(five_taxa, tmp_path, estimator):
    settings = dict(random_state=7, warm_up=50, estimator=estimator, learning_rate=0.01)
    whole = VBPI(**settings).fit(five_taxa.patterns, five_taxa.arrays(), 20)
    VBPI(checkpoint_path=tmp_path / "p.ckpt", **settings).fit(five_taxa.patterns, five_taxa.arrays(), 10)
    resumed = VBPI(**settings).fit(five_taxa.patterns, None, 20, resume=tmp_path / "p.ckpt")
    np.testing.assert_array_equal(resumed.trace_["bound"], whole.trace_["bound"])


def test_set_estimators_refuse_the_sum_over_rootings(five_taxa):
    with pytest.raises(PhyloVIError, match="canonical"):
        VBPI(estimator="unordered-set", rooting="all").fit(five_taxa.patterns, five_taxa.arrays(), 1)


def test_cli_fits_with_a_set_estimator_and_realnvp_flows(capsys, tmp_path, files):
    alignment, support, golden = files
    status, out, err = _run(capsys, "fit", alignment, "--support", support, "--golden", golden, "--seed", 3,
                            "--iters", 60, "--estimator", "sum-and-sample", "--branch-model", "realnvp",
                            "--flow-layers", 2, "-o", tmp_path / "run", "--json", *SHORT)
    assert status == 0, err
    document = json.loads(out)
    assert (document["estimator"], document["branch_model"], document["iterations"]) == ("sum-and-sample",
                                                                                         "realnvp", 60)
    assert all(math.isfinite(document[key]) for key in ("elbo", "bound_10", "log_marginal", "kl"))


@pytest.mark.parametrize("estimator", ["unordered-set", "sum-and-sample"])
def test_set_estimators_on_the_torch_backend(five_taxa, device, estimator):
    # on the CPU the same seed draws the same topologies and noise, and the two likelihood implementations
    # agree to rounding; a CUDA generator draws other Gumbels, so there the run need only be sound
    settings = dict(random_state=2, warm_up=50, learning_rate=0.01, estimator=estimator)
    torch_run = VBPI(backend="torch", device=str(device), **settings).fit(five_taxa.patterns, five_taxa.arrays(), 20)
    if device.type == "cpu":
        numba_run = VBPI(**settings).fit(five_taxa.patterns, five_taxa.arrays(), 20)
        np.testing.assert_allclose(torch_run.trace_["bound"], numba_run.trace_["bound"], rtol=1e-9)
    else:
        assert np.isfinite(torch_run.trace_["bound"]).all()
