r"""Branch lengths grouped by partition, stored exactly in 4 bytes where the text allows it.

``sumt``'s ``.vstat`` and the consensus need, for every partition, its branch lengths in file
order (Welford mean and variance, PSRF per run) and sorted (median, HPD): every value must be
kept, exactly. MrBayes writes lengths as ``%.6e``, seven significant digits; such a value is
:math:`m \cdot 10^{e-6}` with an integer :math:`10^6 \le m < 10^7`, and the double the reader
made of it is the correctly rounded :math:`m \times 10^{e-6}`: for :math:`|e - 6| \le 22` one
IEEE multiplication or division of two exact doubles (Clinger 1990, PLDI '90, the fast path).
So the pair is stored as one int32 code :math:`(e + 16) \cdot 10^7 + m` (0 for 0, −1 for NaN,
the root's length) and decoded by that same operation. A value that does not round-trip
bit-for-bit (more digits, negative, out of range) sends its whole chunk to float64 storage.

Lengths arrive in batches of nodes with their partition ids; they are buffered up to
:data:`CHUNK_NODES` nodes (or a batch, when larger), cut into chunks of at most that many, each
grouped by partition (stable counting sort, file order kept),
encoded and written to an anonymous temporary file (:mod:`~phylo_vi.util.spill_file`, in ``$TMPDIR``): 4 bytes
of disk per node for MrBayes files, 8 otherwise. Memory holds the buffer and, per chunk, the
partitions present with their offsets (12 bytes each), nothing per node; :meth:`lengths` reads
one partition's slice of every chunk back with ``pread``.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from phylo_vi.util.spill_file import SpillFile

CHUNK_NODES = 1 << 18
_MANTISSA = 10_000_000
_EXPONENT_OFFSET = 16
_MAX_EXPONENT = 22
_NAN_CODE = -1
_POW10 = np.array([10.0 ** k for k in range(23)])


@njit(cache=True, nogil=True)
def _decode_one(code: np.int64, powers: np.ndarray) -> float:
    if code == _NAN_CODE:
        return np.nan
    m = float(code % _MANTISSA)
    k = code // _MANTISSA - _EXPONENT_OFFSET - 6
    return m * powers[k] if k >= 0 else m / powers[-k]


@njit(cache=True, nogil=True)
def _encode(values: np.ndarray, powers: np.ndarray, out: np.ndarray) -> bool:
    """Codes of ``values`` into ``out``; False as soon as one value does not round-trip."""
    for i in range(values.shape[0]):
        x = values[i]
        if np.isnan(x):
            out[i] = _NAN_CODE
            continue
        if x == 0.0:
            out[i] = 0
            continue
        if not (x > 0.0 and x < 1e300):
            return False
        guess = int(np.floor(np.log10(x)))
        found = False
        for e in (guess, guess - 1, guess + 1):
            if e < -_EXPONENT_OFFSET or e > _MAX_EXPONENT:
                continue
            k = e - 6
            m = np.round(x / powers[k] if k >= 0 else x * powers[-k])
            if m < 1e6 or m >= 1e7:
                continue
            code = (e + _EXPONENT_OFFSET) * _MANTISSA + np.int64(m)
            if _decode_one(code, powers) == x:
                out[i] = code
                found = True
                break
        if not found:
            return False
    return True


@njit(cache=True, nogil=True)
def _decode(codes: np.ndarray, powers: np.ndarray) -> np.ndarray:
    out = np.empty(codes.shape[0])
    for i in range(codes.shape[0]):
        out[i] = _decode_one(np.int64(codes[i]), powers)
    return out


@njit(cache=True, nogil=True)
def _group(ids: np.ndarray, values: np.ndarray, n_ids: int) -> tuple[np.ndarray, np.ndarray]:
    """Stable counting sort of ``values`` by ``ids``: (grouped values, offsets (n_ids + 1,))."""
    offsets = np.zeros(n_ids + 1, dtype=np.int64)
    for i in range(ids.shape[0]):
        offsets[ids[i] + 1] += 1
    for j in range(n_ids):
        offsets[j + 1] += offsets[j]
    cursor = offsets[:-1].copy()
    grouped = np.empty(values.shape[0])
    for i in range(ids.shape[0]):
        grouped[cursor[ids[i]]] = values[i]
        cursor[ids[i]] += 1
    return grouped, offsets


class _Chunk:
    """Grouped lengths of a run of consecutive nodes, on disk from byte ``start``: partition
    ``present[j]``'s values are items ``offsets[j]:offsets[j + 1]`` (int32 codes or float64)."""

    def __init__(self, ids: np.ndarray, values: np.ndarray, n_ids: int, spill: SpillFile) -> None:
        grouped, offsets = _group(ids, values, n_ids)
        sizes = np.diff(offsets)
        self.present = np.flatnonzero(sizes).astype(np.int32)
        self.offsets = np.concatenate([[0], np.cumsum(sizes[self.present])])
        codes = np.empty(len(grouped), dtype=np.int32)
        stored = codes if _encode(grouped, _POW10, codes) else grouped
        self.dtype = stored.dtype
        self.start = spill.append(stored)

    def lengths(self, index: int, spill: SpillFile) -> np.ndarray | None:
        j = int(np.searchsorted(self.present, index))
        if j == len(self.present) or self.present[j] != index:
            return None
        first, count = int(self.offsets[j]), int(self.offsets[j + 1] - self.offsets[j])
        values = spill.read(self.start + first * self.dtype.itemsize, count, self.dtype)
        return _decode(values, _POW10) if self.dtype == np.int32 else values

    @property
    def nbytes(self) -> int:
        """Bytes of memory (the index; the values are on disk)."""
        return self.present.nbytes + self.offsets.nbytes


class BranchLengthStore:
    """The branch lengths of every partition in every run, in file order (module docstring)."""

    def __init__(self, n_runs: int, chunk_nodes: int | None = None) -> None:
        self.chunk_nodes = CHUNK_NODES if chunk_nodes is None else chunk_nodes
        self._spill = SpillFile()
        self._chunks: list[list[_Chunk]] = [[] for _ in range(n_runs)]
        self._pending: list[list[tuple[np.ndarray, np.ndarray]]] = [[] for _ in range(n_runs)]
        self._pending_nodes = [0] * n_runs
        self._n_ids = 0

    def add(self, run: int, ids: np.ndarray, lengths: np.ndarray, n_ids: int) -> None:
        """Append the nodes ``ids`` (partition ids < ``n_ids``) with their ``lengths`` to ``run``."""
        self._n_ids = max(self._n_ids, n_ids)
        self._pending[run].append((ids, np.array(lengths, dtype=np.float64)))
        self._pending_nodes[run] += len(ids)
        if self._pending_nodes[run] >= self.chunk_nodes:
            self._flush(run)

    def _flush(self, run: int) -> None:
        """Group and write the buffered nodes, in chunks of at most ``chunk_nodes``."""
        if self._pending[run]:
            ids = np.concatenate([ids for ids, _ in self._pending[run]])
            values = np.concatenate([values for _, values in self._pending[run]])
            for first in range(0, len(ids), self.chunk_nodes):
                last = first + self.chunk_nodes
                self._chunks[run].append(_Chunk(ids[first:last], values[first:last], self._n_ids, self._spill))
        self._pending[run], self._pending_nodes[run] = [], 0

    def finish(self) -> None:
        """Group what is still buffered (call once every node is added)."""
        for run in range(len(self._chunks)):
            self._flush(run)

    def lengths(self, index: int, run: int) -> np.ndarray:
        """Branch lengths of partition ``index`` in ``run``, file order."""
        parts = [part for part in (chunk.lengths(index, self._spill) for chunk in self._chunks[run])
                 if part is not None]
        return np.concatenate(parts) if parts else np.zeros(0)

    def close(self) -> None:
        """Delete the lengths (close the temporary file)."""
        self._spill.close()

    @property
    def nbytes(self) -> int:
        """Bytes of memory: the chunks' indices."""
        return sum(chunk.nbytes for chunks in self._chunks for chunk in chunks)

    @property
    def disk_bytes(self) -> int:
        """Bytes of the temporary file."""
        return self._spill.size
