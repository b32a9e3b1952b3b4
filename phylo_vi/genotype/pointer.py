"""Pointer network for noise elimination (Sadeqi Azer et al. 2020, iScience 23:101655, §"Noise
elimination"), with the defects of the published code fixed.

Input (the paper's A'' encoding, one token per matrix entry; shapes: cells n, mutations m,
tokens L = n m, hidden size H)::

    [i / (n - 1), j / (m - 1), r, a', log10(r) / 4, missing]

``r`` is the probability that the observed value is an error (``fp`` where a' = 1, ``fn`` where
a' = 0, 0.5 where missing) kept as a **float** (the Keras variant cast it to an integer);
``log10(r)`` separates 1e-4 from 1e-2 and the missing flag marks entries read as 0. A missing
entry that the decoder points at is filled with 1.

Encoder: a linear embedding and ``n_layers`` axial self-attention blocks (attention along the
cell's row, then along the mutation's column, then a position-wise feed-forward layer, each with
a residual connection and layer norm; Ho et al. 2019, "Axial attention"), so a 100 x 100 matrix
costs O(n m (n + m)) rather than O((n m)^2).

Decoder: a GRU pointer network (Vinyals et al. 2015) whose step ``t`` scores every token by
``C tanh(<W_q h_t, W_k e_l> / sqrt(H))`` (Bello et al. 2016, logit clipping C = 10), plus one
STOP choice; already chosen tokens are masked and the next GRU input is the embedding of the
token *this* sequence chose (the published code fed every batch row the choice of row 0). The
decoded set of tokens is the set of entries to flip.

The decoder is a :class:`phylo_vi.vi.sequential.SequentialModel`, so sampling, stochastic beam
search and teacher forcing come from :mod:`phylo_vi.vi.sequential`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import torch
from torch import Tensor, nn

from phylo_vi.genotype.matrix import MISSING, check_matrix, check_rates

N_FEATURES = 6
CLIP = 10.0


def encode_matrix(observed: np.ndarray, fp: float, fn: float, *, dtype=torch.float32,
                  device: torch.device | str = "cpu") -> Tensor:
    """A'' features (n, m, 6) of one observed 0/1/3 matrix."""
    check_rates(fp, fn)
    observed = check_matrix(observed)
    n, m = observed.shape
    missing = observed == MISSING
    value = np.where(missing, 0, observed).astype(np.float64)
    rate = np.where(missing, 0.5, np.where(observed == 1, fp, fn))
    rows = np.broadcast_to(np.arange(n)[:, None] / max(n - 1, 1), (n, m))
    cols = np.broadcast_to(np.arange(m)[None, :] / max(m - 1, 1), (n, m))
    features = np.stack([rows, cols, rate, value, np.log10(rate) / 4.0, missing.astype(np.float64)], axis=-1)
    return torch.as_tensor(features, dtype=dtype, device=device)


class _AxialBlock(nn.Module):
    def __init__(self, hidden: int, n_heads: int):
        super().__init__()
        self.row = nn.MultiheadAttention(hidden, n_heads, batch_first=True)
        self.col = nn.MultiheadAttention(hidden, n_heads, batch_first=True)
        self.norms = nn.ModuleList([nn.LayerNorm(hidden) for _ in range(3)])
        self.ffn = nn.Sequential(nn.Linear(hidden, 2 * hidden), nn.ReLU(), nn.Linear(2 * hidden, hidden))

    def forward(self, x: Tensor) -> Tensor:
        b, n, m, h = x.shape
        r = x.reshape(b * n, m, h)
        x = self.norms[0](r + self.row(r, r, r, need_weights=False)[0]).reshape(b, n, m, h)
        c = x.transpose(1, 2).reshape(b * m, n, h)
        x = self.norms[1](c + self.col(c, c, c, need_weights=False)[0]).reshape(b, m, n, h).transpose(1, 2)
        return self.norms[2](x + self.ffn(x))


class PointerNetwork(nn.Module):
    """Axial-attention encoder and GRU pointer decoder over the entries of a genotype matrix."""

    def __init__(self, *, hidden: int = 32, n_heads: int = 4, n_layers: int = 2):
        super().__init__()
        self.config = {"hidden": hidden, "n_heads": n_heads, "n_layers": n_layers}
        self.embed = nn.Linear(N_FEATURES, hidden)
        self.blocks = nn.ModuleList([_AxialBlock(hidden, n_heads) for _ in range(n_layers)])
        self.query = nn.Linear(hidden, hidden, bias=False)
        self.key = nn.Linear(hidden, hidden, bias=False)
        self.cell = nn.GRUCell(hidden, hidden)
        self.start = nn.Parameter(torch.zeros(hidden))
        self.stop_key = nn.Parameter(torch.zeros(hidden))
        self.stop_bias = nn.Parameter(torch.zeros(()))

    def encode(self, features: Tensor) -> Tensor:
        """(B, n, m, F) A'' features -> (B, n m, H) token embeddings."""
        x = self.embed(features)
        for block in self.blocks:
            x = block(x)
        return x.reshape(x.shape[0], -1, x.shape[-1])

    def decoder(self, features: Tensor, *, max_flips: int | None = None, temperature: float = 1.0) -> "PointerDecoder":
        """The sequential model over flip sets of the B matrices in ``features`` (B, n, m, F)."""
        param = self.embed.weight
        embeddings = self.encode(features.to(dtype=param.dtype, device=param.device))
        n_tokens = embeddings.shape[1]
        limit = n_tokens if max_flips is None else min(max_flips, n_tokens)
        return PointerDecoder(self, embeddings, self.key(embeddings), limit, temperature)


@dataclass
class DecoderState:
    """Batched decoder prefixes: one row per sequence, ``problem`` indexes the matrix."""

    problem: Tensor      # (rows,) long
    hidden: Tensor       # (rows, H)
    chosen: Tensor       # (rows, L) bool
    n_steps: Tensor      # (rows,) long
    finished: Tensor     # (rows,) bool


class PointerDecoder:
    """:class:`~phylo_vi.vi.sequential.SequentialModel` of flip sets; choice ``L`` is STOP."""

    def __init__(self, network: PointerNetwork, embeddings: Tensor, keys: Tensor, max_flips: int,
                 temperature: float):
        self.network = network
        self.embeddings = embeddings
        self.keys = keys
        self.max_flips = max_flips
        self.temperature = temperature
        self.n_tokens = embeddings.shape[1]

    def initial_state(self, batch_size: int) -> DecoderState:
        e = self.embeddings
        hidden = e.mean(dim=1)
        return DecoderState(
            problem=torch.arange(batch_size, device=e.device),
            hidden=self.network.cell(self.network.start.expand_as(hidden), hidden),
            chosen=torch.zeros(batch_size, self.n_tokens, dtype=torch.bool, device=e.device),
            n_steps=torch.zeros(batch_size, dtype=torch.long, device=e.device),
            finished=torch.zeros(batch_size, dtype=torch.bool, device=e.device))

    def step_log_probs(self, state: DecoderState) -> Tensor:
        net = self.network
        scale = math.sqrt(self.keys.shape[-1])
        query = net.query(state.hidden)
        if self.keys.shape[0] == 1:  # one matrix (inference): no per-row copy of the keys
            scores = query @ self.keys[0].T / scale
        else:
            scores = torch.einsum("rlh,rh->rl", self.keys[state.problem], query) / scale
        stop = (query @ net.stop_key) / scale
        logits = CLIP * torch.tanh(torch.cat([scores, stop.unsqueeze(-1)], dim=-1))
        logits = torch.cat([logits[:, :-1], logits[:, -1:] + net.stop_bias], dim=-1) / self.temperature
        full = (state.n_steps >= self.max_flips).unsqueeze(-1)
        forbid = torch.cat([state.chosen | full, torch.zeros_like(full)], dim=-1)
        return torch.log_softmax(logits.masked_fill(forbid, -math.inf), dim=-1)

    def advance(self, state: DecoderState, choices: Tensor) -> DecoderState:
        stop = (choices == self.n_tokens) | state.finished
        token = torch.where(stop, torch.zeros_like(choices), choices)
        chosen = state.chosen.clone()
        rows = torch.arange(len(choices), device=choices.device)
        chosen[rows[~stop], token[~stop]] = True
        inputs = self.embeddings[state.problem, token]
        hidden = torch.where(stop.unsqueeze(-1), state.hidden, self.network.cell(inputs, state.hidden))
        return DecoderState(state.problem, hidden, chosen, state.n_steps + (~stop).long(), stop)

    def is_finished(self, state: DecoderState) -> Tensor:
        return state.finished

    def select(self, state: DecoderState, index: Tensor) -> DecoderState:
        return replace(state, problem=state.problem[index], hidden=state.hidden[index],
                       chosen=state.chosen[index], n_steps=state.n_steps[index], finished=state.finished[index])
