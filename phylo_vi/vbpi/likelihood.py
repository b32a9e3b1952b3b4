"""Log-likelihoods and branch gradients of a batch of sampled topologies, carried into torch.

The Numba engine prunes every tree of a VBPI batch of ``K`` trees in one kernel call
(:class:`TopologyLikelihoods`: log L and d log L / d b by one post-order and one pre-order pass
per tree, Ji et al. 2020, Mol. Biol. Evol. 37:3047): the trees share one plan's model arrays and
work buffers and bring their own topology arrays, so there is no Python work per tree or site
and nothing is built per topology.

:func:`log_likelihood` is the ``torch.autograd.Function`` that puts the engine into the torch
graph: its input is log b (``(K, E)``, the reparameterised variable of VBPI) and its backward is
``grad_out · b · d log L / d b`` (chain rule through b = exp(log b)).

:class:`TorchTopologyLikelihoods` evaluates the batch with the engine's torch twin
(:class:`~phylo_vi.likelihood.torch_backend.TorchTreeLikelihood`, autograd, any device), one
call per *distinct* topology (the batch grouped by its split keys, :mod:`phylo_vi.vbpi.batch`),
the twins kept in a least-recently-used cache: the path for CUDA, and a second implementation
that the tests compare with the Numba one.
"""
from __future__ import annotations

from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch
from numba import njit

from phylo_vi.alignment import SitePatterns
from phylo_vi.errors import PhyloVIError
from phylo_vi.likelihood import SubstitutionModel, kernels, resolve_model
from phylo_vi.likelihood.plan import Plan, build_plan
from phylo_vi.likelihood.torch_backend import TorchTreeLikelihood
from phylo_vi.sbn.edges import unrooted_edge_tables
from phylo_vi.trees.taxa import TaxonNamespace
from phylo_vi.trees.tree import Tree
from phylo_vi.vbpi.batch import TopologyBatch, canonical_tree, edge_split_keys

#: Torch twins kept (least recently used dropped).
DEFAULT_CACHE_SIZE = 256


@njit(cache=True, nogil=True)
def topology_rows(parent: np.ndarray, taxon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The topology fields of a likelihood plan for every post-order tree (``parent``, ``taxon``
    (K, N)): ``(topologies (3, K, N + 1), slots (K, N))``, the arguments of the engine's
    ``TOPOLOGIES`` modes.

    Rows of ``topologies``: CSR child offsets, child nodes (children of a node by increasing index,
    as :attr:`~phylo_vi.trees.tree.Tree.child_nodes`), leaf rows (the taxon, -1 inside); ``slots``
    are the partial buffers of :func:`~phylo_vi.likelihood.plan.partial_slots` (a node takes the
    most recently freed slot, then frees its children's).
    """
    n_trees, n_nodes = parent.shape
    topologies = np.zeros((3, n_trees, n_nodes + 1), dtype=np.int32)
    topologies[2, :, :n_nodes] = taxon
    slots = np.full((n_trees, n_nodes), -1, dtype=np.int32)
    fill = np.empty(n_nodes, dtype=np.int64)
    free = np.empty(n_nodes, dtype=np.int32)
    for k in range(n_trees):
        offsets = topologies[0, k]
        for v in range(n_nodes - 1):
            offsets[parent[k, v] + 1] += 1
        for u in range(n_nodes):
            offsets[u + 1] += offsets[u]
            fill[u] = offsets[u]
        for v in range(n_nodes - 1):
            u = parent[k, v]
            topologies[1, k, fill[u]] = v
            fill[u] += 1
        n_free = 0
        n_slots = 0
        for u in range(n_nodes):
            if offsets[u + 1] == offsets[u]:
                continue
            if n_free > 0:
                n_free -= 1
                slots[k, u] = free[n_free]
            else:
                slots[k, u] = n_slots
                n_slots += 1
            for ci in range(offsets[u], offsets[u + 1]):
                child_slot = slots[k, topologies[1, k, ci]]
                if child_slot >= 0:
                    free[n_free] = child_slot
                    n_free += 1
    return topologies, slots


class TopologyLikelihoods:
    """log L and its branch gradient for batches of topologies on one alignment (Numba engine).

    Every tree of a batch is pruned in its own node order by one kernel call for the whole batch
    (the engine's ``TOPOLOGY_GRADIENTS`` mode: one plan's model arrays and work buffers, the
    topology fields of each tree from :func:`topology_rows`), so a new topology costs nothing
    beyond its pruning: no plan to build, no cache, and the values do not depend on which
    topologies came before (resumed runs repeat uninterrupted ones). Site classes
    (:mod:`phylo_vi.likelihood.site_repeats`) are not used: they belong to one topology, and
    building them costs several prunings of DS1.

    Parameters
    ----------
    patterns : site patterns of the alignment (rows matched to ``taxa`` by name).
    taxa : the taxon namespace of the sampled trees.
    model : any substitution model of the engine, or an IQ-TREE model string (default JC69).
    threads : the trees of a batch split over this many threads (the kernels release the GIL; each
        thread has its own work buffers); the values do not depend on it.
    """

    def __init__(self, patterns: SitePatterns, taxa: TaxonNamespace, model: SubstitutionModel | str = "JC", *,
                 threads: int = 1):
        if threads < 1:
            raise PhyloVIError(f"threads must be at least 1, got {threads}")
        self.patterns = patterns.match_taxa(taxa)
        self.model = resolve_model(model, self.patterns)
        self.threads = int(threads)
        self._plans: list[Plan] = []
        self._pool = ThreadPoolExecutor(max_workers=self.threads) if self.threads > 1 else None

    def _shared_plans(self, batch: TopologyBatch) -> list[Plan]:
        """One plan per thread (its model arrays and work buffers), built on the first tree met,
        with a partial slot for every node so that every tree's slots fit."""
        while len(self._plans) < self.threads:
            plan = build_plan(batch.arrays.tree(0), self.patterns.codes, self.patterns.weights, self.model,
                              site_repeats=False)
            self._plans.append(plan._replace(post=np.zeros((1, plan.tip_row.shape[0]) + plan.post.shape[2:])))
        return self._plans

    def _check(self, batch: TopologyBatch, lengths: np.ndarray) -> np.ndarray:
        lengths = np.ascontiguousarray(lengths, dtype=np.float64)
        if lengths.shape != (len(batch), batch.n_edges):
            raise PhyloVIError(f"expected branch lengths of shape {(len(batch), batch.n_edges)}, got {lengths.shape}")
        return lengths

    def _evaluate(self, mode: int, batch: TopologyBatch, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(log L (K,), d log L / dt (K, E))`` (gradients only in mode ``TOPOLOGY_GRADIENTS``)."""
        lengths = self._check(batch, lengths)
        plans = self._shared_plans(batch)
        if batch.arrays.parent.shape[1] != plans[0].tip_row.shape[0]:
            raise PhyloVIError(f"trees of {batch.arrays.parent.shape[1]} nodes in a batch of a likelihood for trees of "
                               f"{plans[0].tip_row.shape[0]} nodes")
        topologies, slots = topology_rows(batch.arrays.parent, batch.arrays.taxon)
        values = np.empty(len(batch))
        gradients = np.zeros_like(lengths)
        n_categories = self.model.n_categories

        def run(plan: Plan, rows: slice) -> bool:
            return kernels.evaluate(mode, lengths[rows], values[rows], gradients[rows], np.empty(batch.n_edges),
                                    np.empty((batch.n_edges, n_categories)), False,
                                    np.ascontiguousarray(topologies[:, rows]), slots[rows], *plan)

        bounds = np.linspace(0, len(batch), len(plans) + 1).astype(int)
        chunks = [slice(lo, hi) for lo, hi in zip(bounds[:-1], bounds[1:]) if hi > lo]
        if self._pool is None or len(chunks) == 1:
            valid = all(run(plans[0], rows) for rows in chunks)
        else:
            valid = all(self._pool.map(run, plans, chunks))
        if not valid:
            raise PhyloVIError("branch lengths must be finite and non-negative")
        return values, gradients

    def log_likelihoods(self, batch: TopologyBatch, lengths: np.ndarray) -> np.ndarray:
        """log L of every tree, ``(K,)``; ``lengths (K, E)`` in each tree's edge order."""
        return self._evaluate(kernels.TOPOLOGIES, batch, lengths)[0]

    def gradients(self, batch: TopologyBatch, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(log L (K,), d log L / d b (K, E))``, both in each tree's own edge order."""
        return self._evaluate(kernels.TOPOLOGY_GRADIENTS, batch, lengths)


class TorchTopologyLikelihoods:
    """The same batches through the torch twin on ``device`` (gradients by autograd), one twin per
    distinct topology (built on its canonical node order) in a least-recently-used cache of
    ``cache_size``."""

    def __init__(self, patterns: SitePatterns, taxa: TaxonNamespace, model: SubstitutionModel | str = "JC", *,
                 device: torch.device | str = "cpu", cache_size: int = DEFAULT_CACHE_SIZE):
        if cache_size < 1:
            raise PhyloVIError(f"cache_size must be at least 1, got {cache_size}")
        self.patterns = patterns.match_taxa(taxa)
        self.model = resolve_model(model, self.patterns)
        self.device = torch.device(device)
        self.cache_size = int(cache_size)
        self._cache: OrderedDict[bytes, tuple] = OrderedDict()
        self.n_plans_built = 0

    def _build(self, tree: Tree) -> TorchTreeLikelihood:
        return TorchTreeLikelihood(self.patterns, tree, self.model, device=self.device)

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
