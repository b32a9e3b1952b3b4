"""ASDSF (MrBayes convention) on an example computed by hand."""
import math

import numpy as np
import pytest

from phylo_vi.diagnostics import asdsf, split_frequencies, split_table, summarize_runs
from phylo_vi.errors import PhyloVIError
from phylo_vi.io.newick import parse_newick
from phylo_vi.trees import TaxonNamespace

# Six taxa; each split is named by its side without A.
T1 = "((A,B),(C,D),(E,F));"   # splits {C,D,E,F}, {C,D}, {E,F}
T2 = "((A,B),C,(D,(E,F)));"   # splits {C,D,E,F}, {D,E,F}, {E,F}
T3 = "((A,C),B,(D,(E,F)));"   # splits {B,D,E,F}, {D,E,F}, {E,F}
T4 = "((A,F),B,(C,(D,E)));"   # splits {B,C,D,E}, {C,D,E}, {D,E}


def _run(newicks, taxa):
    return split_frequencies(parse_newick(t, taxa) for t in newicks)


def test_asdsf_hand_computed():
    taxa = TaxonNamespace(list("ABCDEF"))
    run1 = _run([T1, T1, T2, T2], taxa)          # 4 trees
    run2 = _run([T2, T3, T3, T3, T3, T4], taxa)   # 6 trees (a split's frequency is per run)
    # Frequencies worked out by hand (run1, run2):
    #   {E,F}: 4/4, 5/6     {C,D,E,F}: 4/4, 1/6    {D,E,F}: 2/4, 5/6    {B,D,E,F}: 0, 4/6
    #   {C,D}: 2/4, 0       {B,C,D,E}: 0, 1/6      {C,D,E}: 0, 1/6        {D,E}: 0, 1/6
    # 1/6 = 0.167 >= 0.10, so all 8 splits count. Sample sd of two values = |x - y| / sqrt(2).
    differences = [1 - 5 / 6, 1 - 1 / 6, 5 / 6 - 2 / 4, 4 / 6, 2 / 4, 1 / 6, 1 / 6, 1 / 6]
    expected = sum(d / math.sqrt(2) for d in differences) / 8
    assert asdsf([run1, run2]) == pytest.approx(expected, abs=1e-15)
    # with min_frequency 0.2 the three splits at 1/6 drop out
    expected_02 = sum(d / math.sqrt(2) for d in differences[:5]) / 5
    assert asdsf([run1, run2], min_frequency=0.2) == pytest.approx(expected_02, abs=1e-15)
    assert asdsf([run1, run2], summary="max") == pytest.approx((1 - 1 / 6) / math.sqrt(2), abs=1e-15)


def test_three_runs_use_the_sample_standard_deviation():
    taxa = TaxonNamespace(list("ABCDEF"))
    runs = [_run([T1], taxa), _run([T1, T2], taxa), _run([T2], taxa)]
    table = split_table(runs)
    frequencies = dict(zip(table.bitstrings(), table.frequencies.tolist()))
    # {C,D,E,F} ("..****") and {E,F} ("....**") are in every tree: sd 0.
    # {D,E,F} ("...***"): 0, 1/2, 1 -> mean 1/2, sample variance ((1/2)^2 * 2) / 2 = 1/4, sd 1/2;
    # {C,D} ("..**.."): 1, 1/2, 0 -> sd 1/2 likewise. ASDSF = (0 + 0 + 1/2 + 1/2) / 4.
    assert frequencies["...***"] == [0.0, 0.5, 1.0]
    assert frequencies["..**.."] == [1.0, 0.5, 0.0]
    assert asdsf(runs) == pytest.approx(0.25, abs=1e-15)
    np.testing.assert_array_equal(table.n_runs_present[table.bitstrings().index("...***")], 2)


def test_identical_runs_have_zero_asdsf_and_one_run_is_refused():
    taxa = TaxonNamespace(list("ABCDEF"))
    runs = [_run([T1, T2, T3], taxa), _run([T3, T1, T2], taxa)]
    assert asdsf(runs) == 0.0
    with pytest.raises(PhyloVIError):
        asdsf(runs[:1])


def test_summary_pools_runs():
    taxa = TaxonNamespace(list("ABCDEF"))
    summary = summarize_runs([[parse_newick(t, taxa) for t in [T1, T1, T2]],
                              [parse_newick(t, taxa) for t in [T2, T3]]])
    assert summary.n_trees == 5 and summary.n_taxa == 6
    np.testing.assert_allclose(summary.topologies.probabilities, [0.4, 0.4, 0.2], atol=1e-15)
    # pooled split frequency = trees holding the split / all trees: {E,F} in all 5
    assert dict(zip(summary.split_table.bitstrings(), summary.split_table.pooled))["....**"] == 1.0
    assert summary.asdsf == pytest.approx(asdsf([r.splits for r in summary.runs]), abs=0)
