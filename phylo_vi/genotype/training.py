"""Training the pointer network: supervised on true flip sets, then policy-gradient fine-tuning.

1. **Supervised** (teacher forcing): the target sequence is the set of entries where the truth
   differs from the observation (missing entries read as 0), in a fresh random order per step,
   followed by STOP; the loss is ``-log q(sequence)`` from
   :func:`phylo_vi.vi.sequential.sequence_log_prob`.
2. **Policy gradient**: ``K`` flip sets are sampled per matrix
   (:func:`~phylo_vi.vi.sequential.sample_sequences`) and scored by the reward

       R(B) = log P(A' | B) - kappa * (number of conflicting column pairs of B),

   the FP/FN log-likelihood of the observation given the corrected matrix ``B`` (missing entries
   contribute nothing) plus a conflict penalty — the cost PhyloM meant to minimise
   (``gamma * NLL + V``), here actually accumulated. Gradients use the score-function estimator
   with the leave-one-out baseline of :mod:`phylo_vi.vi.score_function` (Kool et al. 2019b).

Training matrices come from :func:`~phylo_vi.genotype.simulate.simulate_clonal` with error rates,
missing rates, shapes and clone numbers drawn per batch, all from one seed.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor

from phylo_vi.genotype.matrix import MISSING
from phylo_vi.genotype.pointer import PointerNetwork, encode_matrix
from phylo_vi.genotype.simulate import add_noise, simulate_clonal
from phylo_vi.util.random import check_random_state
from phylo_vi.util.deprecation import renamed
from phylo_vi.vi.score_function import leave_one_out_baseline, score_function_surrogate
from phylo_vi.vi.sequential import sample_sequences, sequence_log_prob

DEFAULT_SHAPES = ((16, 16), (24, 24), (20, 30))
CONFLICT_PENALTY = 2.0


@dataclass
class TrainingBatch:
    """Same-shape matrices with their A'' features and rates."""

    truth: np.ndarray       # (B, n, m) int8
    observed: np.ndarray    # (B, n, m) int8, 3 = missing
    features: Tensor        # (B, n, m, F)
    fp: float
    fn: float


def simulate_batch(batch_size: int, shape: tuple[int, int], rng: np.random.Generator, *,
                   dtype=torch.float32) -> TrainingBatch:
    """One batch: fn ~ U(0.03, 0.25), fp ~ logU(1e-4, 1e-2), missing in {0, 0.1}, 2–8 clones."""
    n, m = shape
    fn = float(rng.uniform(0.03, 0.25))
    fp = float(10 ** rng.uniform(-4, -2))
    missing = float(rng.choice([0.0, 0.0, 0.1]))
    truths, observed = [], []
    for _ in range(batch_size):
        k = int(rng.integers(2, min(8, n, m + 1) + 1))
        truth = simulate_clonal(n, m, k, random_state=rng)
        truths.append(truth)
        observed.append(add_noise(truth, fp, fn, missing, random_state=rng))
    features = torch.stack([encode_matrix(o, fp, fn, dtype=dtype) for o in observed])
    return TrainingBatch(np.stack(truths), np.stack(observed), features, fp, fn)


def flip_sequences(batch: TrainingBatch, rng: np.random.Generator) -> Tensor:
    """(B, 1, T) target choices: true flips in random order, then STOP (= n m), ``-1`` padded."""
    filled = np.where(batch.observed == MISSING, 0, batch.observed)
    n_tokens = filled[0].size
    flips = [rng.permutation(np.flatnonzero((t != f).ravel())) for t, f in zip(batch.truth, filled)]
    length = max(len(f) for f in flips) + 1
    out = np.full((len(flips), 1, length), -1, dtype=np.int64)
    for b, f in enumerate(flips):
        out[b, 0, : len(f)] = f
        out[b, 0, len(f)] = n_tokens
    return torch.as_tensor(out)


def flip_reward(observed: np.ndarray, flip_masks: Tensor, fp: float, fn: float,
                conflict_penalty: float = CONFLICT_PENALTY) -> Tensor:
    """Reward of corrected matrices: log P(A' | B) - penalty * conflicting pairs.

    ``observed`` (B, n, m); ``flip_masks`` (B, K, n m) bool -> (B, K) float64.
    """
    b, n, m = observed.shape
    obs = torch.as_tensor(observed, device=flip_masks.device).unsqueeze(1)
    missing = obs == MISSING
    filled = torch.where(missing, torch.zeros_like(obs), obs).double()
    corrected = (filled + flip_masks.view(b, -1, n, m).double()) % 2
    def constant(value: float) -> Tensor:
        return torch.tensor(value, dtype=torch.float64, device=obs.device)

    log0 = torch.where(obs == 1, constant(np.log(fp)), constant(np.log1p(-fp)))
    log1 = torch.where(obs == 1, constant(np.log1p(-fn)), constant(np.log(fn)))
    log_lik = torch.where(missing, 0.0, torch.where(corrected == 1, log1, log0)).sum(dim=(-1, -2))
    ones = corrected
    zeros = 1.0 - corrected
    n11 = ones.transpose(-1, -2) @ ones
    n10 = ones.transpose(-1, -2) @ zeros
    n01 = zeros.transpose(-1, -2) @ ones
    conflicts = torch.triu(((n11 > 0) & (n10 > 0) & (n01 > 0)).double(), diagonal=1).sum(dim=(-1, -2))
    return log_lik - conflict_penalty * conflicts


def choices_to_masks(choices: Tensor, n_tokens: int) -> Tensor:
    """(B, K, T) choices (STOP = n_tokens, -1 padding) -> (B, K, n_tokens) bool flip masks."""
    b, k, _ = choices.shape
    masks = torch.zeros(b, k, n_tokens + 1, dtype=torch.bool, device=choices.device)
    valid = choices >= 0
    masks.scatter_(-1, torch.where(valid, choices, torch.full_like(choices, n_tokens)), True)
    return masks[..., :n_tokens]


@dataclass
class TrainingHistory:
    """Per-step losses (supervised NLL per flip) and mean rewards (policy gradient)."""

    supervised_loss: list[float] = field(default_factory=list)
    policy_reward: list[float] = field(default_factory=list)
    seconds: float = 0.0


def train_pointer_network(*, n_supervised: int = 300, n_policy: int = 60, batch_size: int = 16,
                          n_samples: int = 8, shapes=DEFAULT_SHAPES, learning_rate: float = 2e-3,
                          network: PointerNetwork | None = None, random_state: int = 0,
                          progress=None, seed: int | None = None) -> tuple[PointerNetwork, TrainingHistory]:
    """Train (or continue training) a :class:`PointerNetwork` on simulated matrices, on CPU.

    ``random_state`` is the integer seed of the simulations, the initialisation and the policy
    samples (``seed``: its deprecated spelling). ``progress`` is an optional callable
    ``(phase, step, value)`` for progress reporting.
    """
    seed = renamed("train_pointer_network", "seed", "random_state", seed, random_state, default=0)
    rng = check_random_state(seed)
    torch.manual_seed(seed)  # parameter initialisation of a fresh network
    net = PointerNetwork() if network is None else network
    generator = torch.Generator().manual_seed(seed)
    optimiser = torch.optim.Adam(net.parameters(), lr=learning_rate, betas=(0.9, 0.99))
    history = TrainingHistory()
    start = time.perf_counter()
    net.train()
    for step in range(n_supervised):
        batch = simulate_batch(batch_size, shapes[step % len(shapes)], rng)
        targets = flip_sequences(batch, rng)
        decoder = net.decoder(batch.features)
        log_q = sequence_log_prob(decoder, batch_size, targets)
        loss = -(log_q.sum() / (targets >= 0).sum())
        optimiser.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        optimiser.step()
        history.supervised_loss.append(float(loss.detach()))
        if progress is not None:
            progress("supervised", step, float(loss.detach()))
    for group in optimiser.param_groups:
        group["lr"] = learning_rate / 4
    for step in range(n_policy):
        batch = simulate_batch(batch_size // 2 or 1, shapes[step % len(shapes)], rng)
        n_tokens = batch.observed[0].size
        decoder = net.decoder(batch.features, max_flips=n_tokens // 4)
        sample = sample_sequences(decoder, len(batch.observed), n_samples, generator=generator)
        reward = flip_reward(batch.observed, choices_to_masks(sample.choices, n_tokens), batch.fp, batch.fn)
        cost = -reward.to(sample.log_prob.dtype)
        surrogate = score_function_surrogate(sample.log_prob, cost, leave_one_out_baseline(cost, dim=1), dim=1)
        loss = surrogate.mean() / n_tokens
        optimiser.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        optimiser.step()
        history.policy_reward.append(float(reward.mean()))
        if progress is not None:
            progress("policy", step, float(reward.mean()))
    net.eval()
    history.seconds = time.perf_counter() - start
    return net, history
