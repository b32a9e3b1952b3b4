"""Noise elimination: pointer-network decoding followed by the exact conflict-free repair.

``denoise`` runs three stages and reports each one separately, so that the contribution of the
network and of the repair can be told apart:

1. the pointer network (:mod:`phylo_vi.genotype.pointer`) proposes flip sets by stochastic beam
   search (Kool et al. 2019, ``decoding="beam"``) or by sampling (``"sample"``); the candidate
   with the highest reward (:func:`~phylo_vi.genotype.training.flip_reward`) is the network's
   matrix, which may still hold conflicts;
2. :func:`~phylo_vi.genotype.repair.repair` runs from the observation and from the network's
   matrix (the matrix its cell clustering starts from) and the result of higher penalised
   likelihood of the *observation* is kept (``network_start_kept`` says which), so the network
   can only raise the objective the repair maximises; the output is always conflict-free;
3. ``network=False`` skips stage 1 and the second start (the repair from the observation alone),
   the ablation that measures what the network adds.

Without ``fp``/``fn`` the rates are first learnt jointly with the matrix
(:func:`~phylo_vi.genotype.rates.estimate_rates`, classification EM over the repair); both
stages then run under the estimated rates. A positive ``doublet_rate`` turns the doublet model
on (re-estimated with the other rates when these are learnt).

The shipped weights (``phylo_vi/genotype/weights/pointer.pt``, 34k float32 parameters, 150 KB)
come from ``phylo-vi genotype train --task pointer --seed 0 --threads 1 -o pointer.pt`` (1,000
supervised steps over the curriculum of :mod:`.training`: 16 x 16 to 120 x 80, missing 0-40%,
doublets 0-5%; 34 minutes on one core of a shared CPU; add ``--checkpoint pointer.ckpt
--max-minutes M`` to run it in pieces: the resumed run gives the same weights). With them the
network alone removes most of the noise (``benchmarks/genotype.py --suite network``) but the
repair from its matrix is not more accurate than the repair alone (on clonal simulations from
20 x 20 to 300 x 300, ``--suite network`` and ``--suite hard``: lower error on a few matrices, higher
on others), while decoding costs 30 to 100 times the repair's time, so ``phylo-vi genotype denoise
--network auto`` leaves it off unless ``--weights`` are given.
"""
from __future__ import annotations

import pickle
import time
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import torch

from phylo_vi.errors import InputFormatError, PhyloVIError
from phylo_vi.genotype.conflicts import conflicting_pairs
from phylo_vi.genotype.matrix import MISSING, check_matrix, check_rates
from phylo_vi.genotype.pointer import PointerNetwork, encode_matrix
from phylo_vi.genotype.rates import INITIAL_FN, INITIAL_FP, ErrorRates, estimate_rates
from phylo_vi.genotype.repair import DEFAULT_CLONE_PENALTY, RepairResult, repair
from phylo_vi.genotype.training import choices_to_masks, flip_reward
from phylo_vi.util.deprecation import renamed
from phylo_vi.vi.sequential import sample_sequences, stochastic_beam_search

DECODINGS = ("beam", "sample")
#: larger matrices are decoded in blocks of at most this many cells x mutations (the network is
#: trained on matrices of up to 120 x 80 entries)
NETWORK_BLOCK = 100
PREFIX_GRID = 33  # prefix lengths scored per decoded candidate


def save_network(network: PointerNetwork, path: str | Path) -> None:
    """Write the network's configuration and float32 weights (a few hundred KB)."""
    from phylo_vi.util.atomic import atomic_write

    state = {k: v.detach().to(torch.float32).cpu() for k, v in network.state_dict().items()}
    with atomic_write(path, mode="wb") as handle:
        torch.save({"config": network.config, "state_dict": state}, handle)


def load_network(path: str | Path | None = None) -> PointerNetwork:
    """Load weights written by :func:`save_network`; ``None`` loads the shipped weights.

    A file that is not such a weights file raises :class:`~phylo_vi.errors.InputFormatError`.
    """
    if path is None:
        path = resources.files("phylo_vi.genotype") / "weights" / "pointer.pt"
    try:
        with open(path, "rb") as handle:
            checkpoint = torch.load(handle, map_location="cpu", weights_only=True)
        network = PointerNetwork(**checkpoint["config"])
        network.load_state_dict(checkpoint["state_dict"])
    except (OSError, EOFError, RuntimeError, KeyError, TypeError, ValueError, AttributeError,
            pickle.UnpicklingError) as exc:
        first_line = str(exc).splitlines()[0] if str(exc) else ""
        reason = first_line if 0 < len(first_line) <= 80 else type(exc).__name__
        raise InputFormatError(f"not a pointer-network weights file written by 'phylo-vi genotype train' "
                               f"({reason})", path) from None
    return network.eval()


@dataclass(frozen=True)
class DenoiseResult:
    """Conflict-free matrix plus what each stage contributed."""

    matrix: np.ndarray              # final, conflict-free (n, m) 0/1
    network_matrix: np.ndarray | None  # stage-1 matrix (None with network=False)
    network_conflicts: int | None   # conflicting pairs left by the network alone
    n_network_flips: int
    n_repair_changes: int           # entries the repair changed relative to its starting matrix (the kept one)
    log_likelihood: float
    n_clones: int
    seconds_network: float
    seconds_repair: float
    fp: float = 0.0                 # the rates used (given, or estimated: see ``rates``)
    fn: float = 0.0
    doublets: np.ndarray | None = None  # (n,) bool: cells called doublets
    rates: ErrorRates | None = None  # the estimation, when the rates were not given
    seconds_rates: float = 0.0
    network_start_kept: bool = False  # the repair started from the network's matrix scored higher

    def as_dict(self, observed: np.ndarray) -> dict:
        """The counts, rates, likelihood and times (no matrices) as a JSON-ready dict; ``n_flips_total``
        counts the entries of the final matrix that differ from ``observed`` (missing read as 0)."""
        document = {key: value for key, value in asdict(self).items()
                    if key not in ("matrix", "network_matrix", "doublets", "rates")}
        document["rates_estimated"] = None if self.rates is None else self.rates.as_dict()
        document["n_doublets"] = 0 if self.doublets is None else int(self.doublets.sum())
        document["n_flips_total"] = int((self.matrix != np.where(observed == MISSING, 0, observed)).sum())
        document["conflict_free"] = len(conflicting_pairs(self.matrix)) == 0
        return document


def _expected_flips(observed: np.ndarray, fp: float, fn: float) -> float:
    """Expected number of true flips: FNs among the true 1s, FPs among the observed 0s and missing
    entries whose truth is 1 (at the observed frequency of 1s corrected for FNs)."""
    n_ones = int((observed == 1).sum())
    n_zeros = int((observed == 0).sum())
    n_missing = observed.size - n_ones - n_zeros
    true_ones = n_ones / (1 - fn)
    fraction_ones = min(1.0, true_ones / max(n_ones + n_zeros, 1))
    return fn * true_ones + fp * n_zeros + fraction_ones * n_missing


def _decode(network: PointerNetwork, observed: np.ndarray, fp: float, fn: float, decoding: str,
            n_candidates: int, max_flips: int | None, seed: int) -> np.ndarray:
    """Flip mask (n, m) decoded on the whole of ``observed``: of every candidate's prefixes of
    ``PREFIX_GRID`` evenly spaced lengths (the first k choices flipped, as PhyloM's decoding tries
    k = 0, 1, ...), the one of highest reward."""
    n_tokens = observed.size
    if max_flips is None:
        max_flips = int(2 * _expected_flips(observed, fp, fn)) + 10
    param = next(network.parameters())
    features = encode_matrix(observed, fp, fn, dtype=param.dtype, device=param.device).unsqueeze(0)
    generator = torch.Generator(device=param.device).manual_seed(seed)
    with torch.no_grad():
        decoder = network.decoder(features, max_flips=max_flips)
        if decoding == "beam":
            sample = stochastic_beam_search(decoder, 1, n_candidates, generator=generator)
        else:
            sample = sample_sequences(decoder, 1, n_candidates, generator=generator)
        choices = sample.choices[0][sample.valid[0]]  # (K', T): candidates in decoding order, -1 padded
        lengths = torch.linspace(0, choices.shape[1], PREFIX_GRID, device=choices.device).round().long().unique()
        prefixes = torch.where(torch.arange(choices.shape[1], device=choices.device) < lengths[:, None, None],
                               choices.unsqueeze(0), torch.full_like(choices, -1).unsqueeze(0))
        masks = choices_to_masks(prefixes.reshape(1, -1, choices.shape[1]), n_tokens)
        reward = flip_reward(observed[None], masks, fp, fn)
        best = int(torch.argmax(reward[0]))
    return masks[0, best].cpu().numpy().reshape(observed.shape)


def blocks(size: int, block: int) -> list[slice]:
    """``ceil(size / block)`` contiguous slices of near-equal length covering ``range(size)``."""
    cuts = np.linspace(0, size, -(-size // block) + 1).round().astype(int)
    return [slice(a, b) for a, b in zip(cuts[:-1], cuts[1:])]


def network_flips(network: PointerNetwork, observed: np.ndarray, fp: float, fn: float, *,
                  decoding: str = "beam", n_candidates: int = 8, max_flips: int | None = None,
                  block: int = NETWORK_BLOCK, random_state: int = 0, seed: int | None = None) -> np.ndarray:
    """The network's corrected matrix (n, m) 0/1: the best-reward prefix of the decoded flip sets
    (``random_state``: integer seed of the decoding; ``seed`` its deprecated spelling).

    A matrix with more than ``block`` cells or mutations is cut into near-equal blocks of at most
    ``block`` x ``block`` entries (the sizes the network was trained on), each decoded on its own;
    ``max_flips`` then applies per block.
    """
    seed = renamed("network_flips", "seed", "random_state", seed, random_state, default=0)
    if decoding not in DECODINGS:
        raise PhyloVIError(f"decoding must be one of {DECODINGS}, got {decoding!r}")
    if block < 2:
        raise PhyloVIError(f"block must be >= 2, got {block}")
    observed = check_matrix(observed)
    flips = np.zeros(observed.shape, dtype=bool)
    for k, (rows, cols) in enumerate((r, c) for r in blocks(observed.shape[0], block)
                                     for c in blocks(observed.shape[1], block)):
        flips[rows, cols] = _decode(network, observed[rows, cols], fp, fn, decoding, n_candidates, max_flips,
                                    seed + k)
    filled = np.where(observed == MISSING, 0, observed)
    return np.where(flips, 1 - filled, filled).astype(np.int8)


def denoise(observed: np.ndarray, fp: float | None = None, fn: float | None = None, *,
            network: PointerNetwork | bool = True, decoding: str = "beam", n_candidates: int = 8,
            clone_penalty: float = DEFAULT_CLONE_PENALTY, doublet_rate: float = 0.0,
            random_state: int = 0, seed: int | None = None) -> DenoiseResult:
    """Remove FP/FN noise from ``observed`` (0/1/3); the result is always conflict-free.

    ``fp``/``fn``: the error rates; when either is None both are estimated (module docstring; a
    given one is the starting value). ``network=True`` uses the shipped weights, a
    :class:`PointerNetwork` uses that network and ``False`` runs the repair alone (ablation).
    ``doublet_rate`` > 0 calls doublets. ``random_state`` seeds the network's decoding
    (``seed``: its deprecated spelling).
    """
    random_state = renamed("denoise", "seed", "random_state", seed, random_state, default=0)
    observed = check_matrix(observed)
    rates = None
    estimated = None
    start_rates = time.perf_counter()
    if fp is None or fn is None:
        rates, estimated = estimate_rates(observed, fp=INITIAL_FP if fp is None else fp,
                                          fn=INITIAL_FN if fn is None else fn, doublet_rate=doublet_rate,
                                          clone_penalty=clone_penalty)
        fp, fn, doublet_rate = rates.fp, rates.fn, rates.doublet
    check_rates(fp, fn)
    start = time.perf_counter()
    network_matrix = None
    n_conflicts = None
    if network is not False:
        net = load_network() if network is True else network
        network_matrix = network_flips(net, observed, fp, fn, decoding=decoding,
                                       n_candidates=n_candidates, random_state=random_state)
        n_conflicts = len(conflicting_pairs(network_matrix))
    middle = time.perf_counter()
    # the repair from the observation (under estimated rates: the last C-step already is that repair)
    result = estimated if estimated is not None else repair(observed, fp, fn, clone_penalty=clone_penalty,
                                                            doublet_rate=doublet_rate)
    network_start_kept = False
    if network_matrix is not None:
        from_network = repair(observed, fp, fn, initial=network_matrix, clone_penalty=clone_penalty,
                              doublet_rate=doublet_rate)
        network_start_kept = _objective(from_network, clone_penalty) > _objective(result, clone_penalty)
        result = from_network if network_start_kept else result
    end = time.perf_counter()
    filled = np.where(observed == MISSING, 0, observed)
    base = network_matrix if network_start_kept else filled
    return DenoiseResult(
        matrix=result.matrix, network_matrix=network_matrix, network_conflicts=n_conflicts,
        n_network_flips=0 if network_matrix is None else int((network_matrix != filled).sum()),
        n_repair_changes=int((result.matrix != base).sum()), log_likelihood=result.log_likelihood,
        n_clones=result.n_clones, seconds_network=middle - start, seconds_repair=end - middle, fp=fp, fn=fn,
        doublets=result.doublets, rates=rates, seconds_rates=start - start_rates,
        network_start_kept=network_start_kept)


def _objective(result: RepairResult, clone_penalty: float) -> float:
    """The penalised log-likelihood the repair maximises (:mod:`.repair`)."""
    return result.log_likelihood - clone_penalty * result.n_clones
