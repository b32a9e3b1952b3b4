"""Fast reading: trees in batches of arrays, parsed by the Numba kernel of :mod:`.batch_parser`.

:func:`iter_tree_batches` streams a tree file as :class:`TreeBatch` objects, each holding up to
``batch_size`` trees as concatenated post-order arrays (the arrays of
:class:`~phylo_vi.trees.Tree`, tree by tree), the clade bitset of every node (up to 1,024
taxa) and the canonical topology key of every tree. The file is read in fixed-size chunks and
a batch's arrays hold at most :data:`BATCH_BYTES` (fewer trees when they are large, at least
one), so memory depends neither on the number of trees nor, beyond one tree's linear arrays,
on their size.

The NEXUS header (TAXA, TRANSLATE, ...) and every line the kernel hands back (quoted labels,
statements spanning lines, ``end;``, errors) go through the reference readers of
:mod:`.nexus` and :mod:`.newick`, so the result is identical to theirs, errors included.
RevBayes traces and tree tables are read by :mod:`.revbayes` and :mod:`.tree_tables` and packed
into batches. A tree that adds a taxon
to the namespace (Newick files name their taxa in the trees) closes the current batch first, so
all trees of a batch share one bitset width.
"""
from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np

from phylo_vi.errors import EmptyInputError
from phylo_vi.io import batch_parser as kernel
from phylo_vi.io.detect import DEFAULT_ROOTED, NEXUS_FORMATS, detect_format
from phylo_vi.io.label_table import build_label_table
from phylo_vi.io.newick import iter_newick_statements, parse_newick, statement_rooting
from phylo_vi.io.nexus import NexusTreeReader, _is_tree_keyword, iter_nexus_tree_statements
from phylo_vi.io.revbayes import iter_revbayes_trees
from phylo_vi.io.statements import iter_statements
from phylo_vi.io.tree_tables import TABLE_FORMATS, iter_table_trees
from phylo_vi.trees.bitset import n_words as words_for
from phylo_vi.trees.canonical_key import uses_canonical_key
from phylo_vi.trees.taxa import TaxonNamespace
from phylo_vi.trees.tree import Tree

CHUNK_BYTES = 1 << 22
# bytes of the output arrays of one batch: a batch holds batch_size trees or as many as fit here
# (at least one), so that memory stays bounded whatever the number of taxa; the first batch of a
# file gets FIRST_BATCH_BYTES and each next one twice the previous, so that a file of one large
# tree costs the arrays of about one tree (growing arrays in place, with copies, cost more)
BATCH_BYTES = 1 << 26
FIRST_BATCH_BYTES = 1 << 20
_HARD_CAPACITY = 1 << 14
_MAX_HEADER_BYTES = 1 << 24


@dataclass(eq=False)
class TreeBatch:
    """Trees ``0 .. n_trees - 1`` of a batch; tree ``i`` owns nodes ``node_offsets[i]:node_offsets[i + 1]``.

    ``parent`` holds node indices local to each tree (as in :class:`Tree`), ``clades`` the bitset
    of every node (shape ``(n_nodes_total, n_words)``; None in namespaces wider than
    :data:`~phylo_vi.trees.canonical_key.SPLIT_KEY_MAX_WORDS` words, where they would take
    ``n^2 / 64`` words a tree), ``leaf_sets`` the bitset of each tree's taxa, and the topology key
    of tree ``i`` is ``key_words[key_offsets[i]:key_offsets[i + 1]]`` (leaf set, then its sorted
    splits, or clades when the tree is rooted; or the canonical code of
    :mod:`phylo_vi.trees.canonical_key`), prefixed by ``b"R"`` or ``b"U"`` in :meth:`topology_keys`.
    ``indices`` are the positions of the trees in their file (0-based, burn-in included) and
    ``lines`` the lines where their statements start.
    """

    taxa: TaxonNamespace
    path: Path
    node_offsets: np.ndarray
    parent: np.ndarray
    branch_length: np.ndarray
    taxon: np.ndarray
    clades: np.ndarray | None
    leaf_sets: np.ndarray
    key_offsets: np.ndarray
    key_words: np.ndarray
    rooted: np.ndarray
    weight: np.ndarray
    indices: np.ndarray
    lines: np.ndarray
    names: list = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.rooted)

    @property
    def n_trees(self) -> int:
        return len(self)

    @property
    def n_words(self) -> int:
        return self.leaf_sets.shape[1]

    @property
    def roots(self) -> np.ndarray:
        """Global node index of each tree's root."""
        return self.node_offsets[1:] - 1

    def topology_keys(self, rooted: bool | None = None) -> list[bytes]:
        """Canonical topology key of each tree, equal to :meth:`Tree.topology_key`.

        ``rooted`` None uses each tree's own rooting; True or False computes every key as if
        the trees were rooted (clades) or unrooted (splits: the key of ``tree.unroot()``).
        """
        if rooted is None:
            key_offsets, key_words, flags = self.key_offsets, self.key_words, self.rooted.tolist()
        else:
            key_offsets, key_words = self._keys(bool(rooted))
            flags = [bool(rooted)] * len(self)
        words = key_words.tobytes()
        offsets = (key_offsets * 8).tolist()
        prefixes = [b"R" if r else b"U" for r in flags]
        return [prefix + words[a:b] for prefix, a, b in zip(prefixes, offsets[:-1], offsets[1:])]

    def _keys(self, rooted: bool) -> tuple[np.ndarray, np.ndarray]:
        sizes = np.diff(self.node_offsets)
        largest = int(sizes.max()) if len(sizes) else 1
        key_start = np.zeros(len(self) + 1, dtype=np.int64)
        if self.clades is None:
            keys = np.empty(int((sizes + 1).sum()), dtype=np.uint64)
            kernel.canonical_rekey_kernel(self.node_offsets, self.parent, self.taxon, rooted, key_start, keys)
            return key_start, keys[: key_start[-1]]
        keys = np.empty(int((sizes + 1).sum()) * self.n_words, dtype=np.uint64)
        kernel.rekey_kernel(self.node_offsets, self.parent, self.taxon, self.clades, self.n_words, rooted, key_start,
                            keys, np.empty(largest, dtype=np.int32), np.empty(max(largest, self.n_words), np.uint64))
        return key_start, keys[: key_start[-1]]

    def tree(self, i: int) -> Tree:
        """Tree ``i`` as a :class:`Tree` (its arrays are copies)."""
        a, b = int(self.node_offsets[i]), int(self.node_offsets[i + 1])
        tree = Tree(self.parent[a:b].copy(), self.branch_length[a:b].copy(), self.taxon[a:b].copy(), self.taxa,
                    rooted=bool(self.rooted[i]), name=self.names[i], weight=float(self.weight[i]))
        if self.clades is not None and words_for(len(self.taxa)) == self.n_words:
            tree.__dict__["clades"] = self.clades[a:b].copy()  # the cached property, already computed here
        return tree

    def __iter__(self) -> Iterator[Tree]:
        return (self.tree(i) for i in range(len(self)))


class _Buffers:
    """Output arrays of the kernel for one batch (:class:`~phylo_vi.io.batch_parser.BatchArrays`) and tree names."""

    def __init__(self, batch_size: int, max_nodes: int, n_words: int, nodes_per_tree: int, canonical_keys: bool):
        cap_nodes = batch_size * nodes_per_tree + max_nodes
        key_width = 1 if canonical_keys else n_words
        cap_keys = (batch_size * nodes_per_tree + max_nodes + 1) * key_width
        cap_hard = _HARD_CAPACITY + max_nodes
        self.canonical_keys = canonical_keys
        self.arrays = kernel.BatchArrays(
            node_start=np.zeros(batch_size + 1, dtype=np.int64), rooted=np.zeros(batch_size, dtype=np.bool_),
            weight=np.ones(batch_size), line=np.zeros(batch_size, dtype=np.int64),
            index=np.zeros(batch_size, dtype=np.int64), name_span=np.zeros((batch_size, 2), dtype=np.int64),
            parent=np.empty(cap_nodes, dtype=np.int32), length=np.empty(cap_nodes),
            taxon=np.empty(cap_nodes, dtype=np.int32),
            clades=np.empty((0 if canonical_keys else cap_nodes, n_words), dtype=np.uint64),
            leaf_sets=np.zeros((batch_size, n_words), dtype=np.uint64),
            key_start=np.zeros(batch_size + 1, dtype=np.int64), keys=np.empty(cap_keys, dtype=np.uint64),
            hard_node=np.empty(cap_hard, dtype=np.int64), hard_span=np.empty((cap_hard, 2), dtype=np.int64))
        self.names: list[str | None] = []

    def fits(self, n_trees: int, n_nodes: int, n_keys: int) -> bool:
        out = self.arrays
        return n_trees < len(out.rooted) and n_nodes <= len(out.parent) and n_keys <= len(out.keys)

    def append(self, tree: Tree, index: int, line: int, state: np.ndarray) -> None:
        out = self.arrays
        t, base, k0 = int(state[kernel.S_TREES]), int(state[kernel.S_NODES]), int(state[kernel.S_KEYS])
        size = tree.n_nodes
        key = np.frombuffer(tree.topology_key()[1:], dtype=np.uint64)
        out.parent[base:base + size] = tree.parent
        out.length[base:base + size] = tree.branch_length
        out.taxon[base:base + size] = tree.taxon
        if not self.canonical_keys:
            out.clades[base:base + size] = tree.clades
        out.leaf_sets[t] = tree.leaf_set
        out.keys[k0:k0 + len(key)] = key
        out.rooted[t], out.weight[t], out.line[t], out.index[t] = tree.rooted, tree.weight, line, index
        out.node_start[t + 1] = base + size
        out.key_start[t + 1] = k0 + len(key)
        self.names.append(tree.name)
        state[kernel.S_TREES], state[kernel.S_NODES], state[kernel.S_KEYS] = t + 1, base + size, k0 + len(key)

    def batch(self, taxa: TaxonNamespace, path: Path, state: np.ndarray) -> TreeBatch:
        out = self.arrays
        t, nodes, n_keys = int(state[kernel.S_TREES]), int(state[kernel.S_NODES]), int(state[kernel.S_KEYS])
        return TreeBatch(taxa, path, out.node_start[:t + 1], out.parent[:nodes], out.length[:nodes],
                         out.taxon[:nodes], None if self.canonical_keys else out.clades[:nodes], out.leaf_sets[:t],
                         out.key_start[:t + 1], out.keys[:n_keys],
                         out.rooted[:t], out.weight[:t], out.index[:t], out.line[:t], self.names)


def _batch_sizes(batch_size: int, nodes_per_tree: int, n_words: int, canonical_keys: bool) -> tuple[int, int]:
    """Trees of the first arrays of a batch and of the largest (``batch_size``, or fewer, at least one).

    They hold :data:`FIRST_BATCH_BYTES` and :data:`BATCH_BYTES` of output arrays.
    """
    key_width = 1 if canonical_keys else n_words
    clade_width = 0 if canonical_keys else n_words
    per_node = 4 + 8 + 4 + 8 * (clade_width + key_width)  # parent, length, taxon, clades, keys
    per_tree = nodes_per_tree * per_node + 8 * n_words + 64  # + leaf set and the per-tree columns
    largest = max(1, min(batch_size, BATCH_BYTES // per_tree))
    return max(1, min(largest, FIRST_BATCH_BYTES // per_tree)), largest


class _BatchReader:
    """One pass over one file: the kernel on the fast lines, the reference readers elsewhere."""

    def __init__(self, path: Path, format: str, taxa: TaxonNamespace, rooted: bool | None, n_burnin: int, thin: int,
                 batch_size: int):
        self.path, self.format, self.taxa = path, format, taxa
        self.rooted, self.n_burnin, self.thin, self.batch_size = rooted, n_burnin, thin, batch_size
        self.default_rooted = DEFAULT_ROOTED.get(format, False)
        self.nexus = format in NEXUS_FORMATS
        self.reader = NexusTreeReader(path, taxa, default_rooted=self.default_rooted, rooted=rooted) if self.nexus \
            else None
        self.state = np.zeros(kernel.N_STATE, dtype=np.int64)
        self._n_taxa = -1
        self._tables()

    def keep(self, index: int) -> bool:
        return index >= self.n_burnin and (index - self.n_burnin) % self.thin == 0

    # ------------------------------------------------------------------------- set-up
    def _tables(self) -> None:
        """(Re)build the label table and scratch arrays after the namespace changed."""
        n_taxa = len(self.taxa)
        self._n_taxa = n_taxa
        self.labels = build_label_table(self.taxa, self.reader.translate if self.reader is not None else None)
        self.max_nodes = 2 * n_taxa + 16
        self.nodes_per_tree = max(2 * n_taxa - 1, 1)
        self.n_words = words_for(n_taxa)
        self.canonical_keys = uses_canonical_key(self.n_words)
        self.first_batch, self.largest_batch = _batch_sizes(self.batch_size, self.nodes_per_tree, self.n_words,
                                                            self.canonical_keys)
        self.capacity = self.first_batch  # trees of the next batch's arrays
        self.work = kernel.new_workspace(self.max_nodes, n_taxa, self.n_words)
        self.options = kernel.ParseOptions(
            mode=kernel.MODE_NEXUS if self.nexus else kernel.MODE_NEWICK, default_rooted=int(self.default_rooted),
            rooted_override=-1 if self.rooted is None else int(self.rooted), n_burnin=self.n_burnin, thin=self.thin,
            n_words=self.n_words, max_nodes=self.max_nodes, canonical_keys=int(self.canonical_keys))

    def _new_buffers(self) -> None:
        self.out = _Buffers(self.capacity, self.max_nodes, self.n_words, self.nodes_per_tree, self.canonical_keys)
        self.state[kernel.S_TREES] = self.state[kernel.S_NODES] = self.state[kernel.S_KEYS] = 0
        self.state[kernel.S_HARD] = 0

    def _flush(self) -> Iterator[TreeBatch]:
        if self.state[kernel.S_TREES] > 0:
            yield self.out.batch(self.taxa, self.path, self.state)
            self.capacity = min(2 * self.capacity, self.largest_batch)
        self._new_buffers()

    def _header(self) -> tuple[int, int]:
        """Feed the NEXUS header to the reader; return (byte offset, line count) of the first tree line."""
        lines: list[str] = []
        offset = 0
        with open(self.path, "rb") as handle:
            for raw in handle:
                text = raw.decode("utf-8-sig" if offset == 0 else "utf-8", errors="replace")
                if _is_tree_keyword(text.lstrip()[:6].lower()):
                    break
                lines.append(text)
                offset += len(raw)
                if offset > _MAX_HEADER_BYTES:
                    return -1, 0
            else:
                return -1, 0
        for statement in iter_statements(self.path, lines):
            if not statement.terminated or self.reader.feed(statement) is not None:
                return -1, 0
        if self.reader.block != "trees":
            return -1, 0
        return offset, len(lines)

    # -------------------------------------------------------------------------- reading
    def __iter__(self) -> Iterator[TreeBatch]:
        if self.format == "revbayes" or self.format in TABLE_FORMATS:
            self._new_buffers()
            index = -1
            rows = (iter_revbayes_trees(self.path, self.taxa, rooted=self.rooted, keep=self.keep)
                    if self.format == "revbayes" else
                    iter_table_trees(self.path, self.taxa, format=self.format, rooted=self.rooted, keep=self.keep))
            for index, line, tree in rows:
                if tree is not None:
                    yield from self._append(tree, index, line)
            yield from self._flush()
            self._finish(index + 1)
            return
        offset, n_lines = self._header() if self.nexus else (0, 0)
        if offset < 0:
            self.reader = NexusTreeReader(self.path, self.taxa, default_rooted=self.default_rooted, rooted=self.rooted)
            self._tables()
            self._new_buffers()
            yield from self._slow(0, 1, 0)
            return
        self._tables()
        self._new_buffers()
        self.state[kernel.S_LINE] = n_lines
        yield from self._fast(offset)

    def _fast(self, offset: int) -> Iterator[TreeBatch]:
        state = self.state
        carry = b""
        data_offset = offset
        with open(self.path, "rb") as handle:
            handle.seek(offset)
            while True:
                block = handle.read(CHUNK_BYTES)
                data = carry + block
                if block:
                    cut = data.rfind(b"\n") + 1
                    if cut == 0:
                        carry = data
                        continue
                else:
                    cut = len(data)
                carry = data[cut:]
                buffer = np.frombuffer(data, dtype=np.uint8)
                state[kernel.S_POS] = 0
                while True:
                    status = self._call(buffer, cut, data)
                    if status == kernel.NEED_MORE:
                        break
                    if status == kernel.HARD_FULL:
                        continue
                    if status == kernel.FULL:
                        yield from self._flush()
                        continue
                    start, end = int(state[kernel.S_LINE_START]), int(state[kernel.S_LINE_END])
                    if status == kernel.FALLBACK and (yield from self._fallback(data[start:end])):
                        state[kernel.S_POS] = end + 1
                        state[kernel.S_LINE] += 1
                        continue
                    if status == kernel.FALLBACK:
                        state[kernel.S_INDEX] -= 1
                    yield from self._slow(data_offset + start, int(state[kernel.S_LINE]) + 1,
                                          int(state[kernel.S_INDEX]))
                    return
                data_offset += cut
                if not block:
                    break
        yield from self._flush()
        self._finish(int(state[kernel.S_INDEX]))

    def _call(self, buffer: np.ndarray, n: int, data: bytes) -> int:
        state, out = self.state, self.out.arrays
        first_tree = int(state[kernel.S_TREES])
        state[kernel.S_HARD] = 0
        status = kernel.parse_lines(buffer, n, self.options, self.labels, out, self.work, state)
        n_hard = int(state[kernel.S_HARD])
        # flat lists of ints: a list per span would make the garbage collector run over and over
        if n_hard:
            flat = out.hard_span[:n_hard].ravel().tolist()
            out.length[out.hard_node[:n_hard]] = [float(data[flat[k]:flat[k + 1]]) for k in range(0, len(flat), 2)]
        last_tree = int(state[kernel.S_TREES])
        if self.nexus:
            flat = out.name_span[first_tree:last_tree].ravel().tolist()
            self.out.names.extend([data[flat[k]:flat[k + 1]].decode("utf-8", errors="replace")
                                   for k in range(0, len(flat), 2)])
        else:
            self.out.names.extend([None] * (last_tree - first_tree))
        return status

    def _append(self, tree: Tree, index: int, line: int) -> Iterator[TreeBatch]:
        if len(self.taxa) != self._n_taxa:
            yield from self._flush()
            self._tables()
            self._new_buffers()
        state = self.state
        size = tree.n_nodes
        key_size = len(tree.topology_key()) // 8
        if not self.out.fits(int(state[kernel.S_TREES]), int(state[kernel.S_NODES]) + size,
                             int(state[kernel.S_KEYS]) + key_size):
            yield from self._flush()
            if not self.out.fits(0, size, key_size):
                self.out = _Buffers(self.first_batch, size + self.max_nodes, self.n_words, self.nodes_per_tree,
                                    self.canonical_keys)
        self.out.append(tree, index, line, state)

    def _fallback(self, raw: bytes):
        """Parse one line the kernel handed back; False when it is not a single tree statement."""
        line = int(self.state[kernel.S_LINE]) + 1
        statements = list(iter_statements(self.path, [raw.decode("utf-8", errors="replace")], first_line=line))
        if len(statements) != 1 or not statements[0].terminated:
            return False
        index = int(self.state[kernel.S_INDEX]) - 1
        if self.nexus:
            found = self.reader.feed(statements[0])
            if found is None:
                return False
            tree = self.reader.parse(found)
        else:
            text = statements[0].text
            tree = parse_newick(text + ";", self.taxa, rooted=statement_rooting(text, self.rooted, self.default_rooted),
                                path=self.path, line=line)
        yield from self._append(tree, index, line)
        return True

    def _slow(self, offset: int, first_line: int, first_index: int) -> Iterator[TreeBatch]:
        """Reference readers from byte ``offset`` (line ``first_line``, tree ``first_index``) to the end."""
        with open(self.path, "rb") as handle:
            handle.seek(offset)
            text = io.TextIOWrapper(handle, encoding="utf-8-sig" if offset == 0 else "utf-8", errors="replace")
            statements = iter_statements(self.path, text, first_line=first_line)
            if self.nexus:
                pairs = iter_nexus_tree_statements(self.reader, statements, self.keep, first_index)
            else:
                pairs = iter_newick_statements(statements, self.taxa, self.path, rooted=self.rooted,
                                               default_rooted=self.default_rooted, keep=self.keep,
                                               first_index=first_index)
            n_trees = first_index
            for index, line, tree in pairs:
                if tree is not None:
                    yield from self._append(tree, index, line)
                n_trees = index + 1
        yield from self._flush()
        self._finish(n_trees)

    def _finish(self, n_trees: int) -> None:
        if self.reader is not None:
            self.reader.finish(n_trees)
        if n_trees == 0:
            raise EmptyInputError("no tree found", self.path)


def iter_tree_batches(path: str | Path, *, format: str = "auto", taxa: TaxonNamespace | None = None,
                      rooted: bool | None = None, n_burnin: int = 0, thin: int = 1,
                      batch_size: int = 4096) -> Iterator[TreeBatch]:
    """Stream the trees of one file as :class:`TreeBatch` objects (see the module docstring).

    ``n_burnin`` trees are skipped at the start (without being parsed) and every ``thin``-th
    tree after them is kept. ``rooted`` forces the rooting (None: ``[&R]`` / ``[&U]``, then the
    format's default). Annotations are not kept (use :func:`phylo_vi.io.read_trees` with
    ``keep_annotations=True``).
    """
    path = Path(path)
    fmt = detect_format(path) if format == "auto" else format
    taxa = TaxonNamespace() if taxa is None else taxa
    return iter(_BatchReader(path, fmt, taxa, rooted, int(n_burnin), int(thin), int(batch_size)))

