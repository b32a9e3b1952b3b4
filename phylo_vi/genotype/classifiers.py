"""Fully connected classifiers for noise inference and branching inference (PhyloM), always
reported next to the exact checks they must be compared with.

Sadeqi Azer et al. (2020, iScience 23:101655) train multilayer perceptrons on flattened
matrices: noise inference with two sigmoid hidden layers of 100 units and dropout 0.2;
branching inference with one tanh hidden layer of 100 units. As the spec notes, PhyloM's noise
label ("the noisy matrix has a three-gamete conflict") is exactly what
:func:`~phylo_vi.genotype.conflicts.is_conflict_free` computes, and its two branching classes
came from different generators. Here both branching classes come from
:func:`~phylo_vi.genotype.simulate.simulate_clonal` (chain versus random clone trees, same
mutation and cell allocation), and :func:`compare_with_exact` puts the classifier's accuracy
beside the exact answer: the conflict check for noise, and ``is_linear`` of the exactly repaired
matrix for branching.

Inputs are made invariant to cell and mutation order by sorting (PhyloM's ``--lexSort``, made
order-independent): columns by colour refinement of the cell–mutation graph, then rows
lexicographically.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from phylo_vi.base import (COUNT, POSITIVE, RANDOM_STATE, Estimator, Interval, Options, check_is_fitted,
                           check_parameter)
from phylo_vi.errors import InvalidParameterError
from phylo_vi.genotype.conflicts import is_conflict_free, is_linear
from phylo_vi.genotype.matrix import MISSING
from phylo_vi.genotype.repair import repair
from phylo_vi.genotype.simulate import add_noise, simulate_clonal, simulate_coalescent
from phylo_vi.util.random import check_random_state

TASKS = ("noise", "branching")


def _refined_column_order(values: np.ndarray, n_rounds: int = 3) -> np.ndarray:
    """Column order from colour refinement (Weisfeiler–Lehman) of the cell–mutation graph:
    a label of a column is the sorted multiset of its rows' labels and vice versa, so the order
    does not depend on how rows and columns were listed (ties remain only between columns that
    refinement cannot tell apart)."""
    row_key = [0.0] * values.shape[0]
    col_key: list = [float(s) for s in values.sum(axis=0)]
    for _ in range(n_rounds):
        row_rank = {k: i for i, k in enumerate(sorted(set(row_key)))}
        col_key = [(-float(values[:, j].sum()), tuple(sorted((row_rank[row_key[i]], values[i, j])
                                                              for i in range(values.shape[0]) if values[i, j] > 0)))
                   for j in range(values.shape[1])]
        col_rank = {k: i for i, k in enumerate(sorted(set(col_key)))}
        row_key = [tuple(sorted((col_rank[col_key[j]], values[i, j]) for j in range(values.shape[1]) if values[i, j] > 0))
                   for i in range(values.shape[0])]
    return np.array(sorted(range(values.shape[1]), key=lambda j: col_key[j]), dtype=np.int64)


def canonical_form(matrix: np.ndarray) -> np.ndarray:
    """Rows and columns sorted so that permuted copies of a matrix map to one input (missing = 0.5)."""
    values = np.where(matrix == MISSING, 0.5, matrix).astype(np.float64)
    values = values[:, _refined_column_order(values)]
    rows = np.lexsort(values.T[::-1])[::-1]
    return values[rows]


class _Perceptron(nn.Module):
    def __init__(self, n_inputs: int, hidden: int, n_layers: int, activation: str, dropout: float):
        super().__init__()
        act = {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU}[activation]
        layers: list[nn.Module] = []
        width = n_inputs
        for _ in range(n_layers):
            layers += [nn.Linear(width, hidden), act(), nn.Dropout(dropout)]
            width = hidden
        layers.append(nn.Linear(width, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x.flatten(1)).squeeze(-1)


class MatrixClassifier(Estimator):
    """Binary classifier of fixed-shape genotype matrices (PhyloM's perceptrons, module docstring).

    Parameters
    ----------
    task : {"noise", "branching"}, default "noise"
        ``"noise"``: sigmoid layers, dropout 0.2, label 1 = has a three-gamete conflict;
        ``"branching"``: tanh layers, dropout 0.5, label 1 = linear clonal tree.
    hidden : int, default 100
        Units per hidden layer.
    n_layers : int or None, default None
        Hidden layers; None takes PhyloM's (2 for noise, 1 for branching).
    n_epochs : int, default 30
        Passes over the training set.
    batch_size : int, default 64
        Matrices per Adam step.
    learning_rate : float, default 1e-3
        Adam step size.
    random_state : None, int or numpy Generator
        Seeds the weight initialisation, dropout and the batch order.

    Attributes
    ----------
    shape_ : tuple of int
        (cells, mutations) of the training matrices; predictions need the same shape.
    module_ : torch.nn.Module
        The trained perceptron (in evaluation mode).
    loss_curve_ : list of float
        Mean binary cross-entropy per epoch.
    """

    parameter_constraints = {"task": [Options(TASKS)], "hidden": COUNT, "n_layers": [None, Interval(int, 1)],
                             "n_epochs": COUNT, "batch_size": COUNT, "learning_rate": POSITIVE,
                             "random_state": RANDOM_STATE}

    def __init__(self, *, task: str = "noise", hidden: int = 100, n_layers: int | None = None,
                 n_epochs: int = 30, batch_size: int = 64, learning_rate: float = 1e-3,
                 random_state=None):
        self.task = task
        self.hidden = hidden
        self.n_layers = n_layers
        self.n_epochs = n_epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.random_state = random_state

    def _inputs(self, matrices: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(np.stack([canonical_form(m) for m in matrices]), dtype=torch.float32)

    def fit(self, matrices: np.ndarray, labels: np.ndarray) -> "MatrixClassifier":
        """Train on (N, n, m) matrices and 0/1 labels with binary cross-entropy and Adam."""
        self.validate_params()
        rng = check_random_state(self.random_state)
        torch.manual_seed(int(rng.integers(2**31)))
        x = self._inputs(matrices)
        y = torch.as_tensor(np.asarray(labels), dtype=torch.float32)
        noise_task = self.task == "noise"
        self.shape_ = tuple(x.shape[1:])
        self.module_ = _Perceptron(x[0].numel(), self.hidden, self.n_layers or (2 if noise_task else 1),
                                   "sigmoid" if noise_task else "tanh", 0.2 if noise_task else 0.5)
        optimiser = torch.optim.Adam(self.module_.parameters(), lr=self.learning_rate)
        loss_fn = nn.BCEWithLogitsLoss()
        self.loss_curve_ = []
        self.module_.train()
        for _ in range(self.n_epochs):
            order = torch.as_tensor(rng.permutation(len(x)))
            total = 0.0
            for start in range(0, len(x), self.batch_size):
                idx = order[start:start + self.batch_size]
                loss = loss_fn(self.module_(x[idx]), y[idx])
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
                total += float(loss.detach()) * len(idx)
            self.loss_curve_.append(total / len(x))
        self.module_.eval()
        return self

    def predict_proba(self, matrices: np.ndarray) -> np.ndarray:
        """Probability of the positive class (noise: has conflicts; branching: linear)."""
        check_is_fitted(self)
        x = self._inputs(matrices)
        if tuple(x.shape[1:]) != self.shape_:
            raise InvalidParameterError(f"classifier was trained on {self.shape_} matrices, got {tuple(x.shape[1:])}")
        with torch.no_grad():
            return torch.sigmoid(self.module_(x)).numpy().astype(np.float64)

    def predict(self, matrices: np.ndarray) -> np.ndarray:
        """Predicted 0/1 label of each matrix (probability of the positive class >= 0.5)."""
        return (self.predict_proba(matrices) >= 0.5).astype(np.int8)


def noise_dataset(n_samples: int, n_cells: int, n_mutations: int, *, fp: float = 1e-3, fn: float = 0.1,
                  model: str = "coalescent", random_state=None) -> tuple[np.ndarray, np.ndarray]:
    """PhyloM's noise-inference set: half clean perfect phylogenies (label 0), half noisy copies
    redrawn until they hold a conflict (label 1; up to n m tries, as in PhyloM ``pure_noisy``).
    ``model`` draws the clean matrices: ``"coalescent"`` (:func:`simulate_coalescent`) or
    ``"clonal"`` (:func:`simulate_clonal` with a random number of clones)."""
    check_parameter("model", model, (Options(("coalescent", "clonal")),))
    rng = check_random_state(random_state)
    matrices, labels = [], []
    for k in range(n_samples):
        truth = (simulate_coalescent(n_cells, n_mutations, random_state=rng) if model == "coalescent"
                 else simulate_clonal(n_cells, n_mutations, int(rng.integers(2, min(n_cells, n_mutations + 1) + 1)),
                                      random_state=rng))
        if k % 2 == 0:
            matrices.append(truth)
            labels.append(0)
            continue
        for _ in range(n_cells * n_mutations):
            noisy = add_noise(truth, fp, fn, random_state=rng)
            if not is_conflict_free(noisy):
                break
        matrices.append(noisy)
        labels.append(int(not is_conflict_free(noisy)))
    return np.stack(matrices), np.asarray(labels, dtype=np.int8)


def branching_dataset(n_samples: int, n_cells: int, n_mutations: int, *, n_clones: int = 5,
                      fp: float = 0.0, fn: float = 0.0, random_state=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Linear (label 1) and branching (label 0) clonal trees from one generator, optionally noisy.

    Returns (observed, labels, truths); labels are ``is_linear`` of the truth (a random tree
    can come out linear by chance).
    """
    rng = check_random_state(random_state)
    observed, labels, truths = [], [], []
    for k in range(n_samples):
        truth = simulate_clonal(n_cells, n_mutations, n_clones, linear=k % 2 == 1, random_state=rng)
        truths.append(truth)
        labels.append(int(is_linear(truth)))
        observed.append(add_noise(truth, fp, fn, random_state=rng) if fp > 0 or fn > 0 else truth)
    return np.stack(observed), np.asarray(labels, dtype=np.int8), np.stack(truths)


@dataclass(frozen=True)
class ClassifierComparison:
    """Held-out accuracy of a classifier and of the exact check on the same matrices."""

    task: str
    n_test: int
    classifier_accuracy: float
    exact_accuracy: float
    exact_method: str

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def compare_with_exact(classifier: MatrixClassifier, matrices: np.ndarray, labels: np.ndarray, *,
                       fp: float = 1e-3, fn: float = 0.1) -> ClassifierComparison:
    """Accuracy of ``classifier`` next to the exact baseline on the same held-out matrices."""
    predicted = classifier.predict(matrices)
    if classifier.task == "noise":
        exact = np.array([int(not is_conflict_free(m)) for m in matrices])
        method = "three-gamete conflict check"
    else:
        exact = np.array([int(is_linear(m)) if is_conflict_free(m) else int(is_linear(repair(m, fp, fn).matrix))
                          for m in matrices])
        method = "is_linear (after exact repair when the matrix has conflicts)"
    return ClassifierComparison(classifier.task, len(labels), float(np.mean(predicted == labels)),
                                float(np.mean(exact == labels)), method)


def classifier_experiment(task: str, n_train: int = 1000, size: int = 10, *,
                          random_state: int = 0) -> ClassifierComparison:
    """Train a :class:`MatrixClassifier` for ``task`` (``noise``: clonal :func:`noise_dataset`;
    ``branching``: :func:`branching_dataset` with ``max(2, size // 3)`` clones) on ``n_train``
    ``size`` × ``size`` matrices drawn with seed ``random_state``, and compare it with the exact
    check on ``max(n_train // 4, 10)`` held-out matrices drawn with seed ``random_state + 1``."""
    n_test = max(n_train // 4, 10)
    if task == "noise":
        x, y = noise_dataset(n_train, size, size, model="clonal", random_state=random_state)
        xt, yt = noise_dataset(n_test, size, size, model="clonal", random_state=random_state + 1)
    elif task == "branching":
        n_clones = max(2, size // 3)
        x, y, _ = branching_dataset(n_train, size, size, n_clones=n_clones, random_state=random_state)
        xt, yt, _ = branching_dataset(n_test, size, size, n_clones=n_clones, random_state=random_state + 1)
    else:
        raise PhyloVIError(f"unknown classifier task {task!r}; choose 'noise' or 'branching'")
    classifier = MatrixClassifier(task=task, random_state=random_state).fit(x, y)
    return compare_with_exact(classifier, xt, yt)
