"""Fully connected classifiers, always next to the exact checks."""
from __future__ import annotations

import numpy as np
import pytest

from phylo_vi.genotype.classifiers import (MatrixClassifier, branching_dataset, canonical_form,
                                           compare_with_exact, noise_dataset)


def test_canonical_form_is_invariant_to_row_and_column_order():
    rng = np.random.default_rng(0)
    matrix = (rng.random((7, 6)) < 0.4).astype(np.int8)
    shuffled = matrix[rng.permutation(7)][:, rng.permutation(6)]
    np.testing.assert_array_equal(canonical_form(matrix), canonical_form(shuffled))


def test_noise_labels_are_exactly_the_conflict_check():
    x, y = noise_dataset(40, 6, 6, model="clonal", random_state=1)
    clf = MatrixClassifier(task="noise", n_epochs=2, random_state=0).fit(x, y)
    comparison = compare_with_exact(clf, x, y)
    assert comparison.exact_accuracy == 1.0  # PhyloM's label is the three-gamete check by construction
    assert 0.0 <= comparison.classifier_accuracy <= 1.0


def test_branching_classifier_learns_clean_clonal_trees():
    x, y, _ = branching_dataset(300, 8, 8, n_clones=4, random_state=2)
    xt, yt, _ = branching_dataset(100, 8, 8, n_clones=4, random_state=3)
    clf = MatrixClassifier(task="branching", n_epochs=25, random_state=0).fit(x, y)
    comparison = compare_with_exact(clf, xt, yt)
    assert comparison.exact_accuracy == 1.0      # is_linear on the clean truth
    majority = max(yt.mean(), 1 - yt.mean())
    assert comparison.classifier_accuracy > majority  # better than always answering the majority class


def test_predict_refuses_other_shapes():
    x, y, _ = branching_dataset(20, 5, 5, n_clones=3, random_state=4)
    clf = MatrixClassifier(task="branching", n_epochs=1, random_state=0).fit(x, y)
    with pytest.raises(Exception, match="trained on"):
        clf.predict(np.zeros((1, 6, 6), np.int8))
