"""Site-pattern compression and taxon matching."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from phylo_vi.alignment import Alignment, SitePatterns
from phylo_vi.io import read_alignment
from phylo_vi.errors import TaxonMismatchError
from phylo_vi.trees import TaxonNamespace


def _brute_force_patterns(codes):
    """Distinct columns in order of first appearance, with counts, by a plain dictionary."""
    counts = {}
    for column in map(tuple, codes.T):
        counts[column] = counts.get(column, 0) + 1
    return np.array(list(counts)).T, np.array(list(counts.values()), dtype=float)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 6), st.integers(1, 40), st.integers(0, 2**32 - 1))
def test_compression_equals_brute_force_and_expands_back(n_taxa, n_sites, seed):
    rng = np.random.default_rng(seed)
    codes = rng.choice(np.array([1, 2, 4, 8, 15], dtype=np.uint8), size=(n_taxa, n_sites))
    aln = Alignment(TaxonNamespace(f"t{i}" for i in range(n_taxa)), codes)
    patterns = aln.site_patterns()
    expected_codes, expected_weights = _brute_force_patterns(codes)
    np.testing.assert_array_equal(patterns.codes, expected_codes)
    np.testing.assert_array_equal(patterns.weights, expected_weights)
    np.testing.assert_array_equal(patterns.codes[:, patterns.site_pattern], codes)
    assert patterns.n_sites == n_sites


def test_ds1_has_934_patterns(shared_data):
    # /work/shared/data/README.md and reference/README.md: 934 unique patterns, '-' as missing
    patterns = read_alignment(shared_data / "DS1" / "DS1.fasta").site_patterns()
    assert (patterns.n_taxa, patterns.n_patterns, patterns.n_sites) == (27, 934, 1949)
    assert patterns.weights.sum() == 1949
    # reference/README.md: 9 columns contain only gaps, i.e. one all-missing pattern of weight 9
    all_missing = np.all(patterns.codes == 15, axis=0)
    assert all_missing.sum() == 1 and patterns.weights[all_missing][0] == 9


def test_sim100x10000_has_6174_patterns(shared_data):
    # shared/data/reference/README.md: simulated 100 x 10,000, no gaps, 6174 unique patterns
    patterns = read_alignment(shared_data / "reference" / "sim100x10000.phy").site_patterns()
    assert (patterns.n_taxa, patterns.n_patterns, patterns.n_sites) == (100, 6174, 10000)


def test_ds1_base_counts(shared_data):
    # reference/README.md: A 9804, C 10750, G 11722, T 9601, 10746 gaps
    codes = read_alignment(shared_data / "reference" / "DS1.fasta").codes
    assert [int((codes == v).sum()) for v in (1, 2, 4, 8, 15)] == [9804, 10750, 11722, 9601, 10746]


def test_tip_partials_shape_and_values():
    patterns = SitePatterns(TaxonNamespace(["a", "b"]), np.array([[1, 5], [15, 8]], dtype=np.uint8),
                            np.array([2.0, 1.0]))
    np.testing.assert_array_equal(patterns.tip_partials(), [[[1, 0, 0, 0], [1, 0, 1, 0]],
                                                            [[1, 1, 1, 1], [0, 0, 0, 1]]])


def test_match_taxa_reorders_rows():
    patterns = SitePatterns(TaxonNamespace(["a", "b", "c"]), np.array([[1], [2], [4]], dtype=np.uint8),
                            np.array([1.0]))
    tree_taxa = TaxonNamespace(["c", "a", "b"])
    matched = patterns.match_taxa(tree_taxa)
    assert matched.taxa is tree_taxa
    np.testing.assert_array_equal(matched.codes[:, 0], [4, 1, 2])


def test_match_taxa_names_missing_and_extra():
    patterns = SitePatterns(TaxonNamespace(["a", "b", "x"]), np.ones((3, 1), dtype=np.uint8), np.array([1.0]))
    with pytest.raises(TaxonMismatchError) as info:
        patterns.match_taxa(TaxonNamespace(["a", "b", "y", "z"]))
    message = str(info.value)
    assert "missing from the alignment: y, z" in message
    assert "in the alignment but not in the tree: x" in message
