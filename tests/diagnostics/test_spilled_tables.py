"""The partition table's per-tree data lives in anonymous temporary files, and chunking changes nothing.

- ``analyze`` with chunks of a few hundred nodes and a few trees (``CHUNK_NODES`` = 300,
  ``CHUNK_ITEMS`` = 60: dozens of chunks per run), batches counted in slices of 500 nodes
  (``SLICE_NODES``), writes every report file byte for byte as with the default sizes (one chunk
  and one slice per run on the example), whose ``.pstat``/``.con.tre``/``.vstat`` other tests
  compare with MrBayes 3.2.7a: the streamed windows, topological ESS, MCC tree, consensus lengths and
  ``.vstat`` statistics are the in-memory ones;
- the first tree of each topology (MCC tree) comes back from its file with bit-identical lengths and
  its name (None, empty and non-ASCII included);
- the temporary files are unlinked at once (nothing appears in ``$TMPDIR``, link count 0) and are
  closed by :meth:`PartitionTable.close` or when the table is garbage-collected (no descriptor of
  this process refers to them any more); a temporary folder that cannot be written is one
  :class:`PhyloVIError` naming it and TMPDIR.
"""
import gc
import os
import tempfile
from pathlib import Path

import numpy as np
import pytest

import phylo_vi
from phylo_vi.diagnostics import branch_length_store, mrbayes_partitions, tree_split_store
from phylo_vi.diagnostics.mrbayes_partitions import count_partitions
from phylo_vi.io import read_trees

DATA = Path(__file__).resolve().parents[2] / "data" / "mrbayes"


def _report(folder: Path) -> tuple[tuple[int, int], dict[str, bytes]]:
    analysis = phylo_vi.analyze(DATA / "example.nex", threads=1)
    analysis.write_report(folder)
    table = analysis.partitions
    n_chunks = (len(table.branch_lengths._chunks[0]), len(list(table.tree_split_chunks(0))))
    return n_chunks, {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


def test_report_files_do_not_depend_on_the_chunk_sizes(tmp_path, monkeypatch):
    chunks, default = _report(tmp_path / "default")
    assert chunks == (1, 1)
    monkeypatch.setattr(branch_length_store, "CHUNK_NODES", 300)
    monkeypatch.setattr(tree_split_store, "CHUNK_ITEMS", 60)
    monkeypatch.setattr(mrbayes_partitions, "SLICE_NODES", 500)
    chunks, small = _report(tmp_path / "small")
    assert chunks[0] >= 376 * 26 // 300 and chunks[1] >= 376 // 5  # 26 nodes, 11 splits a tree
    assert small.keys() == default.keys() and {"example.nex.vstat", "example.nex.con.tre", "mcc.nwk"} <= set(small)
    for name, content in default.items():
        assert small[name] == content, name


def _open_inodes() -> set[tuple[int, int]]:
    inodes = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            status = os.stat(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        inodes.add((status.st_dev, status.st_ino))
    return inodes


def _table(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    sample = read_trees([DATA / f"example.nex.run{i}.t" for i in (1, 2)], burnin=0.25)
    table = count_partitions([run.batches() for run in sample.runs])
    spills = [table.branch_lengths._spill, table.tree_splits._spill]
    inodes = {(os.fstat(s.fileno()).st_dev, os.fstat(s.fileno()).st_ino) for s in spills}
    assert all(os.fstat(s.fileno()).st_nlink == 0 for s in spills)  # unlinked at once
    assert list(tmp_path.iterdir()) == []
    assert len(inodes) == 2 and inodes <= _open_inodes()
    # 2 runs x 376 trees: 26 lengths a tree as int32 codes; 11 split ids and the count as int32
    assert table.branch_lengths.disk_bytes == 2 * 376 * 26 * 4
    assert table.tree_splits.disk_bytes == 2 * 376 * 12 * 4
    return table, inodes


def test_spill_files_are_unlinked_and_closed_with_the_table(tmp_path, monkeypatch):
    table, inodes = _table(tmp_path, monkeypatch)
    assert np.all(np.isfinite(table.pooled_lengths(1)))  # readable while open
    table.close()
    assert table.branch_lengths._spill.closed and table.tree_splits._spill.closed
    assert not inodes & _open_inodes()
    with pytest.raises(ValueError):
        table.pooled_lengths(1)


def test_spill_files_are_closed_when_the_table_is_dropped(tmp_path, monkeypatch):
    table, inodes = _table(tmp_path, monkeypatch)
    del table
    gc.collect()
    assert not inodes & _open_inodes()


def test_first_trees_of_topologies_round_trip_through_their_file():
    from phylo_vi.analysis.pipeline import _FirstTrees

    rng = np.random.default_rng(4)
    trees = [(rng.exponential(size=n), name) for n, name in [(5, "gen.100"), (9, None), (1, "état 7 🌳"), (26, "")]]
    store = _FirstTrees()
    for lengths, name in trees:
        store.add(lengths, name)
    for topology, (lengths, name) in reversed(list(enumerate(trees))):
        got, got_name = store.get(topology, len(lengths))
        assert got.tobytes() == lengths.tobytes() and got_name == name


def test_an_unwritable_temporary_folder_is_one_error_line(tmp_path, monkeypatch):
    from phylo_vi.util.spill_file import SpillFile
    from phylo_vi.errors import PhyloVIError

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "missing"))
    with pytest.raises(PhyloVIError, match="cannot write a temporary file in .*missing.*set TMPDIR"):
        SpillFile()
