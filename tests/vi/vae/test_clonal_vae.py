"""Clonal-genotype VAE: exact recovery of planted clones, the adjusted Rand index against
hand-computed values, clone pruning, and the ``phylo-vi genotype clones`` command."""
from __future__ import annotations

import json

import numpy as np
import pytest

from phylo_vi.cli.main import main


def run_cli(capsys, *args):
    """Run ``phylo-vi ARGS``; return (exit status, stdout, stderr)."""
    try:
        main(list(args))
        status = 0
    except SystemExit as exit_:
        status = exit_.code
    captured = capsys.readouterr()
    return status, captured.out, captured.err
from phylo_vi.genotype import read_genotype, simulate_clonal
from phylo_vi.genotype.formats import write_sc
from phylo_vi.genotype.matrix import GenotypeMatrix
from phylo_vi.vi.vae.clonal import ClonalVAE, prune_clones
from phylo_vi.vi.vae.clonal_report import score_clones
from phylo_vi.vi.vae.clustering import adjusted_rand_index


def test_adjusted_rand_index_hand_computed():
    # Hubert & Arabie eq. 5 by hand: index 1, row pairs 2, column pairs 1, expected 1/3, max 3/2 -> 4/7
    # (the value scikit-learn's documentation gives for this pair, 0.57)
    assert adjusted_rand_index([0, 0, 1, 1], [0, 0, 1, 2]) == pytest.approx(4 / 7)
    # index 2, rows 6, columns 3, expected 18/15, max 9/2 -> 0.8 / 3.3
    assert adjusted_rand_index([0, 0, 0, 1, 1, 1], [0, 0, 1, 1, 2, 2]) == pytest.approx(0.8 / 3.3)
    assert adjusted_rand_index([0, 0, 1, 2], ["b", "b", "a", "c"]) == 1.0


def test_prune_clones_drops_a_clone_worth_less_than_the_penalty():
    # clone 2 explains cell 3 better than clone 1 by 4 nats only: below a penalty of 15, above one of 3
    log_likelihood = np.array([[-1.0, -50.0, -60.0], [-50.0, -2.0, -60.0], [-50.0, -2.0, -60.0],
                               [-50.0, -7.0, -3.0]])
    assert prune_clones(log_likelihood, 15.0).tolist() == [0, 1]
    assert prune_clones(log_likelihood, 3.0).tolist() == [0, 1, 2]


@pytest.mark.parametrize("estimator", ["reinforce-loo", "exact"])
def test_recovers_planted_clones_of_a_noiseless_matrix(device, dtype, estimator):
    truth = simulate_clonal(60, 30, 5, random_state=np.random.default_rng(0))
    model = ClonalVAE(fp=0.01, fn=0.01, max_clones=10, estimator=estimator, n_steps=300, device=device, dtype=dtype,
                      random_state=0).fit(truth)
    scores = score_clones(truth, model)
    assert scores["n_true_clones"] == 5
    assert scores["n_clones"] == 5
    assert scores["adjusted_rand_index"] == 1.0
    assert np.array_equal(model.genotype_matrix_, truth)


def test_clones_command_writes_the_implied_matrix(tmp_path, capsys):
    truth = simulate_clonal(30, 12, 3, random_state=np.random.default_rng(2))
    matrix = tmp_path / "cells.SC"
    write_sc(GenotypeMatrix(truth), matrix)
    out, table = tmp_path / "implied.SC", tmp_path / "implied.clones.tsv"
    status, stdout, stderr = run_cli(capsys, "genotype", "clones", str(matrix), "--fp", "0.01", "--fn", "0.01",
                                     "--max-clones", "6", "--estimator", "reinforce-loo", "--steps", "200",
                                     "--seed", "0", "-o", str(tmp_path / "implied"), "--json", "-q")
    assert status == 0, stderr
    document = json.loads(stdout)
    assert document["n_clones"] == 3 and sum(document["clone_sizes"]) == 30
    assert np.array_equal(read_genotype(out).values, truth)
    assert len(table.read_text().splitlines()) == 31


def test_clones_command_rejects_an_unknown_estimator(tmp_path, capsys):
    matrix = tmp_path / "cells.SC"
    write_sc(GenotypeMatrix(np.eye(4, dtype=np.int8)), matrix)
    status, _, stderr = run_cli(capsys, "genotype", "clones", str(matrix), "--fp", "0.01", "--fn", "0.01",
                                "--estimator", "nope", "--seed", "0")
    assert status == 2
    assert stderr.strip().splitlines() == ["phylo-vi: error: unknown estimator 'nope'; choose one of reinforce, "
                                           "reinforce-loo, sum-and-sample, unordered-set, vimco, rws, gumbel-softmax, "
                                           "straight-through, exact"]


@pytest.mark.slow
def test_phiscs_simulation_beats_the_noisy_input(shared_data):
    # PhISCS simulation simNo_1, fp 1e-4, fn 0.1 (10 true clones): the implied genotype matrix must
    # be closer to the ground truth than the observed calls (1.85% of entries wrong); measured with
    # reinforce-loo, seed 0: ARI 0.995, 12 clones, entry error 0.17% (benchmarks/vae.py)
    folder = shared_data / "genotype" / "phiscs_sim"
    noisy = read_genotype(folder / "noisy" / "simNo_1-s_10-m_100-h_1-minVAF_0.03-ISAV_0-n_100-fp_0.0001-fn_0.1-na_0-d_0"
                                             "-l_1000000.SC").values
    truth = read_genotype(folder / "ground" / "simNo_1-s_10-m_100-n_100.ground.SC").values
    model = ClonalVAE(fp=1e-4, fn=0.1, estimator="reinforce-loo", random_state=0).fit(noisy)
    scores = score_clones(truth, model)
    assert scores["entry_error"] < np.mean(noisy != truth) / 5
    assert scores["adjusted_rand_index"] > 0.95
    assert 10 <= scores["n_clones"] <= 13
