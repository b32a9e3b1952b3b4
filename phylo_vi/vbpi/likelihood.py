"""Log-likelihoods and branch gradients of a batch of sampled topologies, carried into torch.

The Numba engine (:class:`~phylo_vi.likelihood.TreeLikelihood`) evaluates one topology for
many branch-length rows in one kernel call (``gradient_batch``: log L and d log L / d b by one
post-order and one pre-order pass, Ji et al. 2020, Mol. Biol. Evol. 37:3047). A VBPI batch of
``K`` trees is grouped by topology (:mod:`phylo_vi.vbpi.batch`), so there is one kernel call per
*distinct* topology and none per tree or site; the likelihood objects (their plans hold the
topology and its site classes) are kept in a least-recently-used cache keyed by the topology,
because q_φ concentrates on few topologies once trained.

:func:`log_likelihood` is the ``torch.autograd.Function`` that puts the engine into the torch
graph: its input is log b (``(K, E)``, the reparameterised variable of VBPI) and its backward is
``grad_out · b · d log L / d b`` (chain rule through b = exp(log b)).

:class:`TorchTopologyLikelihoods` is the same grouping over the engine's torch twin
(:class:`~phylo_vi.likelihood.torch_backend.TorchTreeLikelihood`, autograd, any device): the
path for CUDA, and a second implementation that the tests compare with the Numba one.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch

from phylo_vi.alignment import SitePatterns
from phylo_vi.errors import PhyloVIError
from phylo_vi.likelihood import SubstitutionModel, TreeLikelihood, resolve_model
from phylo_vi.likelihood.torch_backend import TorchTreeLikelihood
from phylo_vi.sbn.edges import unrooted_edge_tables
from phylo_vi.trees.taxa import TaxonNamespace
from phylo_vi.trees.tree import Tree
from phylo_vi.vbpi.batch import TopologyBatch, canonical_tree, edge_split_keys

#: Likelihood objects kept (least recently used dropped); one DS1 plan (934 patterns) takes about 0.84 MB.
DEFAULT_CACHE_SIZE = 256


class _TopologyCache(ABC):
    """Likelihood objects of the topologies met so far (LRU), and the grouping of a batch by topology."""

    def __init__(self, patterns: SitePatterns, taxa: TaxonNamespace, model: SubstitutionModel | str,
                 cache_size: int):
        if cache_size < 1:
            raise PhyloVIError(f"cache_size must be at least 1, got {cache_size}")
        self.patterns = patterns.match_taxa(taxa)
        self.model = resolve_model(model, self.patterns)
        self.cache_size = int(cache_size)
        self._cache: OrderedDict[bytes, tuple] = OrderedDict()
        self.n_plans_built = 0

    @abstractmethod
    def _build(self, tree: Tree):
        """The likelihood object of one topology (Numba engine or torch twin)."""

    def _likelihood(self, batch: TopologyBatch, row: int) -> tuple:
        """Cached likelihood of the topology of tree ``row`` (built on its canonical node order) and
        the rank of each of its branches in split-key order."""
        key = batch.topology_keys[row]
        entry = self._cache.get(key)
        if entry is not None:
            self._cache.move_to_end(key)
            return entry
        tree = canonical_tree(batch.arrays.tree(row))
        likelihood = self._build(tree)
        tables = unrooted_edge_tables([tree], normalize=False, deduplicate=False)
        rank = np.empty(batch.n_edges, dtype=np.int64)
        rank[np.argsort(edge_split_keys(tables)[0], kind="stable")] = np.arange(batch.n_edges)
        self._cache[key] = entry = (likelihood, rank)
        self.n_plans_built += 1
        if len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return entry

    def _groups(self, batch: TopologyBatch):
        """``(likelihood, rows, gather (R, E))`` per distinct topology: ``lengths[rows[:, None], gather]``
        are the lengths of those rows in the branch order of the cached likelihood."""
        _, first, inverse = np.unique(np.array(batch.topology_keys), return_index=True, return_inverse=True)
        order = np.argsort(inverse, kind="stable")
        bounds = np.searchsorted(inverse[order], np.arange(len(first) + 1))
        for group, start in enumerate(first):
            rows = order[bounds[group]:bounds[group + 1]]
            likelihood, rank = self._likelihood(batch, int(start))
            yield likelihood, rows, batch.canonical_order[rows][:, rank]



class TopologyLikelihoods(_TopologyCache):
    """log L and its branch gradient for batches of topologies on one alignment (Numba engine).

    Parameters
    ----------
    patterns : site patterns of the alignment (rows matched to ``taxa`` by name).
    taxa : the taxon namespace of the sampled trees.
    model : any substitution model of the engine, or an IQ-TREE model string (default JC69).
    cache_size : number of topologies whose likelihood objects are kept.
    site_repeats : passed to :class:`TreeLikelihood` (compact subtrees evaluated once per site class).
    threads : distinct topologies evaluated concurrently (the kernels release the GIL; every
        likelihood object has its own work buffers); the values do not depend on it.
    """

    def __init__(self, patterns: SitePatterns, taxa: TaxonNamespace, model: SubstitutionModel | str = "JC", *,
                 cache_size: int = DEFAULT_CACHE_SIZE, site_repeats: bool = True, threads: int = 1):
        super().__init__(patterns, taxa, model, cache_size)
        if threads < 1:
            raise PhyloVIError(f"threads must be at least 1, got {threads}")
        self.site_repeats = site_repeats
        self.threads = int(threads)
        self._pool = ThreadPoolExecutor(max_workers=self.threads) if self.threads > 1 else None

    def _map(self, evaluate, batch: TopologyBatch) -> list:
        """``evaluate(likelihood, rows, gather)`` for every distinct topology, on ``threads`` threads."""
        groups = list(self._groups(batch))
        if self._pool is None or len(groups) == 1:
            return [evaluate(*group) for group in groups]
        return list(self._pool.map(lambda group: evaluate(*group), groups))

    def _build(self, tree: Tree) -> TreeLikelihood:
        return TreeLikelihood(self.patterns, tree, self.model, site_repeats=self.site_repeats)

    def _check(self, batch: TopologyBatch, lengths: np.ndarray) -> np.ndarray:
        lengths = np.asarray(lengths, dtype=np.float64)
        if lengths.shape != (len(batch), batch.n_edges):
            raise PhyloVIError(f"expected branch lengths of shape {(len(batch), batch.n_edges)}, got {lengths.shape}")
        return lengths

    def log_likelihoods(self, batch: TopologyBatch, lengths: np.ndarray) -> np.ndarray:
        """log L of every tree, ``(K,)``; ``lengths (K, E)`` in each tree's edge order."""
        lengths = self._check(batch, lengths)
        values = np.empty(len(batch))

        def evaluate(likelihood, rows, gather):
            values[rows] = likelihood.log_likelihood_batch(lengths[rows[:, None], gather])

        self._map(evaluate, batch)
        return values

    def gradients(self, batch: TopologyBatch, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(log L (K,), d log L / d b (K, E))``, both in each tree's own edge order."""
        lengths = self._check(batch, lengths)
        values = np.empty(len(batch))
        gradients = np.empty_like(lengths)

        def evaluate(likelihood, rows, gather):
            values[rows], gradients[rows[:, None], gather] = likelihood.gradient_batch(lengths[rows[:, None], gather])

        self._map(evaluate, batch)
        return values, gradients


class TorchTopologyLikelihoods(_TopologyCache):
    """The same batches through the torch twin on ``device`` (gradients by autograd)."""

    def __init__(self, patterns: SitePatterns, taxa: TaxonNamespace, model: SubstitutionModel | str = "JC", *,
                 device: torch.device | str = "cpu", cache_size: int = DEFAULT_CACHE_SIZE):
        super().__init__(patterns, taxa, model, cache_size)
        self.device = torch.device(device)

    def _build(self, tree: Tree) -> TorchTreeLikelihood:
        return TorchTreeLikelihood(self.patterns, tree, self.model, device=self.device)

    def log_likelihood(self, batch: TopologyBatch, log_branch: torch.Tensor) -> torch.Tensor:
        """``(K,)`` log L at ``exp(log_branch)`` (differentiable; on the twin's device)."""
        lengths = log_branch.to(self.device).exp()
        values = []
        order = []
        for likelihood, rows, gather in self._groups(batch):
            index = torch.as_tensor(rows, device=self.device)
            gather = torch.as_tensor(gather, device=self.device)
            values.append(likelihood.log_likelihood(lengths[index[:, None], gather]))
            order.append(index)
        return torch.cat(values)[torch.argsort(torch.cat(order))].to(log_branch.device)


class _LogLikelihood(torch.autograd.Function):
    """log L(τ_k, exp(log b_k)) for every tree, differentiable in log b (module docstring)."""

    @staticmethod
    def forward(ctx, log_branch: torch.Tensor, likelihoods: TopologyLikelihoods, batch: TopologyBatch):
        lengths = log_branch.detach().exp().cpu().numpy()
        values, gradients = likelihoods.gradients(batch, lengths)
        ctx.save_for_backward(torch.as_tensor(gradients * lengths, dtype=log_branch.dtype, device=log_branch.device))
        return torch.as_tensor(values, dtype=log_branch.dtype, device=log_branch.device)

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor):
        (by_log_branch,) = ctx.saved_tensors
        return grad_output[:, None] * by_log_branch, None, None


def log_likelihood(log_branch: torch.Tensor, likelihoods: TopologyLikelihoods, batch: TopologyBatch) -> torch.Tensor:
    """``(K,)`` log L of the batch at branch lengths ``exp(log_branch)``; gradients flow to ``log_branch``."""
    if isinstance(likelihoods, TorchTopologyLikelihoods):
        return likelihoods.log_likelihood(batch, log_branch)
    if not log_branch.requires_grad:
        lengths = log_branch.detach().exp().cpu().numpy()
        values = likelihoods.log_likelihoods(batch, lengths)
        return torch.as_tensor(values, dtype=log_branch.dtype, device=log_branch.device)
    return _LogLikelihood.apply(log_branch, likelihoods, batch)
