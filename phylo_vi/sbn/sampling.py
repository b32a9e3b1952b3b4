"""Ancestral sampling from an SBN and its most probable rooted tree (Viterbi).

A rooted topology is drawn top-down (Zhang & Matsen 2018, §3: the SBN is a Bayesian network,
so ancestral sampling is exact): the root split from P(s₁), then for each non-leaf clade Z with
sister Y a child subsplit from P(· | Y, Z). For an unrooted model the root is then removed by
merging one side of the root split into the root node (a trifurcating root, as MrBayes writes
unrooted trees). The Viterbi recursion replaces sums by maxima over the same network:
best(Y, Z) = max_s [log P(s | Y, Z) + best(Z₂, Z₁) + best(Z₁, Z₂)], leaves scoring 0.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from phylo_vi.base import SAMPLE_SIZE, check_parameter
from phylo_vi.errors import PhyloVIError
from phylo_vi.sbn.bitkeys import lookup, row_keys
from phylo_vi.sbn.support import SubsplitSupport
from phylo_vi.trees import bitset
from phylo_vi.trees.arrays import TreeArrays
from phylo_vi.trees.taxa import TaxonNamespace
from phylo_vi.trees.tree import Tree
from phylo_vi.util.random import check_random_state


@dataclass(frozen=True, eq=False)
class PreparedSampler:
    """The network of one SBN support, prepared once for ancestral sampling under probabilities
    that may change between draws (a fitted SBN, or q_φ during VBPI training).

    ``root_a``/``root_b``: clade ids of both sides of every root split; ``child``/``other``: both
    halves of every PCSP child; ``clade_taxon``: the taxon of a one-taxon clade (-1 otherwise);
    ``sizes``: taxa per clade. Build it with :func:`prepare_sampler`.
    """

    support: SubsplitSupport
    taxa: TaxonNamespace
    rooted: bool
    root_a: np.ndarray
    root_b: np.ndarray
    child: np.ndarray
    other: np.ndarray
    clade_taxon: np.ndarray
    sizes: np.ndarray

    def draw(self, root_prob: np.ndarray, pcsp_prob: np.ndarray, n: int, rng: np.random.Generator) -> TreeArrays:
        """``n`` topologies by ancestral sampling, with P(root split) = ``root_prob`` and
        P(PCSP | parent) = ``pcsp_prob`` (in the support's order; unnormalised is fine), one
        uniform per draw from ``rng``: ``rng.random((n, n_taxa - 1))``."""
        uniforms = rng.random((n, len(self.taxa) - 1))
        support = self.support
        parent, taxon, complete = _sample_kernel(uniforms, root_prob, self.root_a, self.root_b, support.parent_keys,
                                                 support.parent_offsets, pcsp_prob, self.child, self.other,
                                                 self.clade_taxon, support.n_clades, not self.rooted)
        if not complete:
            raise PhyloVIError("the SBN reached a parent subsplit without a conditional distribution; "
                               "its parameters are inconsistent")
        return arrays_from_preorder(parent, taxon, self.taxa, self.rooted)


def prepare_sampler(support: SubsplitSupport, taxa: TaxonNamespace, rooted: bool) -> PreparedSampler:
    """The :class:`PreparedSampler` of ``support`` over ``taxa``."""
    clades = support.clades
    full = bitset.full_bitset(len(taxa))
    root_a = support.root_splits
    root_b = lookup(support.clade_keys, row_keys(clades[root_a] ^ full))
    focal = support.parent_focal[support.pcsp_parent]
    child = support.pcsp_child
    other = lookup(support.clade_keys, row_keys(clades[focal] ^ clades[child]))
    sizes = bitset.popcount(clades)
    clade_taxon = np.full(len(clades), -1, dtype=np.int64)
    singles = np.flatnonzero(sizes == 1)
    for index in singles:
        clade_taxon[index] = bitset.bitset_indices(clades[index])[0]
    return PreparedSampler(support, taxa, rooted, root_a, root_b, child, other, clade_taxon, sizes)


@njit(cache=True, nogil=True)
def _sample_kernel(uniforms, root_prob, root_a, root_b, parent_keys, offsets, pcsp_prob, pcsp_child, pcsp_other,
                   clade_taxon, n_clades, merge_root):
    n_samples, n_draws = uniforms.shape
    n_taxa = n_draws + 1
    n_nodes = 2 * n_taxa - 1 - (1 if merge_root else 0)
    parent_out = np.full((n_samples, n_nodes), -1, dtype=np.int32)
    taxon_out = np.full((n_samples, n_nodes), -1, dtype=np.int32)
    stack = np.empty((2 * n_taxa, 4), dtype=np.int64)
    for t in range(n_samples):
        target = uniforms[t, 0] * root_prob.sum()
        r = 0
        acc = root_prob[0]
        while acc <= target and r < len(root_prob) - 1:
            r += 1
            acc += root_prob[r]
        a, b = root_a[r], root_b[r]
        merge_a = merge_root and clade_taxon[a] < 0
        merge_b = merge_root and not merge_a
        stack[0, 0], stack[0, 1], stack[0, 2], stack[0, 3] = b, a, 0, merge_b
        stack[1, 0], stack[1, 1], stack[1, 2], stack[1, 3] = a, b, 0, merge_a
        top = 2
        n_used = 1
        draw = 1
        while top > 0:
            top -= 1
            z, y, p, merge = stack[top, 0], stack[top, 1], stack[top, 2], stack[top, 3]
            if merge:
                node = p
            else:
                node = n_used
                n_used += 1
                parent_out[t, node] = p
            if clade_taxon[z] >= 0:
                taxon_out[t, node] = clade_taxon[z]
                continue
            key = y * n_clades + z
            pid = np.searchsorted(parent_keys, key)
            if pid >= len(parent_keys) or parent_keys[pid] != key:
                return parent_out, taxon_out, False
            lo, hi = offsets[pid], offsets[pid + 1]
            total = pcsp_prob[lo:hi].sum()
            if total <= 0.0:
                return parent_out, taxon_out, False
            target = uniforms[t, draw] * total
            draw += 1
            s = lo
            acc = pcsp_prob[lo]
            while acc <= target and s < hi - 1:
                s += 1
                acc += pcsp_prob[s]
            c, o = pcsp_child[s], pcsp_other[s]
            stack[top, 0], stack[top, 1], stack[top, 2], stack[top, 3] = o, c, node, 0
            stack[top + 1, 0], stack[top + 1, 1], stack[top + 1, 2], stack[top + 1, 3] = c, o, node, 0
            top += 2
    return parent_out, taxon_out, True


def arrays_from_preorder(parent: np.ndarray, taxon: np.ndarray, taxa, rooted: bool) -> TreeArrays:
    """TreeArrays from pre-order rows (parent before children): reversed, they are post-orders."""
    n_nodes = parent.shape[1]
    flipped = parent[:, ::-1]
    post_parent = np.where(flipped >= 0, n_nodes - 1 - flipped, -1).astype(np.int32)
    return TreeArrays(np.ascontiguousarray(post_parent), np.ascontiguousarray(taxon[:, ::-1]), np.ones(len(parent)),
                      taxa, rooted=rooted)


def tree_from_preorder(parent: np.ndarray, taxon: np.ndarray, taxa, rooted: bool) -> Tree:
    """One tree from pre-order arrays (see :func:`arrays_from_preorder`)."""
    return arrays_from_preorder(parent[None, :], taxon[None, :], taxa, rooted).tree(0)


def sample_topologies(model, n: int, random_state=None) -> TreeArrays:
    """``n`` topologies drawn from a fitted SBN (rooted or unrooted, as the model), as arrays."""
    check_parameter("number of samples", n, SAMPLE_SIZE)
    rng = check_random_state(random_state)
    sampler = prepare_sampler(model.support_, model.taxa_, model.rooted)
    return sampler.draw(np.exp(model.log_root_), np.exp(model.log_cpd_), n, rng)


def viterbi_tree(model) -> Tree:
    """Most probable rooted topology of the SBN (unrooted again for an unrooted model)."""
    support = model.support_
    n_clades = support.n_clades
    network = prepare_sampler(support, model.taxa_, model.rooted)
    root_a, root_b, child, other = network.root_a, network.root_b, network.child, network.other
    clade_taxon, sizes = network.clade_taxon, network.sizes
    pcsp_parent = support.pcsp_parent
    focal_size = sizes[support.parent_focal]
    parent_of_child = lookup(support.parent_keys, other * n_clades + child)
    parent_of_other = lookup(support.parent_keys, child * n_clades + other)
    best = np.full(len(support.parent_keys), -np.inf)
    choice = np.full(len(support.parent_keys), -1, dtype=np.int64)

    def value(clades_, parents_):
        return np.where(clade_taxon[clades_] >= 0, 0.0, np.where(parents_ >= 0, best[np.maximum(parents_, 0)], -np.inf))

    pcsp_size = focal_size[pcsp_parent]
    for size in np.unique(pcsp_size):
        members = np.flatnonzero(pcsp_size == size)
        score = model.log_cpd_[members] + value(child[members], parent_of_child[members]) \
            + value(other[members], parent_of_other[members])
        order = np.lexsort((-score, pcsp_parent[members]))
        first = np.ones(len(order), dtype=bool)
        first[1:] = pcsp_parent[members][order][1:] != pcsp_parent[members][order][:-1]
        winners = members[order[first]]
        best[pcsp_parent[winners]] = score[order[first]]
        choice[pcsp_parent[winners]] = winners

    def parent_id(sister, focal):
        return int(lookup(support.parent_keys, np.array([sister * n_clades + focal]))[0])

    def side(sister, focal):
        return 0.0 if clade_taxon[focal] >= 0 else (best[p] if (p := parent_id(sister, focal)) >= 0 else -np.inf)

    root_scores = np.array([model.log_root_[r] + side(root_b[r], root_a[r]) + side(root_a[r], root_b[r])
                            for r in range(len(root_a))])
    r = int(np.argmax(root_scores))
    parent_pre, taxon_pre = [-1], [-1]
    stack = [(root_b[r], root_a[r], 0), (root_a[r], root_b[r], 0)]
    while stack:
        focal, sister, up = stack.pop()
        node = len(parent_pre)
        parent_pre.append(up)
        taxon_pre.append(int(clade_taxon[focal]))
        if clade_taxon[focal] < 0:
            s = choice[parent_id(sister, focal)]
            stack += [(other[s], child[s], node), (child[s], other[s], node)]
    tree = tree_from_preorder(np.array(parent_pre), np.array(taxon_pre), model.taxa_, True)
    return tree if model.rooted else tree.unroot()
