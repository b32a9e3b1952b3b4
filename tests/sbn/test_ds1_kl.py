"""DS1 KL table of the SBN paper (Zhang & Matsen, NeurIPS 2018, Table 1, DS1 row).

References: published means [nb] `zcrabbit/sbn:experiments/real-data.ipynb` cell 6 (the paper's
DS1 row); per-replicate values and EM iteration counts from `shared/specs/sbn_vbpi.md` §2
(independent numpy re-implementation, printed to 5 decimals; its means equal the published row).
"""
from __future__ import annotations

import numpy as np
import pytest

from phylo_vi.sbn import kl_divergence, make_estimator
from phylo_vi.sbn.kl_table import kl_table

METHODS = ("srf", "ccd", "sa", "em", "em-alpha")
PUBLISHED_MEAN = {"srf": 0.0154867, "ccd": 0.6027092, "sa": 0.0686703, "em": 0.0136018, "em-alpha": 0.0130114}
# rep: distinct trees, SRF, CCD, SBN-SA, (SBN-EM, iterations), (SBN-EM-α, iterations)
PER_REPLICATE = {
    1: (1278, 0.01304, 0.60146, 0.06804, (0.01260, 66), (0.01216, 66)),
    2: (1024, 0.01903, 0.60191, 0.06841, (0.01371, 66), (0.01301, 65)),
    3: (1229, 0.01406, 0.60376, 0.06919, (0.01444, 67), (0.01363, 67)),
    4: (1428, 0.01127, 0.60228, 0.06834, (0.01267, 65), (0.01229, 65)),
    5: (1503, 0.00965, 0.60159, 0.06779, (0.01199, 66), (0.01175, 65)),
    6: (1041, 0.01948, 0.60203, 0.06862, (0.01410, 66), (0.01311, 66)),
    7: (928, 0.02336, 0.60527, 0.07029, (0.01607, 67), (0.01513, 66)),
    8: (962, 0.02409, 0.60612, 0.07061, (0.01610, 66), (0.01540, 66)),
    9: (1579, 0.00884, 0.60098, 0.06734, (0.01173, 66), (0.01145, 66)),
    10: (1308, 0.01204, 0.60170, 0.06808, (0.01261, 65), (0.01217, 65)),
}
# Printed to 5 decimals: SRF/CCD/SA/EM agree to rounding (5e-6). EM-α: the spec's own
# re-implementation agrees with the notebook only to ~5e-6 per iteration (prior bookkeeping,
# spec §2), and ours ends within 1.2e-5 of its values with identical iteration counts.
TOLERANCE = {"srf": 5.1e-6, "ccd": 5.1e-6, "sa": 5.1e-6, "em": 5.1e-6, "em-alpha": 1.5e-5}


def _check_row(row, rep):
    expected = PER_REPLICATE[rep]
    assert row.n_topologies == expected[0]
    values = dict(zip(METHODS, [expected[1], expected[2], expected[3], expected[4][0], expected[5][0]]))
    for method in METHODS:
        assert row.kl[method] == pytest.approx(values[method], abs=TOLERANCE[method]), method
    assert row.n_iter["em"] == expected[4][1]
    assert row.n_iter["em-alpha"] == expected[5][1]


def test_ds1_replicate_1_matches_published_per_replicate_values(ds1_truth, ds1_short_run):
    truth, probabilities = ds1_truth
    table = kl_table(truth, probabilities, [ds1_short_run(1)], ["rep_1"], methods=METHODS, alpha=1e-4)
    _check_row(table.rows[0], 1)
    assert len(truth) == 2784  # pooled golden-run topologies, spec §1
    assert probabilities.sum() == pytest.approx(1.0, abs=1e-5)


@pytest.mark.parametrize("rep, start, end, n_iter", [(1, -2.960113, -2.903152, 66), (3, -2.911022, -2.857816, 67)])
def test_ds1_em_scores(ds1_short_run, rep, start, end, n_iter):
    # spec §2 and the [nb] EM printout: per-tree score of the SA start and of the last iteration
    model = make_estimator("em").fit(ds1_short_run(rep))
    assert model.scores_[0] == pytest.approx(start, abs=5e-7)
    assert model.scores_[-1] == pytest.approx(end, abs=5e-7)
    assert model.n_iter_ == n_iter


@pytest.mark.parametrize("alpha", [0.0, 1e-4])
def test_em_score_never_decreases(ds1_short_run, alpha):
    # EM (and MAP-EM) is a minorise-maximise scheme: its objective is monotone (Dempster et al. 1977)
    model = make_estimator("em-alpha" if alpha else "em", alpha=alpha).fit(ds1_short_run(3))
    assert len(model.scores_) > 50
    assert np.all(np.diff(model.scores_) >= -1e-12)


def test_covered_mass_srf_below_sbn(ds1_truth, ds1_short_run):
    # SRF covers only sampled topologies; the SBN's support contains them (plus recombinations)
    truth, probabilities = ds1_truth
    sample = ds1_short_run(2)
    srf = kl_divergence(make_estimator("srf").fit(sample), truth, probabilities)
    sbn = kl_divergence(make_estimator("sa").fit(sample), truth, probabilities)
    assert 0 < srf.covered_mass < sbn.covered_mass <= 1 + 1e-9


@pytest.mark.slow
def test_ds1_all_replicates_and_published_means(ds1_truth, ds1_short_run):
    truth, probabilities = ds1_truth
    reps = list(range(1, 11))
    table = kl_table(truth, probabilities, [ds1_short_run(r) for r in reps], [str(r) for r in reps],
                     methods=METHODS, alpha=1e-4)
    for row, rep in zip(table.rows, reps):
        _check_row(row, rep)
    for method in METHODS:
        assert table.mean[method] == pytest.approx(PUBLISHED_MEAN[method], abs=2e-4)
