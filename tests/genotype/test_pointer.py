"""Pointer network: a valid sequential model, the reward, training, the shipped weights and the
full denoiser."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from phylo_vi.genotype import (MISSING, add_noise, conflicting_pairs, denoise, is_conflict_free, load_network,
                               log_likelihood, repair, simulate_clonal)
from phylo_vi.genotype.denoise import blocks, network_flips
from phylo_vi.genotype.pointer import PointerNetwork, encode_matrix
from phylo_vi.genotype.training import (batch_matrices, choices_to_masks, curriculum_shapes, flip_reward,
                                        flip_sequences, prefix_log_prob, simulate_batch, train_pointer_network)
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


def test_training_stopped_by_the_clock_resumes_to_the_uninterrupted_weights(tmp_path):
    # reference: the same seed run without interruption; a run stopped at once (max_minutes=0) and one
    # stopped after 3 steps, each resumed from its checkpoint, must end with identical weights and history
    curriculum = ((0, ((5, 5),)), (2, ((6, 8), (8, 6))))
    kwargs = dict(n_supervised=4, n_policy=2, batch_size=2, n_samples=2, curriculum=curriculum, random_state=3)

    def tiny():
        torch.manual_seed(5)
        return PointerNetwork(hidden=8, n_heads=2, n_layers=1)

    reference, history = train_pointer_network(network=tiny(), **kwargs)
    checkpoint = tmp_path / "train.ckpt"
    _, stopped = train_pointer_network(network=tiny(), checkpoint=checkpoint, max_minutes=0, **kwargs)
    assert not stopped.finished and stopped.supervised_loss == []
    _, partial = train_pointer_network(checkpoint=checkpoint, checkpoint_every=3, **{**kwargs, "n_supervised": 3,
                                                                                    "n_policy": 0})
    assert len(partial.supervised_loss) == 3
    resumed, resumed_history = train_pointer_network(checkpoint=checkpoint, **kwargs)
    assert resumed_history.finished
    assert resumed_history.supervised_loss == history.supervised_loss
    assert resumed_history.policy_reward == history.policy_reward
    for (name, x), (_, y) in zip(reference.state_dict().items(), resumed.state_dict().items()):
        torch.testing.assert_close(x, y, rtol=0, atol=0, msg=name)


def test_long_flip_sets_are_cut_to_a_prefix_without_stop():
    rng = np.random.default_rng(0)
    batch = simulate_batch(2, (30, 30), rng)
    full = flip_sequences(batch, np.random.default_rng(1))[:, 0]
    cut = flip_sequences(batch, np.random.default_rng(1), max_target=5)[:, 0]
    filled = np.where(batch.observed == MISSING, 0, batch.observed)
    for b in range(2):
        n_flips = int((batch.truth[b] != filled[b]).sum())  # independent count of the true flips
        assert (full[b] >= 0).sum() == n_flips + 1 and full[b, n_flips] == 900  # then STOP (= n m)
        assert torch.equal(cut[b], full[b, :5])  # same random order, first 5 choices
    decoder = PointerNetwork(hidden=8, n_heads=2, n_layers=1).decoder(batch.features)
    total, count = prefix_log_prob(decoder, cut)
    assert count == 10 and torch.isfinite(total)


def test_curriculum_stage_and_batch_size():
    curriculum = ((0, ((16, 16),)), (250, ((40, 40),)), (450, ((100, 100), (120, 80))))
    assert curriculum_shapes(curriculum, 249) == ((16, 16),)
    assert curriculum_shapes(curriculum, 250) == ((40, 40),)
    assert curriculum_shapes(curriculum, 10_000) == ((100, 100), (120, 80))
    # 16 matrices of 24 x 24 = 9,216 entries per batch: 16 at 16 x 16, 6 at 40 x 40, at least 2 at 100 x 100
    assert [batch_matrices(16, s) for s in ((16, 16), (40, 40), (100, 100))] == [16, 6, 2]


def test_large_matrices_are_decoded_in_blocks_that_cover_them():
    assert [(s.start, s.stop) for s in blocks(250, 100)] == [(0, 83), (83, 167), (167, 250)]
    assert [(s.start, s.stop) for s in blocks(100, 100)] == [(0, 100)]
    torch.manual_seed(0)
    network = PointerNetwork(hidden=8, n_heads=2, n_layers=1)
    observed = add_noise(simulate_clonal(13, 9, 3, random_state=1), 0.01, 0.2, 0.1, random_state=1)
    tiled = network_flips(network, observed, 0.01, 0.2, n_candidates=2, block=5)
    # each block equals the network run on that block alone (seed offset by the block's index)
    for k, (rows, cols) in enumerate((r, c) for r in blocks(13, 5) for c in blocks(9, 5)):
        alone = network_flips(network, observed[rows, cols], 0.01, 0.2, n_candidates=2, random_state=k)
        np.testing.assert_array_equal(tiled[rows, cols], alone)


def test_the_network_start_is_kept_only_when_it_scores_higher_than_the_repair_alone():
    # reference: the two repairs run directly (from the observation, from the network's matrix) and their
    # penalised log-likelihood log P(A'|B) - 15 (clones); denoise must return the better one
    network = load_network()
    rng = np.random.default_rng(11)
    for _ in range(3):
        truth = simulate_clonal(30, 25, 5, random_state=rng)
        observed = add_noise(truth, 1e-3, 0.2, 0.25, random_state=rng)
        result = denoise(observed, 1e-3, 0.2, network=network, n_candidates=4)
        plain = repair(observed, 1e-3, 0.2)
        started = repair(observed, 1e-3, 0.2, initial=result.network_matrix)
        scores = [r.log_likelihood - 15.0 * r.n_clones for r in (plain, started)]
        best = started if scores[1] > scores[0] else plain
        np.testing.assert_array_equal(result.matrix, best.matrix)
        assert result.network_start_kept == (scores[1] > scores[0])
        assert result.log_likelihood - 15.0 * result.n_clones == pytest.approx(max(scores), abs=1e-9)


def test_prefix_search_never_scores_below_the_observation():
    # prefix length 0 (flip nothing) is among the scored prefixes, so even an untrained network's output
    # has a reward log P(A'|B) - 2 (conflicting pairs) at least that of the observation itself; both are
    # computed here with the numpy likelihood and the exact pair count, independently of the decoder
    torch.manual_seed(3)
    network = PointerNetwork(hidden=8, n_heads=2, n_layers=1)
    rng = np.random.default_rng(4)
    for _ in range(4):
        observed = add_noise(simulate_clonal(12, 10, 4, random_state=rng), 0.01, 0.2, 0.1, random_state=rng)
        filled = np.where(observed == MISSING, 0, observed)
        out = network_flips(network, observed, 0.01, 0.2, n_candidates=3, random_state=0)
        def reward(b):
            return log_likelihood(observed, b, 0.01, 0.2) - 2.0 * len(conflicting_pairs(b))
        assert reward(out) >= reward(filled) - 1e-9


@pytest.mark.slow
def test_shipped_weights_remove_most_noise_at_100_by_100_with_missing_entries():
    # the curriculum reaches 100 x 100 with missing data: on a held-out simulation (seed 99, not a training
    # seed) the network alone must remove more than half of the wrong entries (measured: about 3/4)
    rng = np.random.default_rng(99)
    truth = simulate_clonal(100, 100, 10, random_state=rng)
    observed = add_noise(truth, 1e-3, 0.1, 0.15, random_state=rng)
    corrected = network_flips(load_network(), observed, 1e-3, 0.1, n_candidates=4)
    assert np.mean(corrected != truth) < 0.5 * np.mean(np.where(observed == MISSING, 0, observed) != truth)
