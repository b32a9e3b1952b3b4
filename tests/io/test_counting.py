"""The byte scanner that counts NEXUS tree statements for the burn-in, against the reader and hand counts,
with the scanner's state carried across every possible chunk boundary."""
from __future__ import annotations

import pytest

from phylo_vi.io import counting
from phylo_vi.io.counting import count_trees
from phylo_vi.io.trees import read_trees

# 4 tree statements (counted by hand): an upper-case TREE, a utree, a tree whose name is quoted with a
# ';' inside, and a tree after a comment holding ';' and the word tree. Not trees: "trees" (a longer first
# word), a comment-only "[tree x = (A,B,C);]" and the "begin trees;" / "end;" statements.
TRICKY = """#NEXUS
[ a comment ; tree fake = (A,B,C); ]
begin trees;
    TREE first = [&U] (A:0.1,(B:0.2,C:0.3):0.4,D:0.5);
    utree second = ((A,B),C,D);
    tree 'third; quoted' = [&U] ((A,C),B,D);
    [tree not_a_tree = (A,B,C,D);] tree fourth = [note ; tree] ((A,D),B,C);
    trees fifth = (A,B,C,D);
end;
"""


@pytest.fixture
def tricky(tmp_path):
    path = tmp_path / "tricky.nex"
    path.write_text(TRICKY)
    return path


def test_tricky_statements_counted_by_hand(tricky):
    assert count_trees(tricky, "nexus") == 4


@pytest.mark.parametrize("chunk", [1, 2, 3, 5, 7, 64])
def test_state_carried_across_chunks(tricky, monkeypatch, chunk):
    monkeypatch.setattr(counting, "CHUNK_BYTES", chunk)
    assert count_trees(tricky, "nexus") == 4


def test_count_equals_the_readers_on_a_mrbayes_run():
    from pathlib import Path

    path = Path(__file__).parent / "data" / "mrbayes_run.t"
    assert count_trees(path, "mrbayes") == len(read_trees(path, burnin=0))
