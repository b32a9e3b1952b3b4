"""``sbn kl`` refuses to treat a non-distribution as the truth: it normalises it, with a warning.

Exact references: KL(p ‖ p) = 0 for the sample-relative frequency fitted to the very sample
that defines p; for p = (0.5, 0.5) and q = (0.75, 0.25), KL = 0.5 ln(0.5/0.75) + 0.5 ln(0.5/0.25)
= 0.5 ln(4/3) ≈ 0.143841 nats.
"""
from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest

from phylo_vi.cli.main import main
from phylo_vi.errors import PhyloVIError
from phylo_vi.io.newick import parse_newick
from phylo_vi.sbn import SampleRelativeFrequency, kl_divergence, pooled_golden_run
from phylo_vi.sbn.kl import ReferenceNormalizedWarning
from phylo_vi.trees import TaxonNamespace

TOPOLOGIES = ["((A,B),C,(D,E));", "((A,C),B,(D,E));"]


def _trees(newicks, weights=None):
    taxa = TaxonNamespace()
    trees = [parse_newick(text, taxa) for text in newicks]
    for tree, weight in zip(trees, weights or [1.0] * len(trees)):
        tree.weight = weight
    return trees


def test_identical_truth_and_training_give_zero_from_the_cli(tmp_path, capsys):
    sample = tmp_path / "sample.nwk"
    sample.write_text("\n".join(TOPOLOGIES) + "\n")  # weights 1 and 1: a sample, not a distribution
    try:
        main(["sbn", "kl", "--truth", str(sample), "--train", str(sample), "--methods", "srf,ccd", "--json"])
    except SystemExit as exit_:
        assert exit_.code == 0
    captured = capsys.readouterr()
    kl = json.loads(captured.out)["rows"][0]["kl"]
    # truth: each weight 1/2 becomes round(0.5 * 750001) / 750001 = p (the golden-run counts), q = 1/2 each;
    # KL = 2 p ln(2 p), 1.3e-6 nats of rounding (it was 2 ln 2 = 1.386 before the truth was normalised)
    p = 375_001 / 750_001
    assert kl["srf"] == pytest.approx(2 * p * math.log(2 * p), rel=1e-9)
    assert kl["ccd"] == pytest.approx(2 * p * math.log(2 * p), rel=1e-9)
    assert captured.err == ("phylo-vi: warning: golden-run replicate 1 is not a probability distribution "
                            "(its 2 weights sum to 2); normalised to sum 1\n")


def test_kl_of_a_sample_against_itself_is_zero():
    trees = _trees(TOPOLOGIES * 3)
    model = SampleRelativeFrequency().fit(trees)
    with pytest.warns(ReferenceNormalizedWarning, match="2 weights sum to 6"):
        result = kl_divergence(model, trees)
    assert result.kl == pytest.approx(0.0, abs=1e-12) and result.covered_mass == pytest.approx(1.0)


def test_kl_against_an_exact_value_without_a_warning():
    model = SampleRelativeFrequency().fit(_trees(TOPOLOGIES, [0.75, 0.25]))
    with warnings.catch_warnings():
        warnings.simplefilter("error", ReferenceNormalizedWarning)
        result = kl_divergence(model, _trees(TOPOLOGIES, [0.5, 0.5]))
    assert result.kl == pytest.approx(0.5 * math.log(4 / 3), rel=1e-12)


def test_golden_runs_that_sum_to_one_within_rounding_are_kept_as_they_are():
    # six-decimal [&W] values summing to 0.999999: within the rounding of 2 topologies
    reference, probabilities = pooled_golden_run([_trees(TOPOLOGIES, [0.666666, 0.333333])], n_samples=1_000_000)
    np.testing.assert_allclose(probabilities, [0.666666, 0.333333], rtol=0, atol=1e-12)


def test_a_sample_as_golden_run_becomes_its_empirical_distribution():
    with pytest.warns(ReferenceNormalizedWarning):
        _, probabilities = pooled_golden_run([_trees(TOPOLOGIES * 2 + TOPOLOGIES[:1])], n_samples=750_001)
    # five trees of frequency 1/5 each: count round(0.2 * 750001) = 150000 per tree, 3 and 2 trees per topology
    np.testing.assert_allclose(probabilities, [450_000 / 750_001, 300_000 / 750_001], rtol=1e-12)


def test_negative_reference_weights_are_refused():
    model = SampleRelativeFrequency().fit(_trees(TOPOLOGIES))
    with pytest.raises(PhyloVIError):
        kl_divergence(model, _trees(TOPOLOGIES), weights=[1.5, -0.5])
