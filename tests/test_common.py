"""The estimator contract (:mod:`phylo_vi.base`), checked on every estimator class of the package.

The idea of scikit-learn's ``check_estimator`` (``sklearn/utils/estimator_checks.py``): the
classes are discovered by walking ``phylo_vi``, so a new estimator is checked without being
listed here; it only needs a tiny problem to fit (:func:`_fit_inputs`, keyed by base class) and,
when its defaults are slow, small hyperparameters (``SMALL``). Every check is exact: round trips,
identities, and bit-for-bit equal refits under one ``random_state``.
"""
from __future__ import annotations

import dataclasses
import functools
import importlib
import inspect
import math
import pkgutil
import re

import numpy as np
import pytest
import torch

import phylo_vi
from phylo_vi.alignment import Alignment, SequenceRecord
from phylo_vi.base import Estimator, InstanceOf, Interval, Options, accepts, clone
from phylo_vi.errors import InvalidParameterError, NotFittedError, PhyloVIError
from phylo_vi.genotype.classifiers import MatrixClassifier, noise_dataset
from phylo_vi.io import parse_newick
from phylo_vi.marginal import FixedTopologyProblem, MarginalEstimator
from phylo_vi.sbn import TreeArrays, TreeDistribution
from phylo_vi.trees import TaxonNamespace
from phylo_vi.vbpi import VBPI
from phylo_vi.vi.vae.clonal import ClonalVAE
from phylo_vi.vi.vae.models import DiscreteVAE, GaussianVAE


def _estimator_classes() -> list[type[Estimator]]:
    for module in pkgutil.walk_packages(phylo_vi.__path__, "phylo_vi."):
        importlib.import_module(module.name)
    found, stack = set(), [Estimator]
    while stack:
        for subclass in stack.pop().__subclasses__():
            stack.append(subclass)
            if subclass.__module__.startswith("phylo_vi.") and not inspect.isabstract(subclass):
                found.add(subclass)
    return sorted(found, key=lambda cls: cls.__name__)


ESTIMATORS = _estimator_classes()

# tiny settings so that every estimator fits in well under a second (defaults are the papers')
SMALL = {"n_iter": 200, "thin": 2, "n_burnin": 10, "n_steps": 4, "n_live": 5, "n_mcmc": 10, "n_samples": 100,
         "max_iter": 200, "check_every": 50, "elbo_draws": 10, "n_epochs": 2, "hidden": 8, "batch_size": 4}

# 4 taxa, 24 sites: enough variation for finite, distinct estimates
SEQUENCES = {"A": "ACGTACGTAACCGGTTACGTACGA", "B": "ACGTACGTAACCGGTTACGAACGA",
             "C": "ACGAACGTAACCGCTTACGTTCGA", "D": "ACGAACCTAACCGCTTACGTTCTA"}
UNROOTED = ["((A,B),C,(D,E));", "((A,B),C,(D,E));", "((A,C),B,(D,E));", "((A,D),B,(C,E));"]
ROOTED = ["((A,B),(C,(D,E)));", "((A,B),(C,(D,E)));", "(((A,C),B),(D,E));", "((A,(B,C)),(D,E));"]


# methods that need a fitted estimator, with arguments that are valid apart from that
UNFITTED_CALLS = {"log_prob": ([],), "sample": (1,), "sample_arrays": (1,), "most_probable_tree": (),
                  "to_dict": (), "predict": (np.zeros((1, 4, 4)),), "predict_proba": (np.zeros((1, 4, 4)),)}


# where a SMALL value does not fit a kind of estimator (samples of a small discrete latent)
SMALL_FOR_KIND = {DiscreteVAE: {"n_samples": 3}, GaussianVAE: {"n_samples": 2}, ClonalVAE: {"encoder_warmup_steps": 2}}


def _small_estimator(cls: type[Estimator], **params) -> Estimator:
    names = cls.param_names()
    small = {key: value for key, value in SMALL.items() if key in names}
    for kind, values in SMALL_FOR_KIND.items():
        if issubclass(cls, kind):
            small.update(values)
    return cls(**small, **params)


def _seed(cls: type[Estimator], seed: int) -> dict:
    return {"random_state": seed} if "random_state" in cls.param_names() else {}


@functools.cache
def _fit_once(cls: type[Estimator]) -> tuple[Estimator, Estimator, dict]:
    """(estimator, what its fit returned, its parameters before fit), with ``random_state=0``;
    fitted once per class and shared by the checks that only read the fit."""
    estimator = _small_estimator(cls, **_seed(cls, 0))
    params = estimator.get_params()
    return estimator, estimator.fit(*_fit_inputs(estimator)), params


def _fit_inputs(estimator: Estimator) -> tuple:
    """Fresh arguments of ``fit`` for a tiny problem of the estimator's kind."""
    if isinstance(estimator, MarginalEstimator):
        alignment = Alignment.from_records([SequenceRecord(name, seq) for name, seq in SEQUENCES.items()])
        tree = parse_newick("((A:0.1,B:0.1):0.05,C:0.1,D:0.1);", alignment.taxa, add_taxa=False)
        return (FixedTopologyProblem(alignment.site_patterns(), tree),)
    if isinstance(estimator, TreeDistribution):
        taxa = TaxonNamespace("ABCDE")
        texts = ROOTED if estimator.rooted else UNROOTED
        return ([parse_newick(text, taxa, add_taxa=False, rooted=estimator.rooted) for text in texts],)
    if isinstance(estimator, MatrixClassifier):
        return noise_dataset(8, 4, 4, random_state=0)
    if isinstance(estimator, VBPI):  # the 3 unrooted topologies of 4 taxa as support, 5 iterations
        alignment = Alignment.from_records([SequenceRecord(name, seq) for name, seq in SEQUENCES.items()])
        trees = [parse_newick(text, alignment.taxa, add_taxa=False)
                 for text in ("((A,B),C,D);", "((A,C),B,D);", "((A,D),B,C);")]
        return alignment.site_patterns(), TreeArrays.from_trees(trees, np.ones(3)), 5
    if isinstance(estimator, ClonalVAE):  # 6 cells of two clones, 4 mutations, one call flipped
        return (np.array([[1, 1, 0, 0]] * 3 + [[0, 0, 1, 1]] * 2 + [[0, 1, 1, 1]], dtype=np.int8),)
    if isinstance(estimator, (DiscreteVAE, GaussianVAE)):  # 8 binary rows of 6 pixels
        return (np.random.default_rng(0).integers(0, 2, (8, 6)).astype(np.float64),)
    raise AssertionError(f"no tiny problem for {type(estimator).__name__}: add one to _fit_inputs")


def _fitted_attributes(estimator: Estimator) -> dict:
    return {name: value for name, value in vars(estimator).items() if name.endswith("_") and not name.startswith("_")}


def _same(a, b) -> bool:
    """Exact equality of fitted values (NaN equals NaN; modules by their weights)."""
    if isinstance(a, torch.nn.Module):
        return type(a) is type(b) and _same(a.state_dict(), b.state_dict())
    if isinstance(a, torch.Tensor):
        return torch.equal(a, b)
    if isinstance(a, torch.Generator):
        return torch.equal(a.get_state(), b.get_state())
    if isinstance(a, np.ndarray):
        return a.dtype == b.dtype and a.shape == b.shape and bool(np.all((a == b) | ((a != a) & (b != b))))
    if isinstance(a, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if dataclasses.is_dataclass(a) or (hasattr(a, "__dict__") and not isinstance(a, type)):
        return type(a) is type(b) and _same(_public(a), _public(b))
    return a == b


def _public(value) -> dict:
    """An object's state without its private attributes (caches such as built likelihood plans)."""
    return {name: item for name, item in vars(value).items() if not name.startswith("_")}


def _section(docstring: str, title: str) -> str:
    """The text of a numpydoc section (empty when absent)."""
    match = re.search(rf"^\s*{title}\n\s*-+\n(.*?)(?=^\s*\w[\w ]*\n\s*-+\n|\Z)", docstring or "", re.S | re.M)
    return match.group(1) if match else ""


@pytest.fixture(params=ESTIMATORS, ids=lambda cls: cls.__name__)
def estimator_class(request) -> type[Estimator]:
    return request.param


def test_discovery_finds_every_kind_of_estimator():
    names = {cls.__name__ for cls in ESTIMATORS}
    assert len([cls for cls in ESTIMATORS if issubclass(cls, MarginalEstimator)]) == 19  # Fourment et al. 2020
    assert {"SampleRelativeFrequency", "ConditionalCladeDistribution", "SubsplitBayesianNetwork",
            "RootedSubsplitBayesianNetwork", "MatrixClassifier"} <= names


def test_init_takes_keyword_only_parameters_and_stores_them_unchanged(estimator_class):
    signature = inspect.signature(estimator_class.__init__)
    kinds = {p.kind for name, p in signature.parameters.items() if name != "self"}
    assert kinds <= {inspect.Parameter.KEYWORD_ONLY}
    defaults = {name: p.default for name, p in signature.parameters.items() if name != "self"}
    assert all(default is not inspect.Parameter.empty for default in defaults.values())
    estimator = estimator_class()
    assert estimator.get_params().keys() == defaults.keys()
    assert all(estimator.get_params()[name] is default for name, default in defaults.items())
    assert _fitted_attributes(estimator) == {}


def test_set_params_round_trip_and_unknown_names(estimator_class):
    estimator = _small_estimator(estimator_class)
    params = estimator.get_params()
    assert estimator.set_params(**params) is estimator
    assert estimator.get_params() == params
    for name, value in params.items():
        changed = estimator_class().set_params(**{name: value})
        assert changed.get_params()[name] is value
    with pytest.raises(InvalidParameterError, match="no parameter 'not_a_parameter'"):
        estimator.set_params(not_a_parameter=1)
    assert issubclass(InvalidParameterError, PhyloVIError)


def test_repr_names_the_class_and_rebuilds_it(estimator_class):
    estimator = _small_estimator(estimator_class)
    text = repr(estimator)
    assert text.startswith(f"{estimator_class.__name__}(")
    rebuilt = eval(text, {estimator_class.__name__: estimator_class, "torch": torch})  # noqa: S307 (our own repr)
    assert type(rebuilt) is estimator_class and rebuilt.get_params() == estimator.get_params()


def test_docstring_documents_every_parameter_and_fitted_attribute(estimator_class):
    estimator, _, _ = _fit_once(estimator_class)
    documented_params = set(re.findall(r"\w+", _section(estimator_class.__doc__, "Parameters")))
    documented_attributes = set(re.findall(r"\w+", _section(estimator_class.__doc__, "Attributes")))
    assert set(estimator.get_params()) <= documented_params
    assert set(_fitted_attributes(estimator)) <= documented_attributes
    assert documented_attributes, "an Attributes section"


def test_unfitted_use_raises_not_fitted(estimator_class):
    estimator = _small_estimator(estimator_class)
    documented = re.findall(r"\b([a-z]\w*_)(?!\w)", _section(estimator_class.__doc__, "Attributes"))
    assert documented
    for name in documented:
        with pytest.raises(NotFittedError, match="not fitted"):
            getattr(estimator, name)
        assert not hasattr(estimator, name)  # NotFittedError is an AttributeError
    for method, args in UNFITTED_CALLS.items():
        if hasattr(estimator, method):
            with pytest.raises(NotFittedError, match="not fitted"):
                getattr(estimator, method)(*args)
    assert issubclass(NotFittedError, PhyloVIError)


def _invalid_values(constraints) -> list:
    """Values that no constraint of one hyperparameter accepts (scikit-learn's ``generate_invalid_param_val``)."""
    values = ["not-an-option"] if not any(isinstance(c, Options) for c in constraints) else [3.5]
    if any(isinstance(c, InstanceOf) for c in constraints):
        values.append(object())
    for interval in (c for c in constraints if isinstance(c, Interval)):
        if interval.low is not None:
            values.append(interval.low if interval.closed in ("right", "neither") else interval.low - 1)
        if interval.high is not None:
            values.append(interval.high if interval.closed in ("left", "neither") else interval.high + 1)
        values.append(float("nan"))
    return [value for value in values if not any(accepts(c, value) for c in constraints)]


def test_every_hyperparameter_has_constraints_its_default_meets(estimator_class):
    assert set(estimator_class.parameter_constraints) == set(estimator_class.param_names())
    estimator_class().validate_params()


def test_fit_rejects_invalid_hyperparameters_by_name(estimator_class):
    for name, constraints in estimator_class.parameter_constraints.items():
        invalid = _invalid_values(constraints)
        assert invalid, f"no invalid value found for {name}"
        for value in invalid:
            estimator = _small_estimator(estimator_class).set_params(**{name: value})
            with pytest.raises(InvalidParameterError, match=f"{name} must be"):
                estimator.fit(*_fit_inputs(estimator))


def test_fit_returns_self_and_keeps_the_parameters(estimator_class):
    estimator, returned, params = _fit_once(estimator_class)
    assert returned is estimator
    assert _fitted_attributes(estimator)
    assert all(estimator.get_params()[name] is value for name, value in params.items())
    with pytest.raises(AttributeError) as error:
        estimator.no_such_attribute_  # a typo after fit is a plain AttributeError, not "not fitted"
    assert not isinstance(error.value, NotFittedError)


def test_clone_is_unfitted_with_equal_parameters(estimator_class):
    estimator, _, _ = _fit_once(estimator_class)
    copy = clone(estimator)
    assert type(copy) is estimator_class and copy is not estimator
    assert copy.get_params() == estimator.get_params()
    assert _fitted_attributes(copy) == {}


def test_same_random_state_gives_the_same_fit(estimator_class):
    fits = []
    for seed in (0, 1):
        estimator = _small_estimator(estimator_class, **_seed(estimator_class, seed))
        fits.append(_fitted_attributes(estimator.fit(*_fit_inputs(estimator))))
    fits.insert(0, dict(_fitted_attributes(_fit_once(estimator_class)[0])))
    for fitted in fits:  # timings differ between runs
        for name in ("wall_time_", "seconds_", "cpu_seconds_"):
            fitted.pop(name, None)
    assert fits[0].keys() == fits[1].keys()
    unequal = [name for name in fits[0] if not _same(fits[0][name], fits[1][name])]
    assert not unequal, f"refits with one random_state differ in {unequal}"
    if "random_state" in estimator_class.param_names() and not getattr(estimator_class, "deterministic", False):
        # the seed reaches the randomness: another one changes the result
        assert any(not _same(fits[0][name], fits[2][name]) for name in fits[0])
