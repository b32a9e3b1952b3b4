"""The mutation tree of a conflict-free matrix and the placement of its cells, as SCITE (Jahn et
al. 2016) and PhISCS (Malikic et al. 2019) report them.

In a conflict-free 0/1 matrix the column supports (sets of cells carrying a mutation) form a
laminar family: any two are nested or disjoint (Gusfield 1991, Networks 21:19). Mutations with
the same support sit on the same edge; the node of a support hangs below the smallest strictly
larger support that contains it, or below the root (the normal, unmutated genotype). A cell is
placed on the deepest node whose support holds it, so the mutations on the path from the root to
its node are exactly the 1s of its row. Outputs: Newick (cells as leaves, mutation nodes
labelled ``mutA|mutB``), GraphViz DOT and a matplotlib figure.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from phylo_vi.errors import InvalidParameterError
from phylo_vi.genotype.conflicts import is_conflict_free
from phylo_vi.genotype.matrix import check_matrix

ROOT_LABEL = "root"
_NEWICK_SPECIAL = re.compile(r"[\s()\[\]':;,]")


@dataclass(frozen=True)
class MutationTree:
    """Node 0 is the root; node ``v > 0`` carries ``mutations[v]`` on the edge from ``parent[v]``."""

    parent: np.ndarray          # (k,) int64, -1 at the root
    mutations: list[list[str]]  # names on the edge into each node (empty at the root)
    cells: list[list[str]]      # names of the cells placed on each node
    cell_node: np.ndarray       # (n,) node of each cell

    @property
    def n_nodes(self) -> int:
        return len(self.parent)

    def children(self) -> list[list[int]]:
        kids: list[list[int]] = [[] for _ in range(self.n_nodes)]
        for v, p in enumerate(self.parent):
            if p >= 0:
                kids[p].append(v)
        return kids

    def postorder(self) -> list[int]:
        """Nodes, every child before its parent (iterative: trees may be thousands deep)."""
        kids = self.children()
        order, stack = [], [0]
        while stack:
            v = stack.pop()
            order.append(v)
            stack.extend(kids[v])
        return order[::-1]

    def depth(self) -> np.ndarray:
        depth = np.zeros(self.n_nodes, dtype=np.int64)
        for v in self.postorder()[::-1]:
            if self.parent[v] >= 0:
                depth[v] = depth[self.parent[v]] + 1
        return depth


def mutation_tree(matrix: np.ndarray, mutation_names: list[str] | None = None,
                  cell_names: list[str] | None = None) -> MutationTree:
    """The mutation tree and cell placement of a conflict-free 0/1 matrix (module docstring)."""
    values = check_matrix(matrix, allow_missing=False)
    if not is_conflict_free(values):
        raise InvalidParameterError("a mutation tree exists only for a conflict-free matrix")
    n_cells, n_mutations = values.shape
    mutation_names = mutation_names or [f"mut{j}" for j in range(n_mutations)]
    cell_names = cell_names or [f"cell{i}" for i in range(n_cells)]
    present = values.sum(axis=0) > 0
    if not present.any():  # no mutation anywhere: every cell is on the root
        return MutationTree(parent=np.array([-1]), mutations=[[]], cells=[list(map(str, cell_names))],
                            cell_node=np.zeros(n_cells, dtype=np.int64))
    supports, edge_of = np.unique(values[:, present], axis=1, return_inverse=True)
    supports = supports.astype(np.float64)  # (n, k - 1): one column per non-root node
    size = supports.sum(axis=0)
    overlap = supports.T @ supports  # overlap[u, v] = |support u ∩ support v|
    contains = (overlap == size[:, None]) & (size[None, :] > size[:, None])  # v strictly contains u
    # parent: the smallest container (nested containers are a chain), else the root
    container_size = np.where(contains, size[None, :], np.inf)
    parent = np.where(contains.any(axis=1), np.argmin(container_size, axis=1) + 1, 0)
    parent = np.concatenate([[-1], parent]).astype(np.int64)
    mutations: list[list[str]] = [[] for _ in range(len(parent))]
    for name, node in zip(np.asarray(mutation_names)[present], np.ravel(edge_of) + 1):
        mutations[node].append(str(name))
    # each cell on its smallest containing support (the deepest node of its chain)
    holding_size = np.where(supports > 0, size[None, :], np.inf)
    cell_node = np.where(supports.any(axis=1), np.argmin(holding_size, axis=1) + 1, 0).astype(np.int64)
    cells: list[list[str]] = [[] for _ in range(len(parent))]
    for name, node in zip(cell_names, cell_node):
        cells[node].append(str(name))
    return MutationTree(parent=parent, mutations=mutations, cells=cells, cell_node=cell_node)


def tree_genotypes(tree: MutationTree, mutation_names: list[str]) -> np.ndarray:
    """(n_cells, m) 0/1 matrix read back from the tree: a cell carries the mutations on its root path."""
    column = {name: j for j, name in enumerate(mutation_names)}
    node_genotype = np.zeros((tree.n_nodes, len(mutation_names)), dtype=np.int8)
    for v in tree.postorder()[::-1]:
        if tree.parent[v] >= 0:
            node_genotype[v] = node_genotype[tree.parent[v]]
        node_genotype[v, [column[name] for name in tree.mutations[v]]] = 1
    return node_genotype[tree.cell_node]


def _newick_label(text: str) -> str:
    return "'" + text.replace("'", "''") + "'" if _NEWICK_SPECIAL.search(text) else text


def node_label(tree: MutationTree, v: int) -> str:
    return ROOT_LABEL if v == 0 else "|".join(tree.mutations[v])


def to_newick(tree: MutationTree) -> str:
    """Newick string: cells are leaves, every node is labelled by its mutations (root: ``root``)."""
    kids = tree.children()
    text: dict[int, str] = {}
    for v in tree.postorder():
        parts = [_newick_label(cell) for cell in tree.cells[v]] + [text.pop(child) for child in kids[v]]
        inner = f"({','.join(parts)})" if parts else ""
        text[v] = inner + _newick_label(node_label(tree, v))
    return text[0] + ";\n"


def _dot_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def to_dot(tree: MutationTree) -> str:
    """GraphViz DOT: mutation nodes (ellipses, one line per mutation) and cells (boxes) below them."""
    lines = ["digraph mutation_tree {", "  node [fontname=Helvetica];"]
    for v in range(tree.n_nodes):
        label = ROOT_LABEL if v == 0 else "\\n".join(m.replace("\\", "\\\\").replace('"', '\\"')
                                                      for m in tree.mutations[v])
        lines.append(f'  n{v} [label="{label}"];')
    for v, p in enumerate(tree.parent):
        if p >= 0:
            lines.append(f"  n{p} -> n{v};")
    for v, names in enumerate(tree.cells):
        for name in names:
            lines.append(f"  {_dot_string('cell:' + name)} [shape=box, label={_dot_string(name)}];")
            lines.append(f"  n{v} -> {_dot_string('cell:' + name)} [style=dashed, arrowhead=none];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def plot_tree(tree: MutationTree, max_names: int = 3):
    """Matplotlib figure of the mutation tree: nodes left to right by depth, a node's area
    proportional to its cells, labels with the first ``max_names`` mutations."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    depth = tree.depth()
    kids = tree.children()
    y = np.zeros(tree.n_nodes)
    next_leaf = 0.0
    for v in tree.postorder():  # leaves get successive rows, a parent the mean of its children
        if kids[v]:
            y[v] = np.mean([y[c] for c in kids[v]])
        else:
            y[v] = next_leaf
            next_leaf += 1.0
    n_cells = np.array([len(c) for c in tree.cells])
    figure, ax = plt.subplots(figsize=(3.0 + 3.2 * depth.max(), 1.0 + 0.5 * max(next_leaf, 1)))
    for v, p in enumerate(tree.parent):
        if p >= 0:
            ax.plot([depth[p], depth[p], depth[v]], [y[p], y[v], y[v]], color="0.5", lw=1, zorder=1)
    ax.scatter(depth, y, s=30 + 300 * n_cells / max(n_cells.max(), 1), color="tab:blue", zorder=2)
    for v in range(tree.n_nodes):
        names = tree.mutations[v]
        text = ROOT_LABEL if v == 0 else ", ".join(names[:max_names]) + (
            f" +{len(names) - max_names}" if len(names) > max_names else "")
        ax.annotate(f"{text} ({n_cells[v]} cells)", (depth[v], y[v]), xytext=(6, 4), textcoords="offset points",
                    fontsize=7)
    ax.set_xlabel("depth (mutation-carrying edges from the root)")
    ax.set_yticks([])
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    return figure
