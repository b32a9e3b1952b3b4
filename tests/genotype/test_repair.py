"""The exact final repair: always conflict-free, exact on noise-free input, and its SPR move
scores equal a full rescoring."""
from __future__ import annotations

import numpy as np
import pytest

from phylo_vi.genotype import MISSING, add_noise, is_conflict_free, log_likelihood, repair, simulate_clonal
from phylo_vi.genotype.matrix import observation_log_probs
from phylo_vi.genotype.repair import linkage_tree
from phylo_vi.genotype.tree_search import (child_table, clade_sums, is_ancestor, move_score, regraft_targets,
                                           spr_move, top_two, tree_score)


@pytest.mark.parametrize("seed", range(12))
def test_output_is_always_conflict_free(seed):
    rng = np.random.default_rng(seed)
    n, m = rng.integers(2, 25, size=2)
    observed = rng.choice([0, 1, MISSING], size=(n, m), p=[0.5, 0.4, 0.1]).astype(np.int8)
    result = repair(observed, 0.01, 0.2, clone_penalty=float(rng.choice([0.0, 15.0])))
    assert is_conflict_free(result.matrix)
    assert result.matrix.shape == observed.shape
    # the reported value is the likelihood of the returned matrix (same sum, another code path)
    assert result.log_likelihood == pytest.approx(log_likelihood(observed, result.matrix, 0.01, 0.2), rel=1e-12)


@pytest.mark.parametrize("seed", range(4))
def test_noise_free_perfect_phylogeny_is_returned_unchanged(seed):
    # a conflict-free observation is its own maximum-likelihood perfect phylogeny
    truth = simulate_clonal(40, 30, 6, random_state=seed)
    np.testing.assert_array_equal(repair(truth, 1e-3, 0.1, clone_penalty=0.0).matrix, truth)


def test_incremental_spr_scores_equal_full_rescoring():
    # every SPR move of a 14-leaf tree: path-update score == score of the rebuilt tree
    rng = np.random.default_rng(0)
    truth = simulate_clonal(14, 10, 4, random_state=1)
    observed = add_noise(truth, 1e-2, 0.2, random_state=2)
    log0, log1 = observation_log_probs(observed, 1e-2, 0.2)
    for d in (log1 - log0, rng.normal(size=observed.shape)):
        parent = linkage_tree(observed)
        sums = clade_sums(parent, d)
        top, top_node = top_two(sums)
        delta = np.zeros(len(parent), np.int64)
        changed = np.zeros(2 * len(parent), np.int64)
        for s in range(len(parent)):
            for t in range(len(parent)):
                p = parent[s]
                if p == -1 or t in (s, p) or parent[t] == p or is_ancestor(parent, s, t):
                    continue
                fast = move_score(parent, sums, top, top_node, s, t, delta, changed)
                assert fast == pytest.approx(tree_score(spr_move(parent, s, t), d), abs=1e-9)


def test_repair_removes_most_noise_on_held_out_simulations():
    rng = np.random.default_rng(2024)
    noisy, repaired = [], []
    for _ in range(3):
        truth = simulate_clonal(60, 60, 8, random_state=rng)
        observed = add_noise(truth, 1e-3, 0.15, random_state=rng)
        noisy.append(np.mean(observed != truth))
        repaired.append(np.mean(repair(observed, 1e-3, 0.15).matrix != truth))
    assert np.mean(repaired) < 0.5 * np.mean(noisy)


def _path_length(parent, a, b):
    ancestors_a = []
    u = a
    while u != -1:
        ancestors_a.append(u)
        u = parent[u]
    u, steps = b, 0
    while u not in ancestors_a:
        u, steps = parent[u], steps + 1
    return steps + ancestors_a.index(u)


@pytest.mark.parametrize("radius", [0, 1, 3, 6])
def test_regraft_targets_are_the_nodes_within_the_radius_outside_the_pruned_subtree(radius):
    # brute force: tree distance from the pruned node's parent via the two root paths
    truth = simulate_clonal(25, 12, 5, random_state=radius)
    parent = linkage_tree(add_noise(truth, 0.01, 0.2, random_state=1))
    children = child_table(parent)
    found = np.zeros(len(parent), np.int64)
    distance = np.full(len(parent), -1, np.int64)
    for s in range(len(parent)):
        if parent[s] == -1:
            continue
        count = regraft_targets(parent, children, s, radius, found, distance)
        expected = {t for t in range(len(parent))
                    if not is_ancestor(parent, s, t) and _path_length(parent, parent[s], t) <= radius}
        assert set(found[:count].tolist()) == expected and count == len(expected)
        assert (distance == -1).all()



def test_first_tree_over_a_subset_of_cells_still_repairs():
    # 400 cells with the first tree over 100 of them: conflict-free, and the error stays within
    # 1.5x of the full-tree repair's (and far below the noise)
    truth = simulate_clonal(400, 40, 8, random_state=6)
    observed = add_noise(truth, 1e-3, 0.15, 0.1, random_state=7)
    full = repair(observed, 1e-3, 0.15)
    subset = repair(observed, 1e-3, 0.15, max_tree_cells=100)
    assert is_conflict_free(subset.matrix)
    noisy = np.mean(np.where(observed == MISSING, 0, observed) != truth)
    assert np.mean(subset.matrix != truth) <= max(1.5 * np.mean(full.matrix != truth), 0.002) < 0.2 * noisy
