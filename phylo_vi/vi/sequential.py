"""Generic sequential discrete models: ancestral sampling, scoring and stochastic beam search.

A *sequential discrete model* generates an object by a sequence of categorical choices; at each
step it exposes the log-probabilities of the next choice given the prefix so far. A subsplit
Bayesian network over rooted tree topologies (one subsplit choice per clade popped from a DFS
stack, ``n_taxa - 1`` steps) and a pointer network over genotype matrices (one pointer per step)
both fit this interface, and so can be trained with the score-function, VIMCO or unordered-set
estimators of this package.

The interface (:class:`SequentialModel`) is five methods over an opaque, batched ``state``::

    state = model.initial_state(batch_size)        # one row per independent problem
    log_p = model.step_log_probs(state)            # (n_rows, n_choices): normalised log-probs,
                                                   # -inf for forbidden choices; differentiable
    state = model.advance(state, choices)          # choices: (n_rows,) long
    done = model.is_finished(state)                # (n_rows,) bool
    state = model.select(state, index)             # rows state[index] (index: (m,) long), used
                                                   # to replicate and reorder beams

Rows that are finished are never asked for a real choice again: the samplers treat them as having
one "padding" choice of log-probability 0, pass choice ``0`` to :meth:`advance` for them (the
model must keep a finished row finished) and record ``-1`` in the returned choice matrix.

Public functions (stable names and signatures)::

    sample_sequences(model, batch_size, n_samples=1, *, generator=None, max_steps=None)
        -> SequenceSample   # iid ancestral samples; choices (batch, n_samples, T),
                            # log_prob (batch, n_samples) differentiable
    stochastic_beam_search(model, batch_size, k, *, generator=None, max_steps=None)
        -> SequenceSample   # k sequences *without replacement* per problem (Gumbel-top-k over
                            # whole sequences); keys (batch, k), valid (batch, k)
    sequence_log_prob(model, batch_size, choices, *, max_steps=None) -> Tensor
        # teacher-forced log q of given choices (batch, n, T) (-1 padded) -> (batch, n)

Stochastic beam search (Kool, van Hoof & Welling 2019, §3): every beam carries its
sequence log-probability ``phi`` and a perturbed key ``G`` (the root has ``phi = G = 0``). Each
child draws ``G_child ~ Gumbel(phi_child)``; the children of one parent are then conditioned on
their maximum equalling the parent's key (:func:`shift_gumbel_maximum`), and the ``k`` largest
keys over all children survive. The ``k`` complete sequences are an exact sample without
replacement from the sequence distribution, in Plackett-Luce order.

References
----------
1. Kool, W., van Hoof, H. & Welling, M. (2019). Stochastic beams and where to find them. ICML.
2. Kool, W., van Hoof, H. & Welling, M. (2020). Estimating gradients for discrete random
   variables by sampling without replacement. ICLR.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import torch
from torch import Tensor

from phylo_vi.errors import ConvergenceError, InvalidParameterError
from phylo_vi.vi.gumbel_top_k import shift_gumbel_maximum
from phylo_vi.vi.logspace import sample_gumbel

__all__ = ["SequentialModel", "SequenceSample", "sample_sequences", "stochastic_beam_search",
           "sequence_log_prob"]


@runtime_checkable
class SequentialModel(Protocol):
    """A distribution over sequences of categorical choices, exposed one step at a time."""

    def initial_state(self, batch_size: int) -> Any:
        """State of ``batch_size`` empty prefixes, one per independent problem."""

    def step_log_probs(self, state: Any) -> Tensor:
        """(n_rows, n_choices) normalised next-choice log-probabilities (``-inf`` = forbidden)."""

    def advance(self, state: Any, choices: Tensor) -> Any:
        """State after appending ``choices`` (n_rows,) long to every prefix."""

    def is_finished(self, state: Any) -> Tensor:
        """(n_rows,) bool: the prefix is a complete object."""

    def select(self, state: Any, index: Tensor) -> Any:
        """State made of rows ``index`` (m,) long of ``state`` (replication and reordering)."""


@dataclass
class SequenceSample:
    """Sequences drawn from a :class:`SequentialModel`.

    Attributes
    ----------
    choices : (batch, n, T) long, ``-1`` after a sequence finished.
    log_prob : (batch, n) sequence log-probabilities, differentiable w.r.t. the model.
    state : final model state with ``batch * n`` rows, row ``b * n + i`` for sequence ``(b, i)``.
    keys : (batch, n) Gumbel keys (beam search only, else ``None``), decreasing along ``n``.
    valid : (batch, n) bool; ``False`` where a problem has fewer than ``n`` distinct sequences.
    """

    choices: Tensor
    log_prob: Tensor
    state: Any
    keys: Tensor | None
    valid: Tensor


def _masked_step_log_probs(model: SequentialModel, state: Any, finished: Tensor) -> Tensor:
    """Model log-probs with finished rows replaced by a single padding choice of log-prob 0."""
    log_p = model.step_log_probs(state)
    padding = torch.full_like(log_p, -math.inf)
    padding[:, 0] = 0.0
    return torch.where(finished.unsqueeze(-1), padding, log_p)


def _check_steps(step: int, max_steps: int | None) -> None:
    if max_steps is not None and step >= max_steps:
        raise ConvergenceError(f"sequential model did not finish within max_steps={max_steps}")


def sample_sequences(model: SequentialModel, batch_size: int, n_samples: int = 1, *,
                     generator: torch.Generator | None = None,
                     max_steps: int | None = None) -> SequenceSample:
    """Draw ``n_samples`` iid sequences per problem by ancestral (Gumbel-max) sampling."""
    rows = torch.arange(batch_size).repeat_interleave(n_samples)
    state = model.initial_state(batch_size)
    state = model.select(state, rows.to(_device_of(model, state)))
    finished = model.is_finished(state)
    log_prob = None
    history: list[Tensor] = []
    step = 0
    while not bool(finished.all()):
        _check_steps(step, max_steps)
        log_p = _masked_step_log_probs(model, state, finished)
        noise = sample_gumbel(log_p.shape, like=log_p, generator=generator)
        choice = torch.argmax(log_p.detach() + noise, dim=-1)
        chosen = log_p.gather(-1, choice.unsqueeze(-1)).squeeze(-1)
        log_prob = chosen if log_prob is None else log_prob + chosen
        history.append(torch.where(finished, torch.full_like(choice, -1), choice))
        state = model.advance(state, torch.where(finished, torch.zeros_like(choice), choice))
        finished = finished | model.is_finished(state)
        step += 1
    n_rows = batch_size * n_samples
    choices = _stack_history(history, n_rows, finished.device).view(batch_size, n_samples, -1)
    if log_prob is None:
        log_prob = torch.zeros(n_rows, device=finished.device)
    return SequenceSample(choices=choices, log_prob=log_prob.view(batch_size, n_samples), state=state,
                          keys=None, valid=torch.ones(batch_size, n_samples, dtype=torch.bool,
                                                      device=finished.device))


def stochastic_beam_search(model: SequentialModel, batch_size: int, k: int, *,
                           generator: torch.Generator | None = None,
                           max_steps: int | None = None) -> SequenceSample:
    """Draw ``k`` distinct sequences per problem without replacement (Kool et al. 2019, §3).

    Returns a :class:`SequenceSample` whose ``keys`` decrease along the beam axis; where a
    problem has fewer than ``k`` sequences in its support the surplus beams have
    ``valid = False``, ``log_prob = -inf`` and ``keys = -inf``.
    """
    if k < 1:
        raise InvalidParameterError(f"beam size k must be >= 1, got {k}")
    state = model.initial_state(batch_size)
    device = _device_of(model, state)
    state = model.select(state, torch.arange(batch_size, device=device).repeat_interleave(k))
    finished = model.is_finished(state)
    beam_log_p: Tensor | None = None
    keys: Tensor | None = None
    history: Tensor | None = None
    offsets = (torch.arange(batch_size, device=device) * k).unsqueeze(-1)
    step = 0
    while True:
        alive = None if keys is None else torch.isfinite(keys).view(-1)
        done = finished if alive is None else finished | ~alive
        if bool(done.all()):
            break
        _check_steps(step, max_steps)
        log_p = _masked_step_log_probs(model, state, finished)
        n_choices = log_p.shape[-1]
        if beam_log_p is None:
            # only beam 0 of each problem is live at the root; the copies start dead
            dead = torch.full((batch_size, k), -math.inf, dtype=log_p.dtype, device=device)
            dead[:, 0] = 0.0
            beam_log_p, keys = dead, dead.clone()
        child_log_p = beam_log_p.unsqueeze(-1) + log_p.view(batch_size, k, n_choices)
        with torch.no_grad():
            phi = child_log_p.detach()
            perturbed = phi + sample_gumbel(phi.shape, like=phi, generator=generator)
            perturbed = torch.where(torch.isneginf(phi), torch.full_like(phi, -math.inf), perturbed)
            shifted = shift_gumbel_maximum(perturbed, keys).view(batch_size, k * n_choices)
            width = min(k, k * n_choices)
            new_keys, flat = torch.topk(shifted, width, dim=-1)
        parent = torch.div(flat, n_choices, rounding_mode="floor")
        choice = flat % n_choices
        beam_log_p = child_log_p.view(batch_size, k * n_choices).gather(-1, flat)
        beam_log_p = torch.where(torch.isneginf(new_keys), torch.full_like(beam_log_p, -math.inf), beam_log_p)
        keys = new_keys
        rows = (offsets + parent).view(-1)
        state = model.select(state, rows)
        was_finished = finished[rows]
        flat_choice = choice.view(-1)
        recorded = torch.where(was_finished, torch.full_like(flat_choice, -1), flat_choice)
        history = recorded.unsqueeze(-1) if history is None else torch.cat([history[rows], recorded.unsqueeze(-1)], -1)
        state = model.advance(state, torch.where(was_finished, torch.zeros_like(flat_choice), flat_choice))
        finished = was_finished | model.is_finished(state)
        step += 1
    if beam_log_p is None:  # every initial prefix already complete: one empty sequence each
        beam_log_p = torch.full((batch_size, k), -math.inf, device=device)
        beam_log_p[:, 0] = 0.0
        keys = beam_log_p.clone()
        history = torch.empty(batch_size * k, 0, dtype=torch.long, device=device)
    return SequenceSample(choices=history.view(batch_size, k, -1), log_prob=beam_log_p, state=state,
                          keys=keys, valid=torch.isfinite(keys))


def sequence_log_prob(model: SequentialModel, batch_size: int, choices: Tensor, *,
                      max_steps: int | None = None) -> Tensor:
    """Teacher-forced log-probability of given sequences.

    ``choices`` (batch, n, T) long with ``-1`` padding after the end; returns (batch, n),
    differentiable w.r.t. the model (use it to re-score samples drawn under ``no_grad``).
    Raises :class:`~phylo_vi.errors.InvalidParameterError` if a sequence ends before the model finishes it.
    """
    n = choices.shape[1]
    state = model.initial_state(batch_size)
    device = _device_of(model, state)
    state = model.select(state, torch.arange(batch_size, device=device).repeat_interleave(n))
    flat = choices.reshape(batch_size * n, -1).to(device)
    finished = model.is_finished(state)
    total = None
    for step in range(flat.shape[1]):
        _check_steps(step, max_steps)
        choice = flat[:, step]
        log_p = _masked_step_log_probs(model, state, finished)
        if bool(((choice < 0) & ~finished).any()):
            raise InvalidParameterError(f"a sequence ends at step {step} before the model finished it")
        safe = torch.where(finished, torch.zeros_like(choice), choice)
        chosen = log_p.gather(-1, safe.unsqueeze(-1)).squeeze(-1)
        total = chosen if total is None else total + chosen
        state = model.advance(state, safe)
        finished = finished | model.is_finished(state)
    if not bool(finished.all()):
        raise InvalidParameterError("a sequence stops before the model finished it")
    if total is None:
        total = torch.zeros(batch_size * n, device=device)
    return total.view(batch_size, n)


def _stack_history(history: list[Tensor], n_rows: int, device: torch.device) -> Tensor:
    if not history:
        return torch.empty(n_rows, 0, dtype=torch.long, device=device)
    return torch.stack(history, dim=-1)


def _device_of(model: SequentialModel, state: Any) -> torch.device:
    """Device of the model's state: from ``is_finished`` of the initial state."""
    return model.is_finished(state).device
