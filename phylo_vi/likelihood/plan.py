"""The *plan*: every array the Numba kernels need, as one named tuple of arrays.

``plan = build_plan(tree, codes, weights, model)`` is a :class:`Plan` (a ``typing.NamedTuple``:
Numba compiles ``plan.rates`` to the same static field load as a tuple index, fixed dtypes so
kernels compile once for every model and tree). Its fields, in order::

    0  child_offsets  int32 (N + 1,)    CSR children of post-order node u: child_nodes[o[u]:o[u+1]]
    1  child_nodes    int32 (N - 1,)
    2  tip_row        int32 (N,)        row of tip_codes for a leaf, -1 for internal nodes
    3  tip_codes      uint8 (T, P)      nucleotide bitmasks (A=1, C=2, G=4, T=8; 15 = missing)
    4  weights        f8 (P,)           pattern weights (column counts)
    5  invariant      f8 (P,)           p_inv * sum_i pi_i [state i allowed at every tip]
    6  freqs          f8 (4,)
    7  rates          f8 (K,)           category rates (gamma rates / (1 - p_inv))
    8  cat_weights    f8 (K,)           (1 - p_inv) / K
    9  values         f8 (4,)           eigenvalues of Q
    10 vectors        f8 (4, 4)         U, with Q = U diag(values) U^-1
    11 inverse        f8 (4, 4)         U^-1
    12 rate_matrix    f8 (4, 4)         Q (normalised)
    13 rate_matrix2   f8 (4, 4)         Q @ Q
    14 tips           uint8 (T, 4, P)     tip partials: 1 where the code allows the state (uint8: an
                                          eighth of the memory traffic of float64)
    15 pmats          f8 (W, N, K, 4, 4)  work: transition matrices
    16 post           f8 (W, M, K, 4, block) work: post-order partials of one block, M slots
    17 up             f8 (W, N, K, 4, block) work: messages P p_c of one block
    18 pre            f8 (W, N, K, 4, block) work: pre-order partials of one block
    19 site           f8 (W, 9, block)      work: log scalers, tree fractions, gradient sums
    20 qt             f8 (W, 1, K, 4, block) work: pre-order partial above the current branch
    21 numer          f8 (W, K, block)      work: per-category gradient numerators
    22 slot           int32 (N,)            buffer slot of each internal node's partial in ``post``
    23 node_classes   int32 (N,)            site classes of a node (0: none; the array is empty when
                                            the plan has none), :mod:`phylo_vi.likelihood.site_repeats`
    24 class_offsets  int32 (N,)            first class row of each node
    25 class_children int32 (C, 2)          class rows of the two children of a compact node's class
    26 class_codes    uint8 (C,)            code of a leaf's class
    27 boundary_row   int32 (N,)            row of ``pattern_class`` of a compact node under a dense one
    28 pattern_class  int32 (R, P)          class row of every pattern at those nodes
    29 messages       f8 (W, C, K, 4)       work: message P_u p_u of every class
    30 class_above    f8 (W, C, K, 4)       work: weighted pre-order partials summed by class (gradient)

Partials are stored states-by-patterns ((K, 4, block) per node) so that the pattern loops
are contiguous and vectorise.

N nodes, T rows of codes, P patterns, K categories, W work buffers (one per thread). A plan
belongs to one tree topology; the model arrays (5-13) can be swapped with :func:`with_model`.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from phylo_vi.errors import PhyloVIError
from phylo_vi.likelihood.models import SubstitutionModel
from phylo_vi.likelihood.site_repeats import no_site_classes, site_classes
from phylo_vi.trees.tree import Tree

#: Patterns per block: the live partials of a block (a few slots) stay in cache, and the
#: per-node loop overhead is spread over enough patterns (256 measured best of 32-1024).
DEFAULT_BLOCK = 256
#: Bytes allowed to the block buffers of the nodes (``post``, ``up``, ``pre``); a larger tree gets a
#: smaller block (at least ``MIN_BLOCK`` patterns: smaller blocks make the scattered reads of tip
#: rows dominate), so that a plan's memory stays linear in the number of nodes with a bounded
#: constant (a 100,000-taxon tree would otherwise reserve 1.6 GB per rate category for each of
#: ``up`` and ``pre``). ``up`` and ``pre`` are only written by gradients: np.zeros maps their pages
#: lazily, so a plan used for log-likelihoods alone never makes them resident.
NODE_BUFFER_BYTES = 2**30
MIN_BLOCK = 32
_ALLOWED_BITS = np.array([1, 2, 4, 8], dtype=np.uint8)


class Plan(NamedTuple):
    """The arrays of one likelihood evaluation (layout in the module docstring)."""

    child_offsets: np.ndarray
    child_nodes: np.ndarray
    tip_row: np.ndarray
    tip_codes: np.ndarray
    weights: np.ndarray
    invariant: np.ndarray
    freqs: np.ndarray
    rates: np.ndarray
    cat_weights: np.ndarray
    values: np.ndarray
    vectors: np.ndarray
    inverse: np.ndarray
    rate_matrix: np.ndarray
    rate_matrix2: np.ndarray
    tips: np.ndarray
    pmats: np.ndarray
    post: np.ndarray
    up: np.ndarray
    pre: np.ndarray
    site: np.ndarray
    qt: np.ndarray
    numer: np.ndarray
    slot: np.ndarray
    node_classes: np.ndarray
    class_offsets: np.ndarray
    class_children: np.ndarray
    class_codes: np.ndarray
    boundary_row: np.ndarray
    pattern_class: np.ndarray
    messages: np.ndarray
    class_above: np.ndarray


def constant_states(codes: np.ndarray) -> np.ndarray:
    """``[state i allowed at every tip]`` for every pattern of ``codes`` (T, P): bool (P, 4)."""
    common = np.bitwise_and.reduce(codes, axis=0)
    return (common[:, None] & _ALLOWED_BITS[None, :]) > 0


def invariant_site_likelihoods(codes: np.ndarray, model: SubstitutionModel) -> np.ndarray:
    """``p_inv * sum_i pi_i [state i allowed at every tip]`` per pattern (+I), shape (P,)."""
    if model.invariant_proportion == 0.0:
        return np.zeros(codes.shape[1])
    return model.invariant_proportion * (constant_states(codes) @ model.frequencies)


def partial_slots(tree: Tree) -> np.ndarray:
    """Slot of every internal node's post-order partial, reusing a slot once the parent is done.

    A node takes a free slot before its children's slots are released, so it never writes
    into a buffer it reads. The number of slots is the largest number of partials alive at
    once (about the tree's height for balanced trees), which keeps a block in cache.
    """
    slot = np.full(tree.n_nodes, -1, dtype=np.int32)
    free: list[int] = []
    n_slots = 0
    for node in range(tree.n_nodes):
        children = tree.children(node)
        if len(children) == 0:
            continue
        if free:
            slot[node] = free.pop()
        else:
            slot[node] = n_slots
            n_slots += 1
        free.extend(int(slot[c]) for c in children if slot[c] >= 0)
    return slot


def model_arrays(model: SubstitutionModel, codes: np.ndarray) -> dict[str, np.ndarray]:
    """The model fields of a plan (``invariant`` to ``rate_matrix2``) for ``model`` (frequencies
    must be resolved)."""
    eig = model.eigen()
    q = np.ascontiguousarray(eig.rate_matrix)
    return dict(invariant=invariant_site_likelihoods(codes, model), freqs=np.ascontiguousarray(model.frequencies),
                rates=np.ascontiguousarray(model.category_rates()),
                cat_weights=np.ascontiguousarray(model.category_weights()),
                values=np.ascontiguousarray(eig.values), vectors=np.ascontiguousarray(eig.vectors),
                inverse=np.ascontiguousarray(eig.inverse), rate_matrix=q, rate_matrix2=q @ q)


def build_plan(tree: Tree, codes: np.ndarray, weights: np.ndarray, model: SubstitutionModel, *,
               n_buffers: int = 1, block: int = DEFAULT_BLOCK, site_repeats: bool = True) -> Plan:
    """Plan for ``tree`` with ``codes`` (rows indexed by the tree's taxon indices, T x P); with
    ``site_repeats`` evaluations compute the partials of compact subtrees once per site class."""
    codes = np.ascontiguousarray(codes, dtype=np.uint8)
    weights = np.ascontiguousarray(weights, dtype=np.float64)
    n_nodes = tree.n_nodes
    if n_nodes < 2:
        raise PhyloVIError("a tree needs at least two nodes for a likelihood")
    tip_row = np.ascontiguousarray(tree.taxon, dtype=np.int32)
    if tip_row.max() >= codes.shape[0]:
        raise PhyloVIError("a leaf's taxon index has no row in the site patterns")
    n_patterns = codes.shape[1]
    n_categories = model.n_categories
    w = int(n_buffers)
    slot = partial_slots(tree)
    n_slots = int(slot.max()) + 1
    bytes_per_pattern = w * (2 * n_nodes + n_slots) * n_categories * 4 * 8
    block = int(max(1, min(block, n_patterns, max(MIN_BLOCK, NODE_BUFFER_BYTES // bytes_per_pattern))))
    tips = np.ascontiguousarray((codes[:, None, :] >> np.arange(4, dtype=np.uint8)[None, :, None]) & 1)
    classes = site_classes(tree, codes) if site_repeats else no_site_classes(n_patterns)
    n_class_rows = classes.class_children.shape[0]
    return Plan(child_offsets=np.ascontiguousarray(tree.child_offsets, dtype=np.int32),
                child_nodes=np.ascontiguousarray(tree.child_nodes, dtype=np.int32), tip_row=tip_row,
                tip_codes=codes, weights=weights, **model_arrays(model, codes), tips=tips,
                pmats=np.zeros((w, n_nodes, n_categories, 4, 4)),
                post=np.zeros((w, n_slots, n_categories, 4, block)),
                up=np.zeros((w, n_nodes, n_categories, 4, block)), pre=np.zeros((w, n_nodes, n_categories, 4, block)),
                site=np.zeros((w, 9, block)), qt=np.zeros((w, 1, n_categories, 4, block)),
                numer=np.zeros((w, n_categories, block)), slot=slot, **classes._asdict(),
                messages=np.zeros((w, n_class_rows, n_categories, 4)),
                class_above=np.zeros((w, n_class_rows, n_categories, 4)))


def with_model(plan: Plan, model: SubstitutionModel) -> Plan:
    """The same plan (shared work buffers) under another model with the same number of categories."""
    if model.n_categories != plan.rates.shape[0]:
        raise PhyloVIError("with_model keeps the work buffers: the number of rate categories must not change")
    return plan._replace(**model_arrays(model, plan.tip_codes))
