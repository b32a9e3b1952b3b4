r"""Majority-rule and extended majority-rule consensus trees as MrBayes 3.2.7a ``sumt`` builds them.

Construction (sumpt.c ``ConTree``; spec analyze.md §3.4, verified byte-for-byte on the bundled
example):

1. start from a bush: the root's children are the outgroup, then the other taxa in index order;
2. walk the partitions in the consensus order of :func:`~.mrbayes_partitions.mrbayes_order`,
   stopping at the first split whose frequency is below ``min_frequency`` (0.5: the
   majority-rule tree, ``contype=halfcompat``; a split at exactly 0.5 is kept) or, with
   ``min_frequency=0`` (``allcompat``), once the tree is resolved and every tip was seen;
3. a split of b taxa finds p, the first ancestor of its lowest taxon holding more than b
   taxa; it is rejected when it is not nested in p or overlaps one of p's children without
   containing it; otherwise p's children inside it move, in order, to a new node appended
   last to p's children;
4. the children of every non-root internal node are sorted by their lowest taxon (the outgroup
   counting as −1); the root keeps its construction order (``OrderTips``).

Each node gets the **median** of its split's branch lengths (MrBayes' screen says "average";
the file holds the median). :func:`format_con_tre` writes the FigTree-style ``.con.tre``
(``conformat=figtree``) with ``prob``, ``prob_stddev`` (Welford SD over runs),
``prob_range`` and the length mean, median and MrBayes 95% HPD.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from phylo_vi.diagnostics.mrbayes_partitions import MrBayesOrder, PartitionTable, length_statistics
from phylo_vi.diagnostics.mrbayes_statistics import welford_mean_variance
from phylo_vi.errors import PhyloVIError
from phylo_vi.trees import bitset

MAJORITY_RULE = 0.5


@dataclass
class ConsensusNode:
    """A node of the consensus tree; ``partition`` indexes the :class:`PartitionTable` (-1: none)."""

    taxa: int
    children: list["ConsensusNode"] = field(default_factory=list)
    taxon: int = -1
    partition: int = -1
    length: float = float("nan")
    label: int = 0


@dataclass
class ConsensusTree:
    """The consensus tree over ``table``'s taxa; ``min_frequency`` 0.5 is the majority-rule tree."""

    root: ConsensusNode
    table: PartitionTable
    min_frequency: float

    @property
    def name(self) -> str:
        return "con_50_majrule" if self.min_frequency == MAJORITY_RULE else "con_all_compat"

    def nodes(self) -> list[ConsensusNode]:
        """Every node, pre-order."""
        out, stack = [], [self.root]
        while stack:
            node = stack.pop()
            out.append(node)
            stack.extend(reversed(node.children))
        return out

    def probability(self, node: ConsensusNode) -> float:
        return float(self.table.totals[node.partition] / self.table.n_sampled.sum())

    def newick(self, support: bool = True) -> str:
        """Newick with taxon names, clade probabilities as internal labels and median lengths."""
        from phylo_vi.io.newick import format_label

        def text(node: ConsensusNode) -> str:
            if node.taxon >= 0:
                piece = format_label(self.table.taxa[node.taxon])
            else:
                piece = "(" + ",".join(text(child) for child in node.children) + ")"
                if support and node is not self.root and node.partition >= 0:
                    piece += "%.4f" % self.probability(node)
            if node is not self.root and not np.isnan(node.length):
                piece += ":%.6e" % node.length
            return piece

        return ("[&R] " if self.table.rooted else "") + text(self.root) + ";"


def _tip_index(row: np.ndarray, n_taxa: int, bits: int) -> int:
    indices = bitset.bitset_indices(row)
    if bits == 1:
        return indices[0]
    return next(t for t in range(n_taxa) if t not in set(indices))


def consensus_tree(table: PartitionTable, order: MrBayesOrder,
                   min_frequency: float = MAJORITY_RULE) -> ConsensusTree:
    """MrBayes' consensus (module docstring); ``min_frequency`` 0.5 majority rule, 0 all compatible."""
    if not 0.0 <= min_frequency <= 1.0:
        raise PhyloVIError(f"the minimum clade frequency must be in [0, 1], got {min_frequency}")
    n = table.n_taxa
    full = bitset.bitset_to_int(bitset.full_bitset(n))
    root = ConsensusNode(full)
    tips = [ConsensusNode(1 << t, taxon=t) for t in range(n)]
    root.children = list(tips)
    up: dict[int, ConsensusNode] = {id(tip): root for tip in tips}
    n_total = float(table.n_sampled.sum())
    n_nodes, max_nodes = n + 1, (2 * n - 2 if table.rooted else 2 * n - 3)
    tips_seen = 0
    for index in order.consensus:
        if n_nodes > max_nodes and tips_seen == n:
            break
        if table.totals[index] / n_total < min_frequency:
            break
        row = table.partitions[index]
        if not table.rooted and row[0] & np.uint64(1):
            row = row ^ bitset.full_bitset(n)
        value = bitset.bitset_to_int(row)
        bits = bin(value).count("1")
        if bits in (0, n):
            root.partition = index
            continue
        if bits == 1 or (bits == n - 1 and not table.rooted):
            tip = tips[_tip_index(row, n, bits)]
            tip.partition, tip.length = index, length_statistics(table, index)[4]
            tips_seen += 1
            continue
        lowest = (value & -value).bit_length() - 1
        p = up[id(tips[lowest])]
        while bin(p.taxa).count("1") <= bits:
            p = up[id(p)]
        if p is not root and value & ~p.taxa:
            continue
        if any(child.taxa & value and child.taxa & ~value for child in p.children if bin(child.taxa).count("1") > 1):
            continue
        inside = [child for child in p.children if child.taxa & value]
        q = ConsensusNode(value, inside, partition=index, length=length_statistics(table, index)[4])
        for child in inside:
            up[id(child)] = q
        p.children = [child for child in p.children if not child.taxa & value] + [q]
        up[id(q)] = p
        n_nodes += 1
    _order_tips(root, rooted=table.rooted)
    return ConsensusTree(root, table, min_frequency)


def _order_tips(root: ConsensusNode, rooted: bool) -> None:
    """MrBayes ``OrderTips``: children of non-root nodes sorted by their lowest taxon (outgroup −1)."""
    def label(node: ConsensusNode) -> int:
        if node.taxon >= 0:
            node.label = -1 if node.taxon == 0 and not rooted else node.taxon
        else:
            node.label = min(label(child) for child in node.children)
            if node is not root:
                node.children.sort(key=lambda child: child.label)
        return node.label

    label(root)


# ----------------------------------------------------------------------------- .con.tre text
def _e8(value: float) -> str:
    return "%.8e" % value


def _node_info(tree: ConsensusTree, node: ConsensusNode) -> str:
    table = tree.table
    frequencies = table.frequencies()[node.partition]
    mean, variance = welford_mean_variance(frequencies)
    percent = int(100.0 * mean + 0.5)
    mean_length, _, lower, upper, median = length_statistics(table, node.partition)
    lengths = (f"[&length_mean={_e8(mean_length)},length_median={_e8(median)},"
               f"length_95%HPD={{{_e8(lower)},{_e8(upper)}}}]")
    if table.n_runs > 1:
        sd = float(np.sqrt(variance))
        head = (f"[&prob={_e8(mean)},prob_stddev={_e8(sd)},prob_range={{{_e8(frequencies.min())},"
                f"{_e8(frequencies.max())}}},prob(percent)=\"{percent}\",prob+-sd=\"{percent}+-{int(100.0 * sd + 0.5)}\"]")
    else:
        head = f"[&prob={_e8(mean)},prob(percent)=\"{percent}\"]"
    return f"{head}:{'%.6e' % node.length}{lengths}"


def _figtree_newick(tree: ConsensusTree, node: ConsensusNode) -> str:
    if node.taxon >= 0:
        return f"{node.taxon + 1}{_node_info(tree, node)}"
    text = "(" + ",".join(_figtree_newick(tree, child) for child in node.children) + ")"
    if node is not tree.root:
        text += _node_info(tree, node)
    return text


def format_con_tre(tree: ConsensusTree) -> str:
    """The ``.con.tre`` text MrBayes writes with ``conformat=figtree`` (no ``[ID: …]`` stamp)."""
    names = tree.table.taxa.names[:tree.table.n_taxa]
    lines = ["#NEXUS", "begin taxa;", f"\tdimensions ntax={len(names)};", "\ttaxlabels"]
    lines += [f"\t\t{name}" for name in names] + ["\t\t;", "end;", "begin trees;", "\ttranslate"]
    lines += [f"\t\t{i + 1}\t{name}{',' if i + 1 < len(names) else ''}" for i, name in enumerate(names)]
    lines.append("\t\t;")
    rooting = "[&R]" if tree.table.rooted else "[&U]"
    lines.append(f"   tree {tree.name} = {rooting} {_figtree_newick(tree, tree.root)};")
    lines.append("end;")
    return "\n".join(lines) + "\n"
