"""Training the pointer network: supervised on true flip sets over a size curriculum, then
(optionally) policy-gradient fine-tuning; time-bounded and resumable from checkpoints.

1. **Supervised** (teacher forcing): the target sequence is the set of entries where the truth
   differs from the observation (missing entries read as 0, so a missing entry whose truth is 1
   is a flip), in a fresh random order per step, followed by STOP; the loss is the mean
   ``-log q`` per target choice. Sequences longer than ``max_target`` choices are cut to their
   first ``max_target`` (no STOP): in a random order every prefix is a uniform draw of true
   flips, so the cut keeps the pointing target and bounds the cost of one step at 100 x 100
   (STOP is learnt on the matrices whose flip set fits). The matrix shapes follow a
   **curriculum**: stage ``s`` starts at step ``curriculum[s][0]`` and cycles through its shapes,
   from 16 x 16 to 120 x 80; a batch holds ``batch_size`` matrices, fewer above 24 x 24 entries
   (:func:`batch_matrices`).
2. **Policy gradient** (on the first stage's shapes): ``K`` flip sets are sampled per matrix
   (:func:`~phylo_vi.vi.sequential.sample_sequences`) and scored by the reward

       R(B) = log P(A' | B) - kappa * (number of conflicting column pairs of B),

   the FP/FN log-likelihood of the observation given the corrected matrix ``B`` (missing entries
   contribute nothing) plus a conflict penalty — the cost PhyloM meant to minimise
   (``gamma * NLL + V``), here actually accumulated. Gradients use the score-function estimator
   with the leave-one-out baseline of :mod:`phylo_vi.vi.score_function` (Kool et al. 2019b).

Training matrices come from :func:`~phylo_vi.genotype.simulate.simulate_clonal` with error,
missing and doublet rates (:func:`~phylo_vi.genotype.simulate.add_doublets`), shapes and clone
numbers drawn per batch, all from one seed. A checkpoint (network, optimiser, step counts, the
simulation and sampling generators, history) is written every ``checkpoint_every`` steps and when
``max_minutes`` runs out; training resumed from it continues the same sequence of batches.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from phylo_vi.errors import InputFormatError, InvalidParameterError
from phylo_vi.genotype.matrix import MISSING
from phylo_vi.genotype.pointer import PointerNetwork, PointerDecoder, encode_matrix
from phylo_vi.genotype.simulate import add_doublets, add_noise, simulate_clonal
from phylo_vi.util.atomic import atomic_write
from phylo_vi.util.deprecation import renamed
from phylo_vi.util.random import check_random_state
from phylo_vi.vi.score_function import leave_one_out_baseline, score_function_surrogate
from phylo_vi.vi.sequential import sample_sequences

DEFAULT_SHAPES = ((16, 16), (24, 24), (20, 30))
#: (first step, shapes) per stage: small matrices first, then the sizes the network is used on
DEFAULT_CURRICULUM = ((0, DEFAULT_SHAPES), (250, ((40, 40), (60, 60), (40, 80))),
                      (450, ((100, 100), (120, 80), (80, 120))))
CONFLICT_PENALTY = 2.0
MAX_TARGET = 128
BATCH_ENTRIES = 24 * 24  # ``batch_size`` matrices of this many entries make one batch
MISSING_RATES = (0.0, 0.05, 0.15, 0.25, 0.4)
DOUBLET_RATES = (0.0, 0.0, 0.02, 0.05)


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
    """One batch: fn ~ U(0.03, 0.25), fp ~ logU(1e-4, 1e-2), missing rate from ``MISSING_RATES``,
    doublet rate from ``DOUBLET_RATES``, 2–12 clones."""
    n, m = shape
    fn = float(rng.uniform(0.03, 0.25))
    fp = float(10 ** rng.uniform(-4, -2))
    missing = float(rng.choice(MISSING_RATES))
    doublet = float(rng.choice(DOUBLET_RATES))
    truths, observed = [], []
    for _ in range(batch_size):
        k = int(rng.integers(2, min(12, n, m + 1) + 1))
        truth = simulate_clonal(n, m, k, random_state=rng)
        merged, _ = add_doublets(truth, doublet, random_state=rng)
        truths.append(truth)
        observed.append(add_noise(merged, fp, fn, missing, random_state=rng))
    features = torch.stack([encode_matrix(o, fp, fn, dtype=dtype) for o in observed])
    return TrainingBatch(np.stack(truths), np.stack(observed), features, fp, fn)


def flip_sequences(batch: TrainingBatch, rng: np.random.Generator, max_target: int | None = None) -> Tensor:
    """(B, 1, T) target choices: true flips in random order, then STOP (= n m), ``-1`` padded;
    a sequence of more than ``max_target`` choices keeps its first ``max_target`` flips, no STOP."""
    filled = np.where(batch.observed == MISSING, 0, batch.observed)
    n_tokens = filled[0].size
    flips = [rng.permutation(np.flatnonzero((t != f).ravel())) for t, f in zip(batch.truth, filled)]
    sequences = [np.append(f, n_tokens) for f in flips]
    if max_target is not None:
        sequences = [s[:max_target] for s in sequences]
    out = np.full((len(sequences), 1, max(len(s) for s in sequences)), -1, dtype=np.int64)
    for b, s in enumerate(sequences):
        out[b, 0, : len(s)] = s
    return torch.as_tensor(out)


def prefix_log_prob(decoder: PointerDecoder, choices: Tensor) -> tuple[Tensor, int]:
    """Teacher-forced ``sum log q`` of (B, T) choice prefixes (``-1`` padded; a prefix need not end
    in STOP) and the number of choices scored."""
    state = decoder.initial_state(choices.shape[0])
    total = torch.zeros((), dtype=decoder.embeddings.dtype, device=decoder.embeddings.device)
    count = 0
    for step in range(choices.shape[1]):
        choice = choices[:, step].to(decoder.embeddings.device)
        live = (choice >= 0) & ~state.finished
        if not bool(live.any()):
            break
        log_p = decoder.step_log_probs(state)
        safe = torch.where(live, choice, torch.full_like(choice, decoder.n_tokens))
        total = total + log_p.gather(-1, safe.unsqueeze(-1)).squeeze(-1)[live].sum()
        count += int(live.sum())
        state = decoder.advance(state, safe)
    return total, count


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
    """Per-step losses (supervised NLL per choice) and mean rewards (policy gradient); ``finished``
    is False when ``max_minutes`` stopped the run before its last step."""

    supervised_loss: list[float] = field(default_factory=list)
    policy_reward: list[float] = field(default_factory=list)
    seconds: float = 0.0
    finished: bool = True


def curriculum_shapes(curriculum, step: int) -> tuple[tuple[int, int], ...]:
    """Shapes of the stage that ``step`` falls in (stages sorted by their first step)."""
    shapes = curriculum[0][1]
    for first, stage in curriculum:
        if step >= first:
            shapes = stage
    return shapes


def batch_matrices(batch_size: int, shape: tuple[int, int]) -> int:
    """Matrices per batch: ``batch_size``, fewer for matrices larger than ``BATCH_ENTRIES`` so that a
    batch holds about ``batch_size * BATCH_ENTRIES`` entries; at least 2."""
    return max(2, min(batch_size, round(batch_size * BATCH_ENTRIES / (shape[0] * shape[1]))))


def _save_checkpoint(path, net, optimiser, rng, generator, history, step) -> None:
    state = {"config": net.config, "state_dict": net.state_dict(), "optimiser": optimiser.state_dict(),
             "step": step, "rng": rng.bit_generator.state, "generator": generator.get_state(),
             "supervised_loss": history.supervised_loss, "policy_reward": history.policy_reward,
             "seconds": history.seconds}
    with atomic_write(path, mode="wb") as handle:
        torch.save(state, handle)


def _load_checkpoint(path) -> dict:
    try:
        with open(path, "rb") as handle:
            return torch.load(handle, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a file that is not a checkpoint
        raise InputFormatError(f"not a training checkpoint written by 'phylo-vi genotype train' "
                               f"({type(exc).__name__})", path) from None


def train_pointer_network(*, n_supervised: int = 300, n_policy: int = 60, batch_size: int = 16,
                          n_samples: int = 8, shapes=DEFAULT_SHAPES, curriculum=None,
                          max_target: int | None = MAX_TARGET, learning_rate: float = 2e-3,
                          network: PointerNetwork | None = None, random_state: int = 0,
                          checkpoint: str | Path | None = None, checkpoint_every: int = 25,
                          max_minutes: float | None = None,
                          progress=None, seed: int | None = None) -> tuple[PointerNetwork, TrainingHistory]:
    """Train (or continue training) a :class:`PointerNetwork` on simulated matrices, on CPU.

    ``curriculum``: ``((first_step, shapes), ...)`` for the supervised phase (``None``: the fixed
    ``shapes``); the policy phase uses the first stage's shapes. ``batch_size``: matrices per batch
    up to 24 x 24 entries, fewer above (:func:`batch_matrices`). ``random_state`` is the
    integer seed of the simulations, the initialisation and the policy samples (``seed``: its
    deprecated spelling). ``checkpoint``: a file written every ``checkpoint_every`` steps and
    at a time-out; when it exists, training resumes from it (its network replaces ``network``).
    ``max_minutes`` stops the run (``history.finished`` False) after that much wall time.
    ``progress`` is an optional callable ``(phase, step, value)``.
    """
    seed = renamed("train_pointer_network", "seed", "random_state", seed, random_state, default=0)
    if max_target is not None and max_target < 1:
        raise InvalidParameterError(f"max_target must be >= 1, got {max_target}")
    stages = ((0, tuple(shapes)),) if curriculum is None else tuple(sorted(curriculum))
    rng = check_random_state(seed)
    torch.manual_seed(seed)  # parameter initialisation of a fresh network
    net = PointerNetwork() if network is None else network
    generator = torch.Generator().manual_seed(seed)
    optimiser = torch.optim.Adam(net.parameters(), lr=learning_rate, betas=(0.9, 0.99))
    history = TrainingHistory()
    first_step = 0
    if checkpoint is not None and Path(checkpoint).exists():
        saved = _load_checkpoint(checkpoint)
        net = PointerNetwork(**saved["config"])
        net.load_state_dict(saved["state_dict"])
        optimiser = torch.optim.Adam(net.parameters(), lr=learning_rate, betas=(0.9, 0.99))
        optimiser.load_state_dict(saved["optimiser"])
        rng.bit_generator.state = saved["rng"]
        generator.set_state(saved["generator"])
        history = TrainingHistory(list(saved["supervised_loss"]), list(saved["policy_reward"]), saved["seconds"])
        first_step = int(saved["step"])
    deadline = None if max_minutes is None else time.perf_counter() + 60.0 * max_minutes
    start = time.perf_counter() - history.seconds
    net.train()
    for step in range(first_step, n_supervised + n_policy):
        if deadline is not None and time.perf_counter() > deadline:
            history.finished = False
            break
        if step < n_supervised:
            stage = curriculum_shapes(stages, step)
            shape = stage[step % len(stage)]
            batch = simulate_batch(batch_matrices(batch_size, shape), shape, rng)
            targets = flip_sequences(batch, rng, max_target)[:, 0]
            total, count = prefix_log_prob(net.decoder(batch.features), targets)
            loss = -total / count
            value = float(loss.detach())
            history.supervised_loss.append(value)
            phase = "supervised"
        else:
            if step == n_supervised or step == first_step:
                for group in optimiser.param_groups:
                    group["lr"] = learning_rate / 4
            policy_shapes = stages[0][1]
            batch = simulate_batch(batch_size // 2 or 1, policy_shapes[step % len(policy_shapes)], rng)
            n_tokens = batch.observed[0].size
            decoder = net.decoder(batch.features, max_flips=n_tokens // 4)
            sample = sample_sequences(decoder, len(batch.observed), n_samples, generator=generator)
            reward = flip_reward(batch.observed, choices_to_masks(sample.choices, n_tokens), batch.fp, batch.fn)
            cost = -reward.to(sample.log_prob.dtype)
            surrogate = score_function_surrogate(sample.log_prob, cost, leave_one_out_baseline(cost, dim=1), dim=1)
            loss = surrogate.mean() / n_tokens
            value = float(reward.mean())
            history.policy_reward.append(value)
            phase = "policy"
        optimiser.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        optimiser.step()
        if progress is not None:
            progress(phase, step, value)
        history.seconds = time.perf_counter() - start
        if checkpoint is not None and (step + 1) % checkpoint_every == 0:
            _save_checkpoint(checkpoint, net, optimiser, rng, generator, history, step + 1)
    history.seconds = time.perf_counter() - start
    if checkpoint is not None:
        done = len(history.supervised_loss) + len(history.policy_reward)
        _save_checkpoint(checkpoint, net, optimiser, rng, generator, history, done)
    net.eval()
    return net, history
