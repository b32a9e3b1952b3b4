"""Head-to-head comparison of the discrete gradient estimators on problems with exact gradients.

Every estimator is given the same number of cost evaluations ``n_evaluations`` per gradient
estimate and run ``n_repeats`` times independently (vectorised: one parameter copy per repeat,
so each row's gradient is one independent estimate). Reported per estimator: mean gradient,
bias ``||mean - exact||``, total variance (trace of the covariance of the estimates), the
standard error of the mean, and wall time per estimate. The relaxed estimators (Gumbel-softmax,
straight-through) are biased by construction and included to show by how much.

Estimators (``n_evaluations = k``):

* ``reinforce``: k iid samples, no baseline (Williams 1992);
* ``reinforce-loo``: k iid samples with the leave-one-out baseline (Kool et al. 2019b);
* ``sum-and-sample``: k - 1 top categories summed, 1 sampled (Liu et al. 2019);
* ``unordered-set``: k samples without replacement, built-in baseline (Kool et al. 2020);
* ``gumbel-softmax``: k relaxed samples at temperature 0.5, cost linear in the relaxed one-hot;
* ``straight-through``: the same with hard forward samples (Jang et al. 2017).
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import torch
from torch import Tensor

from phylo_vi.errors import ModelSpecificationError
from phylo_vi.vi.concrete import sample_log_concrete, straight_through
from phylo_vi.vi.gumbel_top_k import gumbel_top_k
from phylo_vi.vi.logspace import sample_gumbel
from phylo_vi.vi.score_function import leave_one_out_baseline, score_function_surrogate
from phylo_vi.vi.sum_and_sample import sum_and_sample_surrogate
from phylo_vi.vi.toy_problems import BernoulliToy, CategoricalToy
from phylo_vi.util.deprecation import renamed
from phylo_vi.vi.unordered_set import unordered_set_surrogate

__all__ = ["PROBLEMS", "ESTIMATORS", "EstimatorResult", "make_problem", "compare_estimators", "compare_on_problems"]

PROBLEMS = ("bernoulli", "bernoulli-eta-4", "categorical")
RELAXATION_TEMPERATURE = 0.5


def make_problem(name: str, *, device: torch.device | str = "cpu", dtype: torch.dtype = torch.float64):
    """The named toy problem: Bernoulli at eta = 0 or -4, or a 10-category categorical."""
    if name == "bernoulli":
        return BernoulliToy(0.0, device=device, dtype=dtype)
    if name == "bernoulli-eta-4":
        return BernoulliToy(-4.0, device=device, dtype=dtype)
    if name == "categorical":
        # fixed problem: logits and costs from a seeded CPU generator, identical on every device
        generator = torch.Generator().manual_seed(20260101)
        logits = 2.0 * torch.randn(10, generator=generator, dtype=torch.float64)
        costs = torch.rand(10, generator=generator, dtype=torch.float64)
        return CategoricalToy(logits.to(device=device, dtype=dtype), costs.to(device=device, dtype=dtype))
    raise ModelSpecificationError(f"unknown problem {name!r}; choose one of {', '.join(PROBLEMS)}")


def _iid_samples(log_q: Tensor, k: int, generator) -> Tensor:
    noise = sample_gumbel((k,) + tuple(log_q.shape), like=log_q, generator=generator)
    return torch.argmax(log_q.detach() + noise, dim=-1)                     # (k, rows)


def _reinforce(problem, log_q, k, generator):
    index = _iid_samples(log_q, k, generator)
    log_p = log_q.gather(-1, index.T).T
    return score_function_surrogate(log_p, problem.cost(index))


def _reinforce_loo(problem, log_q, k, generator):
    if k < 2:
        raise ModelSpecificationError("reinforce-loo needs at least 2 evaluations")
    index = _iid_samples(log_q, k, generator)
    log_p = log_q.gather(-1, index.T).T
    cost = problem.cost(index)
    return score_function_surrogate(log_p, cost, leave_one_out_baseline(cost))


def _sum_and_sample(problem, log_q, k, generator):
    return sum_and_sample_surrogate(log_q, problem.cost, k - 1, generator=generator)


def _unordered_set(problem, log_q, k, generator):
    index, _ = gumbel_top_k(log_q, k, generator=generator)
    return unordered_set_surrogate(log_q.gather(-1, index), problem.cost(index))


def _relaxed(hard: bool):
    def estimator(problem, log_q, k, generator):
        log_y = sample_log_concrete(log_q, RELAXATION_TEMPERATURE, (k,), generator=generator)
        y = straight_through(log_y) if hard else log_y.exp()
        all_costs = problem.cost(torch.arange(problem.n_outcomes, device=log_q.device))
        return (y * all_costs).sum(-1).mean(0)
    return estimator


ESTIMATORS: dict[str, Callable] = {
    "reinforce": _reinforce,
    "reinforce-loo": _reinforce_loo,
    "sum-and-sample": _sum_and_sample,
    "unordered-set": _unordered_set,
    "gumbel-softmax": _relaxed(hard=False),
    "straight-through": _relaxed(hard=True),
}


@dataclass
class EstimatorResult:
    """Summary of ``n_repeats`` independent gradient estimates of one estimator."""

    name: str
    mean_gradient: list[float]
    bias: float
    variance: float
    standard_error: float
    time_per_estimate_s: float

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def compare_estimators(problem_name: str = "bernoulli", *, n_evaluations: int = 4, n_repeats: int = 2000,
                       estimators: list[str] | None = None, device: torch.device | str = "cpu",
                       dtype: torch.dtype = torch.float64, random_state: int = 0,
                       on_estimator_done: Callable[[str], None] | None = None, seed: int | None = None) -> dict:
    """Run every estimator on ``problem_name``; return a JSON-ready document.

    Keys: ``problem``, ``exact_gradient``, ``n_evaluations``, ``n_repeats``, ``seed`` (the integer
    ``random_state``; estimator i draws from a torch generator seeded ``random_state + i``),
    ``device``, ``estimators`` (list of :class:`EstimatorResult` dicts). Each estimator is run
    once on a few rows before it is timed (warm-up); ``on_estimator_done(name)`` is called after
    each estimator (progress reporting). ``seed`` is the deprecated spelling of ``random_state``.
    """
    seed = renamed("compare_estimators", "seed", "random_state", seed, random_state, default=0)
    device = torch.device(device)
    names = list(ESTIMATORS) if estimators is None else estimators
    unknown = [name for name in names if name not in ESTIMATORS]
    if unknown:
        raise ModelSpecificationError(f"unknown estimator(s) {', '.join(unknown)}; choose from {', '.join(ESTIMATORS)}")
    problem = make_problem(problem_name, device=device, dtype=dtype)
    if not 1 <= n_evaluations <= problem.n_outcomes:
        raise ModelSpecificationError(f"n_evaluations must lie in [1, {problem.n_outcomes}] for {problem_name}")
    exact = problem.exact_gradient().reshape(-1).double().cpu()
    generator = torch.Generator(device=device)
    results = []
    for offset, name in enumerate(names):
        warm_rows = problem.parameter.detach().expand(2, *problem.parameter.shape).clone().requires_grad_(True)
        ESTIMATORS[name](problem, problem.log_probs(warm_rows), n_evaluations, generator).sum().backward()
        generator.manual_seed(seed + offset)
        rows = problem.parameter.detach().expand(n_repeats, *problem.parameter.shape).clone().requires_grad_(True)
        _synchronize(device)
        start = time.perf_counter()
        surrogate = ESTIMATORS[name](problem, problem.log_probs(rows), n_evaluations, generator)
        (gradients,) = torch.autograd.grad(surrogate.sum(), rows)
        _synchronize(device)
        elapsed = time.perf_counter() - start
        gradients = gradients.reshape(n_repeats, -1).double().cpu()
        mean = gradients.mean(0)
        variance = float(gradients.var(0).sum())
        results.append(EstimatorResult(
            name=name, mean_gradient=mean.tolist(), bias=float(torch.linalg.vector_norm(mean - exact)),
            variance=variance, standard_error=(variance / n_repeats) ** 0.5,
            time_per_estimate_s=elapsed / n_repeats).as_dict())
        if on_estimator_done is not None:
            on_estimator_done(name)
    return {"problem": problem_name, "exact_gradient": exact.tolist(), "n_evaluations": n_evaluations,
            "n_repeats": n_repeats, "seed": seed, "device": str(device), "estimators": results}


def compare_on_problems(problems: list[str], *, n_evaluations: int = 4, n_repeats: int = 2000,
                        estimators: list[str] | None = None, device: torch.device | str = "cpu",
                        dtype: torch.dtype = torch.float64, random_state: int = 0,
                        on_estimator_done: Callable[[str], None] | None = None) -> dict:
    """:func:`compare_estimators` on each of ``problems`` (``"all"`` among them: every problem) with the
    same settings; the report document has the settings and one ``problems`` entry per problem."""
    names = list(PROBLEMS) if "all" in problems else list(dict.fromkeys(problems))
    documents = [compare_estimators(name, n_evaluations=n_evaluations, n_repeats=n_repeats, estimators=estimators,
                                    device=device, dtype=dtype, random_state=random_state,
                                    on_estimator_done=on_estimator_done)
                 for name in names]
    return {"seed": random_state, "device": str(torch.device(device)), "dtype": str(dtype).removeprefix("torch."),
            "n_evaluations": n_evaluations, "n_repeats": n_repeats, "problems": documents}
