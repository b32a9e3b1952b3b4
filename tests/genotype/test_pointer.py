"""Pointer network: a valid sequential model, the reward, training, the shipped weights and the
full denoiser."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from phylo_vi.genotype import (MISSING, add_noise, conflicting_pairs, denoise, is_conflict_free, load_network,
                               log_likelihood, simulate_clonal)
from phylo_vi.genotype.denoise import network_flips
from phylo_vi.genotype.pointer import PointerNetwork, encode_matrix
from phylo_vi.genotype.training import choices_to_masks, flip_reward, train_pointer_network
from phylo_vi.vi.sequential import sample_sequences, sequence_log_prob, stochastic_beam_search


def _features(seed, n=6, m=5, missing=0.1):
    truth = simulate_clonal(n, m, 3, random_state=seed)
    observed = add_noise(truth, 0.01, 0.2, missing, random_state=seed)
    return observed, encode_matrix(observed, 0.01, 0.2)


def test_encoding_keeps_the_rate_as_a_float():
    observed = np.array([[1, 0], [MISSING, 1]], dtype=np.int8)
    features = encode_matrix(observed, 1e-4, 0.02, dtype=torch.float64)
    # A'' = [i, j, r, a', log10 r / 4, missing]; r = fp where a'=1, fn where a'=0 (PhyloM data.py)
    assert features[0, 0, 2].item() == pytest.approx(1e-4, rel=1e-12)
    assert features[0, 1, 2].item() == pytest.approx(0.02, rel=1e-12)
    assert features[1, 0].tolist()[2:] == pytest.approx([0.5, 0.0, np.log10(0.5) / 4, 1.0], rel=1e-12, abs=1e-15)


def test_sampled_log_probs_equal_teacher_forced_ones(device, dtype):
    torch.manual_seed(0)
    net = PointerNetwork(hidden=8, n_heads=2, n_layers=1).to(device=device, dtype=dtype)
    features = torch.stack([_features(s)[1] for s in range(2)])
    decoder = net.decoder(features, max_flips=6)
    sample = sample_sequences(decoder, 2, 4, generator=torch.Generator(device=device).manual_seed(1))
    forced = sequence_log_prob(decoder, 2, sample.choices)
    torch.testing.assert_close(forced, sample.log_prob, rtol=1e-9 if dtype == torch.float64 else 1e-5, atol=1e-6)


def test_exhaustive_flip_sets_sum_to_one():
    # brute force: with 3 tokens and at most 2 flips, the probabilities of all 1 + 3 + 6 sequences sum to 1
    torch.manual_seed(1)
    net = PointerNetwork(hidden=8, n_heads=2, n_layers=1).double()
    observed = np.array([[1, 0, 1]], dtype=np.int8)
    decoder = net.decoder(encode_matrix(observed, 0.01, 0.2, dtype=torch.float64)[None], max_flips=2)
    stop = 3
    sequences = [[stop, -1, -1]] + [[a, stop, -1] for a in range(3)] + \
        [[a, b, stop] for a in range(3) for b in range(3) if a != b]
    choices = torch.tensor(sequences)[None]
    # sequences of two flips end without an explicit STOP only if max_flips forces it: STOP is still the choice
    total = torch.logsumexp(sequence_log_prob(decoder, 1, choices), dim=-1)
    assert total.item() == pytest.approx(0.0, abs=1e-12)


def test_reward_equals_numpy_likelihood_minus_conflict_penalty():
    observed, _ = _features(3, n=8, m=6)
    rng = np.random.default_rng(0)
    masks = torch.as_tensor(rng.random((1, 3, observed.size)) < 0.2)
    reward = flip_reward(observed[None], masks, 0.01, 0.2, conflict_penalty=2.0)
    filled = np.where(observed == MISSING, 0, observed)
    for k in range(3):
        corrected = np.where(masks[0, k].numpy().reshape(observed.shape), 1 - filled, filled)
        expected = log_likelihood(observed, corrected, 0.01, 0.2) - 2.0 * len(conflicting_pairs(corrected))
        assert reward[0, k].item() == pytest.approx(expected, abs=1e-9)


def test_beam_search_returns_distinct_flip_sets():
    torch.manual_seed(2)
    net = PointerNetwork(hidden=8, n_heads=2, n_layers=1)
    observed, features = _features(4)
    beams = stochastic_beam_search(net.decoder(features[None], max_flips=4), 1, 5,
                                   generator=torch.Generator().manual_seed(0))
    masks = choices_to_masks(beams.choices, observed.size)[0]
    sets = {tuple(np.flatnonzero(m.numpy())) for m in masks}
    assert len(sets) == 5  # without replacement: five different flip sets (orders of one set are one sequence each)


def test_training_is_deterministic_under_a_seed():
    kwargs = dict(n_supervised=2, n_policy=2, batch_size=2, n_samples=2, shapes=((5, 5),), random_state=3)
    def tiny():
        torch.manual_seed(5)  # same initial weights for both runs
        return PointerNetwork(hidden=8, n_heads=2, n_layers=1)

    a, history = train_pointer_network(network=tiny(), **kwargs)
    b, _ = train_pointer_network(network=tiny(), **kwargs)
    for (name, x), (_, y) in zip(a.state_dict().items(), b.state_dict().items()):
        torch.testing.assert_close(x, y, msg=name)
    assert len(history.supervised_loss) == 2 and np.isfinite(history.policy_reward).all()


def test_shipped_weights_load_run_on_cpu_and_beat_the_noisy_input():
    # held-out simulated matrices (seed 99 is not used by training, which draws from seed 0)
    network = load_network()
    assert sum(p.numel() for p in network.parameters()) < 100_000
    rng = np.random.default_rng(99)
    noisy, corrected = [], []
    for _ in range(6):
        truth = simulate_clonal(20, 20, int(rng.integers(3, 7)), random_state=rng)
        observed = add_noise(truth, 1e-3, 0.15, random_state=rng)
        noisy.append(np.mean(observed != truth))
        corrected.append(np.mean(network_flips(network, observed, 1e-3, 0.15, n_candidates=4) != truth))
    assert np.mean(corrected) < np.mean(noisy)


@pytest.mark.parametrize("decoding", ["beam", "sample"])
def test_denoised_outputs_are_always_conflict_free(decoding):
    network = load_network()
    rng = np.random.default_rng(7)
    for _ in range(3):
        truth = simulate_clonal(15, 12, 4, random_state=rng)
        observed = add_noise(truth, 0.01, 0.2, 0.1, random_state=rng)
        result = denoise(observed, 0.01, 0.2, network=network, decoding=decoding, n_candidates=4)
        assert is_conflict_free(result.matrix)
        assert result.network_matrix is not None and result.n_repair_changes >= 0
