"""A tiny variable-length sequential model for tests: tabular logits indexed by (step, previous
choice), a forbidden repeat of the previous choice, and termination after choice 0 or at
``max_length``; its sequences can be enumerated exactly."""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import torch


@dataclass
class PrefixState:
    prefix: torch.Tensor      # (rows, max_length) long, -1 padded
    length: torch.Tensor      # (rows,) long
    finished: torch.Tensor    # (rows,) bool


class TabularSequenceModel:
    """``p(c_t | c_{t-1}) = softmax(W[t, c_{t-1} + 1])`` with ``c_t != c_{t-1}`` for ``c_t != 0``."""

    def __init__(self, n_choices: int = 3, max_length: int = 3, *, seed: int = 0,
                 device=None, dtype=torch.float64):
        generator = torch.Generator().manual_seed(seed)
        table = torch.randn(max_length, n_choices + 1, n_choices, generator=generator, dtype=torch.float64)
        self.weights = table.to(device=device, dtype=dtype).requires_grad_(True)
        self.n_choices, self.max_length = n_choices, max_length
        self.device = device

    def initial_state(self, batch_size: int) -> PrefixState:
        return PrefixState(torch.full((batch_size, self.max_length), -1, dtype=torch.long, device=self.device),
                           torch.zeros(batch_size, dtype=torch.long, device=self.device),
                           torch.zeros(batch_size, dtype=torch.bool, device=self.device))

    def step_log_probs(self, state: PrefixState) -> torch.Tensor:
        step = state.length.clamp(max=self.max_length - 1)
        previous = torch.where(state.length > 0,
                               state.prefix.gather(1, (state.length - 1).clamp(min=0).unsqueeze(1)).squeeze(1),
                               torch.full_like(step, -1))
        logits = self.weights[step, previous + 1]
        choices = torch.arange(self.n_choices, device=logits.device)
        forbidden = (choices.unsqueeze(0) == previous.unsqueeze(1)) & (choices.unsqueeze(0) != 0)
        logits = logits.masked_fill(forbidden, -math.inf)
        return torch.log_softmax(logits, dim=-1)

    def advance(self, state: PrefixState, choices: torch.Tensor) -> PrefixState:
        live = ~state.finished
        prefix = state.prefix.clone()
        rows = torch.nonzero(live).squeeze(1)
        prefix[rows, state.length[rows]] = choices[rows]
        length = state.length + live.long()
        finished = state.finished | (live & ((choices == 0) | (length >= self.max_length)))
        return PrefixState(prefix, length, finished)

    def is_finished(self, state: PrefixState) -> torch.Tensor:
        return state.finished

    def select(self, state: PrefixState, index: torch.Tensor) -> PrefixState:
        return PrefixState(state.prefix[index], state.length[index], state.finished[index])

    def enumerate(self) -> dict[tuple[int, ...], float]:
        """Exact probability of every complete sequence, by brute force over all prefixes."""
        table = torch.log_softmax(self.weights.detach().to(torch.float64).cpu(), dim=-1)
        out: dict[tuple[int, ...], float] = {}
        for length in range(1, self.max_length + 1):
            for seq in itertools.product(range(self.n_choices), repeat=length):
                if any(c == 0 for c in seq[:-1]) or (length < self.max_length and seq[-1] != 0):
                    continue
                log_p, previous = 0.0, -1
                for t, c in enumerate(seq):
                    row = table[t, previous + 1].clone()
                    if previous > 0:
                        row[previous] = -math.inf
                    row = row - torch.logsumexp(row, 0)
                    log_p += row[c].item()
                    previous = c
                if log_p > -math.inf:
                    out[seq] = math.exp(log_p)
        return out
