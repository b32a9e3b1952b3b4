"""Sum-and-sample over a sequential model: beam search for the summed set, a sample from the rest.

The sum-and-sample estimator (Liu et al. 2019, §3; :mod:`phylo_vi.vi.sum_and_sample`) needs a set
``C`` of categories fixed by the parameters and one draw ``u ~ q(· | u ∉ C)``. For a
:class:`~phylo_vi.vi.sequential.SequentialModel` the categories are whole sequences, too many to
sort; here

- ``C`` is the result of deterministic **beam search** of width ``m`` (:func:`beam_search`), which
  approximates the ``m`` most probable sequences (any set that does not depend on the sample keeps
  the estimator unbiased; the variance bound ``(1 − q(C))²`` only needs q(C) large);
- ``u`` is drawn **exactly** from q restricted to the complement of ``C`` by ancestral sampling
  under the conditionals of the restricted distribution (:class:`ExcludingModel`): at prefix h
  with choice d,

      q(d | h, ∉C) = [q(d | h) − Σ_{c ∈ C extending h·d} q(c) / q(h)] / [1 − Σ_{c ∈ C extending h} q(c) / q(h)],

  the excluded mass of the set's sequences under each prefix taken off (the trie view of sampling
  without replacement, Shi, Zhou & Lee 2020), so no rejection loop is needed.

References
----------
1. Liu, R., Regier, J., Tripuraneni, N., Jordan, M. I. & McAuliffe, J. (2019).
   Rao-Blackwellized stochastic gradients for discrete distributions. ICML.
2. Shi, K., Bieber, D. & Sutton, C. (2020). Incremental sampling without replacement for
   sequence models. ICML.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from phylo_vi.errors import InvalidParameterError
from phylo_vi.vi.sequential import SequenceSample, SequentialModel, _check_steps, _masked_step_log_probs

__all__ = ["beam_search", "ExcludingModel"]

#: Excluded mass within this relative distance of a choice's whole mass empties the choice
#: (the set holds every sequence below it; the difference is rounding).
RELATIVE_ROUNDING = 1e-10


def beam_search(model: SequentialModel, width: int, *, max_steps: int | None = None) -> SequenceSample:
    """The ``width`` best sequences of one problem found by deterministic beam search.

    Returns a :class:`SequenceSample` with ``batch = 1``; beams beyond the model's support have
    ``valid = False`` and ``log_prob = -inf``. ``log_prob`` is differentiable.
    """
    if width < 1:
        raise InvalidParameterError(f"beam width must be >= 1, got {width}")
    state = model.initial_state(1)
    device = model.is_finished(state).device
    state = model.select(state, torch.zeros(width, dtype=torch.long, device=device))
    finished = model.is_finished(state)
    beam_log_p: Tensor | None = None
    history = torch.empty(width, 0, dtype=torch.long, device=device)
    step = 0
    while beam_log_p is None or not bool((finished | torch.isneginf(beam_log_p.detach())).all()):
        if beam_log_p is None and bool(finished.all()):
            break
        _check_steps(step, max_steps)
        log_p = _masked_step_log_probs(model, state, finished)
        if beam_log_p is None:
            beam_log_p = torch.full((width,), -math.inf, dtype=log_p.dtype, device=device)
            beam_log_p[0] = 0.0
        child = (beam_log_p.unsqueeze(-1) + log_p).reshape(-1)
        n_choices = log_p.shape[-1]
        flat = torch.topk(child.detach(), min(width, child.numel())).indices
        parent, choice = torch.div(flat, n_choices, rounding_mode="floor"), flat % n_choices
        beam_log_p = child[flat]
        was_finished = finished[parent]
        history = torch.cat([history[parent], torch.where(was_finished, torch.full_like(choice, -1),
                                                          choice).unsqueeze(-1)], dim=-1)
        state = model.advance(model.select(state, parent), torch.where(was_finished, torch.zeros_like(choice), choice))
        finished = was_finished | model.is_finished(state)
        step += 1
    if beam_log_p is None:
        beam_log_p = torch.zeros(width, device=device)
    valid = torch.isfinite(beam_log_p.detach())
    return SequenceSample(choices=history.unsqueeze(0), log_prob=beam_log_p.unsqueeze(0), state=state, keys=None,
                          valid=valid.unsqueeze(0))


@dataclass
class _Excluding:
    inner: Any
    prefix: Tensor
    log_q_prefix: Tensor


class ExcludingModel:
    """``model`` restricted to the sequences outside ``excluded`` (module docstring), for sampling.

    ``excluded`` (m, T) long choice sequences (``-1`` padded) with their log-probabilities
    ``excluded_log_prob`` (m,) under ``model``. Step log-probabilities are detached: draw with
    :func:`~phylo_vi.vi.sequential.sample_sequences` and re-score under the model.
    """

    def __init__(self, model: SequentialModel, excluded: Tensor, excluded_log_prob: Tensor):
        self.model = model
        self.excluded = excluded
        self.excluded_log_prob = excluded_log_prob.detach()

    def initial_state(self, batch_size: int) -> _Excluding:
        inner = self.model.initial_state(batch_size)
        device = self.model.is_finished(inner).device
        return _Excluding(inner, torch.empty(batch_size, 0, dtype=torch.long, device=device),
                          torch.zeros(batch_size, dtype=self.excluded_log_prob.dtype, device=device))

    def step_log_probs(self, state: _Excluding) -> Tensor:
        log_p = self.model.step_log_probs(state.inner).detach().to(self.excluded_log_prob.dtype)
        t = state.prefix.shape[1]
        if t >= self.excluded.shape[1]:
            return log_p
        matches = (state.prefix.unsqueeze(1) == self.excluded[:, :t].unsqueeze(0)).all(-1)   # (R, m)
        next_choice = self.excluded[:, t]
        matches = matches & (next_choice >= 0).unsqueeze(0)
        share = torch.where(matches, (self.excluded_log_prob.unsqueeze(0) - state.log_q_prefix.unsqueeze(-1)).exp(),
                            torch.zeros_like(matches, dtype=log_p.dtype))                    # q(c) / q(h)
        excluded = torch.zeros_like(log_p).index_add(1, next_choice.clamp(min=0), share)
        mass = log_p.exp()
        remaining = mass - excluded
        remaining = torch.where(remaining > RELATIVE_ROUNDING * mass, remaining, torch.zeros_like(remaining))
        return torch.log(remaining) - torch.log(remaining.sum(-1, keepdim=True))

    def advance(self, state: _Excluding, choices: Tensor) -> _Excluding:
        log_p = self.model.step_log_probs(state.inner).detach().to(self.excluded_log_prob.dtype)
        chosen = log_p.gather(-1, choices.unsqueeze(-1)).squeeze(-1)
        finished = self.model.is_finished(state.inner)
        recorded = torch.where(finished, torch.full_like(choices, -1), choices)
        log_q = state.log_q_prefix + torch.where(finished, torch.zeros_like(chosen), chosen)
        return _Excluding(self.model.advance(state.inner, choices), torch.cat([state.prefix, recorded[:, None]], -1),
                          log_q)

    def is_finished(self, state: _Excluding) -> Tensor:
        return self.model.is_finished(state.inner)

    def select(self, state: _Excluding, index: Tensor) -> _Excluding:
        return _Excluding(self.model.select(state.inner, index), state.prefix[index], state.log_q_prefix[index])
