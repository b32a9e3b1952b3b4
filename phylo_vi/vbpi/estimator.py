"""``VBPI``: fit q_φ(τ) q_ψ(b | τ) to the posterior of a phylogenetic model (estimator style).

Training follows ``zcrabbit/vbpi-torch:unrooted/main.py`` and ``vbpi.py`` (spec
``sbn_vbpi.md`` §4): K = 10 particles; Adam with learning rate 0.001 for both families, multiplied
by 0.75 every 20,000 iterations; the likelihood annealed with β = min(1, 0.001 + t/100,000);
φ-gradients by VIMCO or RWS, ψ-gradients by reparameterisation (:mod:`phylo_vi.vbpi.objectives`).
"""
from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch

from phylo_vi.alignment import SitePatterns
from phylo_vi.base import (COUNT, NON_NEGATIVE, POSITIVE, PROBABILITY_LEVEL, RANDOM_STATE, SAMPLE_SIZE, Estimator,
                           InstanceOf, Interval, Options, check_is_fitted)
from phylo_vi.errors import PhyloVIError
from phylo_vi.likelihood import SubstitutionModel
from phylo_vi.sbn.edges import unrooted_edge_tables
from phylo_vi.trees.arrays import TreeArrays
from phylo_vi.sbn.kl import kl_divergence
from phylo_vi.sbn.support import SubsplitSupport, build_support
from phylo_vi.sbn.unrooted import SubsplitBayesianNetwork
from phylo_vi.trees.taxa import TaxonNamespace
from phylo_vi.trees.tree import Tree
from phylo_vi.vbpi.branch import INITIAL_LOG_STD
from phylo_vi.vbpi.checkpoint import load_checkpoint, save_checkpoint
from phylo_vi.vbpi.evaluation import Evaluation, evaluate
from phylo_vi.vbpi.model import PhylogeneticModel
from phylo_vi.vbpi.canonical import ROOTINGS
from phylo_vi.vbpi.objectives import ESTIMATORS, inverse_temperature, surrogate
from phylo_vi.vbpi.output import draw_trees
from phylo_vi.vbpi.posterior import BRANCH_MODELS, VariationalPosterior
from phylo_vi.vbpi.set_estimators import SET_ESTIMATORS, set_objective
from phylo_vi.vbpi.support import DEFAULT_LEVEL, support_sample

TRACE_COLUMNS = ("iteration", "beta", "learning_rate", "bound", "max_log_likelihood", "kl")

#: Hyperparameters that must agree between a checkpoint and the run that resumes it.
_RESUME_KEYS = ("model", "prior_rate", "n_particles", "estimator", "psp", "branch_model", "flow_layers", "gnn_hidden",
                "gnn_layers", "learning_rate", "branch_learning_rate", "lr_decay", "lr_decay_every", "initial_beta",
                "warm_up", "kl_every", "warm_start", "warm_start_alpha", "rooting")
#: Resume settings added after checkpoints were first written, with the value an older checkpoint implies.
_SETTINGS_ADDED_LATER = {"rooting": None}


class VBPI(Estimator):
    """Variational Bayesian phylogenetic inference (Zhang & Matsen, ICLR 2019).

    Parameters
    ----------
    model : substitution model of the likelihood engine or an IQ-TREE model string (JC69 default).
    prior_rate : rate λ of the i.i.d. Exponential branch-length prior (10: mean 0.1).
    n_particles : K, particles per iteration.
    estimator : φ-gradients by ``"vimco"`` or ``"rws"`` (K-sample bound), or by ``"unordered-set"`` or
        ``"sum-and-sample"`` (the ELBO over K distinct topologies, :mod:`phylo_vi.vbpi.set_estimators`).
    rooting : ``"all"`` (VBPI's SBN, a sum over rootings) or ``"canonical"`` (rooted at taxon 0's
        pendant edge, :mod:`phylo_vi.vbpi.canonical`); ``None``: canonical for the two set
        estimators, which need it, else all.
    psp : primary-subsplit-pair features in the branch-length model.
    initial_log_std : log σ of an edge's log length before training (split rows of the log-normal
        families; −1, σ ≈ 0.37; vbpi-torch starts at 0): edges that training seldom reaches keep it
        (:mod:`phylo_vi.vbpi.branch`).
    branch_model, flow_layers, gnn_hidden, gnn_layers : ``"lognormal"`` (VBPI), ``"planar"`` (VBPI-NF:
        ``flow_layers`` permutation-equivariant planar layers on top,
        :class:`~phylo_vi.vbpi.branch.PlanarFlowBranchModel`), ``"realnvp"`` (VBPI-NF: ``flow_layers``
        RealNVP couplings, :class:`~phylo_vi.vbpi.realnvp.RealNVPBranchModel`; VBPI-NF uses 5) or ``"gnn"`` (VBPI-GNN: ``gnn_layers``
        EdgeConv layers of width ``gnn_hidden``, :class:`~phylo_vi.vbpi.gnn.GNNBranchModel`).
    learning_rate, lr_decay, lr_decay_every : Adam step size, multiplied by ``lr_decay`` every
        ``lr_decay_every`` iterations.
    branch_learning_rate : step size of the branch-length parameters (default ``learning_rate``;
        VBPI-NF uses 3e-4 with 16 planar layers), decayed alike.
    initial_beta, warm_up : β₀ and the length of the linear warm-up of the likelihood.
    support_level : each support sample contributes its most frequent trees up to this mass.
    warm_start : ``"em"`` (default) starts q_φ at SBN-EM-α (``warm_start_alpha``) fitted to the support
        sample (:func:`~phylo_vi.vbpi.support.support_sample`); ``None`` at uniform CPDs, as vbpi-torch.
        On DS1 (UFBoot support, seed 1) the EM start reaches vbpi-torch's final KL of 0.0739 after
        about 107k iterations and 0.055 at 200k; from uniform CPDs the KL is still 0.075 at 200k.
    kl_every : iterations between KL(golden ‖ q_φ) values in the trace (when golden is given).
    plateau_window, plateau_tol : stop early (0: never) once β = 1 when the mean training bound of
        the last ``plateau_window`` iterations exceeds that of the window before by less than
        ``plateau_tol`` nats (checked every ``plateau_window`` iterations).
    checkpoint_every, checkpoint_path : write a checkpoint every so many iterations (0: never)
        and at the end of :meth:`fit` (when a path is given).
    device, backend : torch device of q and of the likelihood; ``backend`` ``"numba"`` (default on
        the CPU) or ``"torch"`` (the engine's torch twin; default on other devices, e.g. CUDA).
    threads : likelihoods of distinct topologies evaluated concurrently (results do not depend on it).
    random_state : int seed or numpy Generator (None: a seed is drawn; the seed is recorded in ``seed_``).

    Attributes
    ----------
    taxa_ : taxa of the support trees.
    support_ : the :class:`~phylo_vi.sbn.support.SubsplitSupport` of q_φ.
    posterior_ : :class:`VariationalPosterior`, q_φ(τ) q_ψ(b | τ).
    model_ : :class:`PhylogeneticModel`, likelihood and prior.
    trace_ : dict of arrays, one value per iteration (:data:`TRACE_COLUMNS`).
    distribution_ : q_φ as a fitted :class:`SubsplitBayesianNetwork`.
    n_iter_ : iterations trained (counted from the start of the run).
    seed_ : the integer seed of the run.
    seconds_, cpu_seconds_ : wall and process CPU time of the training in the last :meth:`fit` call.
    stopped_on_plateau_ : whether the last :meth:`fit` call stopped on the plateau rule.
    """

    parameter_constraints = {
        "model": [InstanceOf((str, SubstitutionModel))], "prior_rate": POSITIVE,
        "n_particles": [Interval(int, 2)], "estimator": [Options(ESTIMATORS + SET_ESTIMATORS)],
        "rooting": [None, Options(ROOTINGS)], "psp": [InstanceOf((bool,))], "initial_log_std": [Interval(float)],
        "branch_model": [Options(BRANCH_MODELS)], "flow_layers": COUNT, "gnn_hidden": COUNT,
        "gnn_layers": COUNT, "learning_rate": POSITIVE, "branch_learning_rate": [None, *POSITIVE],
        "lr_decay": [Interval(float, 0.0, 1.0, closed="right")], "lr_decay_every": COUNT,
        "initial_beta": [Interval(float, 0.0, 1.0, closed="right")], "warm_up": SAMPLE_SIZE,
        "support_level": PROBABILITY_LEVEL, "warm_start": [None, Options(("em",))], "warm_start_alpha": NON_NEGATIVE,
        "kl_every": SAMPLE_SIZE, "plateau_window": SAMPLE_SIZE, "plateau_tol": NON_NEGATIVE,
        "checkpoint_every": SAMPLE_SIZE, "checkpoint_path": [None, InstanceOf((str, os.PathLike))],
        "device": [InstanceOf((str, torch.device))], "backend": [None, Options(("numba", "torch"))],
        "threads": COUNT, "random_state": RANDOM_STATE,
    }

    def __init__(self, *, model: SubstitutionModel | str = "JC", prior_rate: float = 10.0, n_particles: int = 10,
                 estimator: str = "vimco", rooting: str | None = None, psp: bool = True,
                 initial_log_std: float = INITIAL_LOG_STD, branch_model: str = "lognormal", flow_layers: int = 16,
                 gnn_hidden: int = 100, gnn_layers: int = 2,
                 learning_rate: float = 1e-3, branch_learning_rate: float | None = None, lr_decay: float = 0.75,
                 lr_decay_every: int = 20_000, initial_beta: float = 0.001, warm_up: int = 100_000,
                 support_level: float = DEFAULT_LEVEL, warm_start: str | None = "em", warm_start_alpha: float = 1e-4,
                 kl_every: int = 1000, plateau_window: int = 0, plateau_tol: float = 0.01, checkpoint_every: int = 0,
                 checkpoint_path: str | Path | None = None, device: str = "cpu", backend: str | None = None,
                 threads: int = 1, random_state: int | None = None):
        self.model = model
        self.prior_rate = prior_rate
        self.n_particles = n_particles
        self.estimator = estimator
        self.rooting = rooting
        self.psp = psp
        self.initial_log_std = initial_log_std
        self.branch_model = branch_model
        self.flow_layers = flow_layers
        self.gnn_hidden = gnn_hidden
        self.gnn_layers = gnn_layers
        self.learning_rate = learning_rate
        self.branch_learning_rate = branch_learning_rate
        self.lr_decay = lr_decay
        self.lr_decay_every = lr_decay_every
        self.initial_beta = initial_beta
        self.warm_up = warm_up
        self.support_level = support_level
        self.warm_start = warm_start
        self.warm_start_alpha = warm_start_alpha
        self.kl_every = kl_every
        self.plateau_window = plateau_window
        self.plateau_tol = plateau_tol
        self.checkpoint_every = checkpoint_every
        self.checkpoint_path = checkpoint_path
        self.device = device
        self.backend = backend
        self.threads = threads
        self.random_state = random_state

    # ----------------------------------------------------------------------------- checks
    def _check_params(self) -> None:
        self.validate_params()
        if self.checkpoint_every and self.checkpoint_path is None:
            raise PhyloVIError("checkpoint_every needs a checkpoint_path")
        if self.estimator in SET_ESTIMATORS and self.rooting == "all":
            raise PhyloVIError(f"the {self.estimator} estimator needs rooting='canonical' (a sequential SBN)")

    def run_params(self) -> dict:
        """Hyperparameters of the run as a checkpoint and the JSON summary record them (model as a
        string; those a checkpoint must agree with to be resumed among them)."""
        model = self.model if isinstance(self.model, str) else self.model.to_iqtree()
        return {"model": model, "prior_rate": self.prior_rate, "n_particles": self.n_particles,
                "estimator": self.estimator, "rooting": self.rooting, "psp": self.psp,
                "initial_log_std": self.initial_log_std,
                "branch_model": self.branch_model,
                "flow_layers": self.flow_layers, "gnn_hidden": self.gnn_hidden, "gnn_layers": self.gnn_layers,
                "learning_rate": self.learning_rate,
                "branch_learning_rate": self.branch_learning_rate,
                "lr_decay": self.lr_decay, "lr_decay_every": self.lr_decay_every,
                "initial_beta": self.initial_beta, "warm_up": self.warm_up, "kl_every": self.kl_every,
                "warm_start": self.warm_start, "warm_start_alpha": self.warm_start_alpha,
                "device": str(self.device), "backend": self.backend, "threads": self.threads}

    # ------------------------------------------------------------------------------- fit
    def fit(self, patterns: SitePatterns, samples: Sequence[TreeArrays] | TreeArrays | None, n_iter: int, *,
            golden: tuple[TreeArrays, np.ndarray] | None = None, resume: str | Path | None = None,
            callback: Callable[[int, dict], None] | None = None) -> "VBPI":
        """Train for iterations up to ``n_iter`` (counted from the start of the run).

        ``samples``: tree samples of the support (one per file; each contributes its
        ``support_level`` most frequent trees); ignored with ``resume`` (the checkpoint's support is
        used); ``None`` on a fitted instance continues its run in memory. ``golden``: reference
        topologies and probabilities for the KL trace.
        ``callback(iteration, record)`` is called after every iteration (progress bars).
        """
        self._check_params()
        if resume is not None:
            self._restore(load_checkpoint(resume), patterns)
        elif samples is not None:
            self._start(patterns, [samples] if isinstance(samples, TreeArrays) else list(samples))
        elif not hasattr(self, "posterior_"):
            raise PhyloVIError("give tree samples for the support, or a checkpoint to resume")
        if n_iter < self.n_iter_:
            raise PhyloVIError(f"the run is already at iteration {self.n_iter_}; n_iter={n_iter} is behind it")
        started, cpu_started = time.perf_counter(), time.process_time()
        self.stopped_on_plateau_ = False
        for iteration in range(self.n_iter_ + 1, n_iter + 1):
            record = self._step(iteration, golden)
            self.n_iter_ = iteration
            if self.checkpoint_every and iteration % self.checkpoint_every == 0:
                self.save_checkpoint(self.checkpoint_path)
            if callback is not None:
                callback(iteration, record)
            if self._on_plateau(iteration):
                self.stopped_on_plateau_ = True
                break
        self.seconds_ = time.perf_counter() - started
        self.cpu_seconds_ = time.process_time() - cpu_started
        if self.checkpoint_path is not None:
            self.save_checkpoint(self.checkpoint_path)
        return self

    def _start(self, patterns: SitePatterns, samples: list[TreeArrays]) -> None:
        if self.random_state is None:
            self.seed_ = int(np.random.SeedSequence().entropy % (2**63))
        elif isinstance(self.random_state, np.random.Generator):
            self.seed_ = int(self.random_state.integers(2**63))
        else:
            self.seed_ = int(self.random_state)
        self.taxa_ = samples[0].taxa
        sample = support_sample(samples, self.support_level)
        self.support_ = build_support(unrooted_edge_tables(sample))[0]
        self._build(patterns)
        if self.warm_start == "em":
            network = SubsplitBayesianNetwork(method="em", alpha=self.warm_start_alpha).fit(sample)
            self.posterior_.topology.warm_start(network)
        self.n_iter_ = 0
        self._trace = {name: [] for name in TRACE_COLUMNS}

    def _build(self, patterns: SitePatterns) -> None:
        self.model_ = PhylogeneticModel(patterns, self.taxa_, self.model, prior_rate=self.prior_rate,
                                        device=self.device, backend=self.backend, threads=self.threads)
        generator = torch.Generator().manual_seed(self.seed_)
        self.posterior_ = VariationalPosterior(self.support_, self.taxa_, psp=self.psp, branch_model=self.branch_model,
                                               flow_layers=self.flow_layers, gnn_hidden=self.gnn_hidden,
                                               gnn_layers=self.gnn_layers, rooting=self._rooting,
                                               initial_log_std=self.initial_log_std, generator=generator)
        self.posterior_.to(self.device)
        self._optimizer = torch.optim.Adam([
            {"params": self.posterior_.topology.parameters(), "lr": self.learning_rate},
            {"params": self.posterior_.branch.parameters(), "lr": self._branch_learning_rate}])
        self._rng = np.random.default_rng(np.random.SeedSequence(self.seed_, spawn_key=(0,)))

    def _restore(self, state: dict, patterns: SitePatterns) -> None:
        written = {**_SETTINGS_ADDED_LATER, **state["params"]}
        mismatched = [key for key in _RESUME_KEYS if key not in written or written[key] != self.run_params()[key]]
        if mismatched:
            raise PhyloVIError(f"the checkpoint was written with other settings: {', '.join(mismatched)}")
        self.seed_ = int(state["seed"])
        self.taxa_ = TaxonNamespace(state["taxa"])
        self.support_ = SubsplitSupport.from_dict(state["support"])
        self._build(patterns)
        self.posterior_.load_state_dict(state["posterior"])
        self._optimizer.load_state_dict(state["optimizer"])
        self._rng.bit_generator.state = state["rng"]
        self.n_iter_ = int(state["iteration"])
        self._trace = {name: list(values) for name, values in state["trace"].items()}

    @property
    def _rooting(self) -> str:
        if self.rooting is not None:
            return self.rooting
        return "canonical" if self.estimator in SET_ESTIMATORS else "all"

    @property
    def _branch_learning_rate(self) -> float:
        return self.learning_rate if self.branch_learning_rate is None else self.branch_learning_rate

    def _on_plateau(self, iteration: int) -> bool:
        """The stopping rule of ``plateau_window`` / ``plateau_tol`` (class docstring)."""
        window = self.plateau_window
        if not window or iteration % window or iteration < 2 * window or self._trace["beta"][-2 * window] < 1.0:
            return False
        bounds = self._trace["bound"]
        return float(np.mean(bounds[-window:]) - np.mean(bounds[-2 * window:-window])) < self.plateau_tol

    def _step(self, iteration: int, golden) -> dict:
        beta = inverse_temperature(iteration, initial=self.initial_beta, warm_up=self.warm_up)
        decay = self.lr_decay ** ((iteration - 1) // self.lr_decay_every)
        learning_rate = self.learning_rate * decay
        topology_group, branch_group = self._optimizer.param_groups
        topology_group["lr"], branch_group["lr"] = learning_rate, self._branch_learning_rate * decay
        if self.estimator in SET_ESTIMATORS:
            objective = set_objective(self.estimator, self.posterior_, self.model_, self.n_particles, beta, self._rng)
            loss, particles, bound = -objective.surrogate, objective.particles, objective.estimate
        else:
            _, particles = self.posterior_.draw(self.model_, self.n_particles, self._rng)
            loss, bound = -surrogate(particles, beta, self.estimator), particles.bound()
        self._optimizer.zero_grad()
        loss.backward()
        self._optimizer.step()
        kl = float("nan")
        if golden is not None and self.kl_every and iteration % self.kl_every == 0:
            kl = kl_divergence(self.distribution_, *golden).kl
        record = {"iteration": iteration, "beta": beta, "learning_rate": learning_rate, "bound": bound,
                  "max_log_likelihood": float(particles.log_likelihood.detach().max()), "kl": kl}
        for name in TRACE_COLUMNS:
            self._trace[name].append(record[name])
        return record

    # --------------------------------------------------------------------------- results
    def _check_fitted(self) -> None:
        check_is_fitted(self)

    @property
    def trace_(self) -> dict[str, np.ndarray]:
        self._check_fitted()
        return {name: np.asarray(values) for name, values in self._trace.items()}

    @property
    def distribution_(self) -> SubsplitBayesianNetwork:
        """q_φ as a fitted SBN (log_prob, sampling, credible sets, KL)."""
        self._check_fitted()
        return self.posterior_.topology.distribution()

    def evaluate(self, *, n_runs: int = 1000, n_is_particles: int = 1000, n_is_repeats: int = 10,
                 golden: tuple[TreeArrays, np.ndarray] | None = None) -> Evaluation:
        """ELBO, 10-sample bound, IS marginal likelihood and KL (:mod:`phylo_vi.vbpi.evaluation`).

        Draws from its own generator (seeded from ``seed_`` and ``n_iter_``), so evaluating does not
        change the training sequence.
        """
        self._check_fitted()
        rng = np.random.default_rng(np.random.SeedSequence(self.seed_, spawn_key=(1, self.n_iter_)))
        return evaluate(self.posterior_, self.model_, rng, n_runs=n_runs, n_is_particles=n_is_particles,
                        n_is_repeats=n_is_repeats, golden=golden)

    def sample_trees(self, n: int) -> list[Tree]:
        """``n`` trees with branch lengths from q (:mod:`phylo_vi.vbpi.output`), from their own generator."""
        self._check_fitted()
        rng = np.random.default_rng(np.random.SeedSequence(self.seed_, spawn_key=(2, self.n_iter_)))
        return draw_trees(self.posterior_, n, rng)

    @classmethod
    def from_checkpoint(cls, path: str | Path, patterns: SitePatterns) -> "VBPI":
        """The run saved in a checkpoint, ready to evaluate or to continue (:meth:`fit` with ``samples=None``)."""
        state = load_checkpoint(path)
        estimator = cls(**state["params"], random_state=int(state["seed"]))
        estimator._restore(state, patterns)
        estimator.seconds_ = estimator.cpu_seconds_ = 0.0
        return estimator

    def save_checkpoint(self, path: str | Path) -> None:
        """Write the run's state (:mod:`phylo_vi.vbpi.checkpoint`)."""
        self._check_fitted()
        save_checkpoint(path, {"iteration": self.n_iter_, "params": self.run_params(), "seed": self.seed_,
                               "taxa": list(self.taxa_), "support": self.support_.to_dict(),
                               "posterior": self.posterior_.state_dict(),
                               "optimizer": self._optimizer.state_dict(), "rng": self._rng.bit_generator.state,
                               "trace": self._trace})
