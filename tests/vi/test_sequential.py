"""Sequential interface: ancestral sampling and stochastic beam search against the exactly
enumerated sequence distribution of a small variable-length model."""
from __future__ import annotations

import itertools
import math
from collections import Counter

import pytest
import torch

from phylo_vi.vi.sequential import SequentialModel, sample_sequences, sequence_log_prob, stochastic_beam_search
from phylo_vi.vi.unordered_set import unordered_set_surrogate

from .sequential_toy import TabularSequenceModel


def _key(row) -> tuple[int, ...]:
    return tuple(int(c) for c in row if c >= 0)


def _plackett_luce_set_probability(p: dict, subset) -> float:
    total = 0.0
    for order in itertools.permutations(subset):
        prob, used = 1.0, 0.0
        for item in order:
            prob *= p[item] / (1.0 - used)
            used += p[item]
        total += prob
    return total


def test_model_satisfies_protocol_and_enumeration_sums_to_one(device, dtype):
    model = TabularSequenceModel(device=device, dtype=dtype)
    assert isinstance(model, SequentialModel)
    assert sum(model.enumerate().values()) == pytest.approx(1.0, abs=1e-12)


def test_ancestral_sampling_frequencies_and_log_probs(device, dtype):
    model = TabularSequenceModel(device=device, dtype=dtype)
    exact = model.enumerate()
    n = 20_000
    sample = sample_sequences(model, 2, n // 2, generator=torch.Generator(device=device).manual_seed(3))
    assert sample.choices.shape[:2] == (2, n // 2)
    keys = [_key(row) for row in sample.choices.reshape(n, -1).tolist()]
    # log_prob of each drawn sequence equals the enumerated probability
    log_prob = sample.log_prob.reshape(n).detach().cpu().tolist()
    tol = 1e-9 if dtype == torch.float64 else 1e-5
    for key, value in zip(keys[:200], log_prob[:200]):
        assert value == pytest.approx(math.log(exact[key]), abs=tol)
    counts = Counter(keys)
    for key, p in exact.items():  # binomial noise: 4.5 standard errors
        assert abs(counts[key] / n - p) < 4.5 * math.sqrt(p * (1 - p) / n) + 1e-12


def test_sequence_log_prob_rescoring_matches_sampling(device, dtype):
    model = TabularSequenceModel(device=device, dtype=dtype)
    sample = sample_sequences(model, 3, 5, generator=torch.Generator(device=device).manual_seed(1))
    rescored = sequence_log_prob(model, 3, sample.choices)
    torch.testing.assert_close(rescored, sample.log_prob)
    (gradient,) = torch.autograd.grad(rescored.sum(), model.weights)
    assert torch.isfinite(gradient).all() and gradient.abs().sum() > 0


def test_stochastic_beam_search_sets_match_plackett_luce(device, dtype):
    # exact P(S) of the unordered set by brute force over orderings of whole sequences
    model = TabularSequenceModel(device=device, dtype=dtype)
    exact = model.enumerate()
    k, runs = 2, 4000
    result = stochastic_beam_search(model, runs, k, generator=torch.Generator(device=device).manual_seed(5))
    assert bool(result.valid.all())
    assert bool((result.keys[:, :-1] >= result.keys[:, 1:]).all())
    sets = Counter(frozenset(_key(row) for row in beams) for beams in result.choices.tolist())
    assert all(len(s) == k for s in sets)
    for subset in itertools.combinations(exact, k):
        p = _plackett_luce_set_probability(exact, subset)
        assert abs(sets[frozenset(subset)] / runs - p) < 4.5 * math.sqrt(p * (1 - p) / runs) + 1e-12
    tol = 1e-9 if dtype == torch.float64 else 1e-5
    for beams, log_p in zip(result.choices[:50].tolist(), result.log_prob[:50].tolist()):
        for row, value in zip(beams, log_p):
            assert value == pytest.approx(math.log(exact[_key(row)]), abs=tol)


def test_beam_larger_than_support_marks_surplus_invalid(device, dtype):
    model = TabularSequenceModel(n_choices=2, max_length=2, device=device, dtype=dtype)
    support = model.enumerate()        # sequences (0,), (1, 0) and (1, 1) is forbidden -> 2 sequences
    result = stochastic_beam_search(model, 3, 4, generator=torch.Generator(device=device).manual_seed(0))
    assert result.valid.sum(dim=1).tolist() == [len(support)] * 3
    assert torch.isneginf(result.log_prob[~result.valid]).all()
    seen = {_key(row) for beams, ok in zip(result.choices.tolist(), result.valid.tolist())
            for row, good in zip(beams, ok) if good}
    assert seen == set(support)


def test_unordered_set_gradient_over_beam_search_is_unbiased(device, dtype):
    # exact gradient of E[f] with f(sequence) = its length squared, by enumeration + autograd
    model = TabularSequenceModel(device=device, dtype=dtype)
    sequences = list(model.enumerate())
    width = model.max_length
    padded = torch.tensor([list(s) + [-1] * (width - len(s)) for s in sequences], device=device)
    log_p = sequence_log_prob(model, 1, padded.unsqueeze(0)).squeeze(0)
    cost = torch.tensor([float(len(s) ** 2) for s in sequences], device=device, dtype=dtype)
    (exact,) = torch.autograd.grad((log_p.exp() * cost).sum(), model.weights)
    runs, k = 2000, 3
    result = stochastic_beam_search(model, runs, k, generator=torch.Generator(device=device).manual_seed(9))
    lengths = (result.choices >= 0).sum(-1).to(dtype)
    surrogate = unordered_set_surrogate(result.log_prob, lengths ** 2, result.valid)
    # per-run gradients via a Jacobian over runs would be costly: use batch means of 20 groups
    groups = surrogate.view(20, runs // 20).mean(-1)
    grads = torch.stack([torch.autograd.grad(g, model.weights, retain_graph=True)[0] for g in groups])
    mean, sd = grads.mean(0), grads.std(0)
    assert bool((torch.abs(mean - exact) <= 3.5 * sd / math.sqrt(20) + 1e-9).all())


def test_unordered_set_over_exhaustive_beam_is_the_exact_gradient(device, dtype):
    # beam wider than the support: the set is the whole support, so the estimate is exact
    model = TabularSequenceModel(n_choices=2, max_length=2, device=device, dtype=dtype)
    support = list(model.enumerate())
    padded = torch.tensor([list(s) + [-1] * (2 - len(s)) for s in support], device=device)
    log_p = sequence_log_prob(model, 1, padded.unsqueeze(0)).squeeze(0)
    cost = torch.tensor([float(len(s)) for s in support], device=device, dtype=dtype)
    (exact,) = torch.autograd.grad((log_p.exp() * cost).sum(), model.weights)
    result = stochastic_beam_search(model, 2, 4, generator=torch.Generator(device=device).manual_seed(1))
    lengths = (result.choices >= 0).sum(-1).to(dtype)
    surrogate = unordered_set_surrogate(result.log_prob, lengths, result.valid)
    (estimate,) = torch.autograd.grad(surrogate.mean(), model.weights)
    tol = 1e-9 if dtype == torch.float64 else 1e-5
    torch.testing.assert_close(estimate, exact, atol=tol, rtol=0)
    assert surrogate.detach().tolist() == pytest.approx([(log_p.exp() * cost).sum().item()] * 2, abs=tol)
