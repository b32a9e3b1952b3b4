"""Split table and consensus tree against MrBayes 3.2.7a ``sumt``, byte for byte.

References: the bundled ``data/mrbayes/example.nex.parts``/``.tstat`` (written by ``mb`` at the end of
the example's ``mcmc``) and ``mrbayes_reference/*`` (``mb`` 3.2.7a, commands in its README.md).
"""
from pathlib import Path

import pytest

from phylo_vi.diagnostics.consensus import consensus_tree, format_con_tre
from phylo_vi.diagnostics.mrbayes_partitions import (average_sdsf, count_partitions, format_parts, format_tstat,
                                                     format_vstat, mrbayes_order)
from phylo_vi.io import read_trees

REFERENCE = Path(__file__).parent / "mrbayes_reference"
DATA = Path(__file__).resolve().parents[2] / "data" / "mrbayes"


def _table(burnin: float):
    sample = read_trees([DATA / f"example.nex.run{i}.t" for i in (1, 2)], burnin=burnin)
    return count_partitions([run.batches() for run in sample.runs])


def _without_stamp(path: Path) -> str:
    return "".join(line for line in path.read_text().splitlines(keepends=True) if not line.startswith("[ID:"))


@pytest.fixture(scope="module")
def default_table():
    return _table(0.25)


def test_parts_tstat_vstat_identical_to_sumt(default_table):
    order = mrbayes_order(default_table, 0.10)
    assert format_parts(default_table, order) == _without_stamp(DATA / "example.nex.parts")
    assert format_tstat(default_table, order) == _without_stamp(DATA / "example.nex.tstat")
    assert format_vstat(default_table, order) == (REFERENCE / "example.nex.vstat").read_text()


def test_asdsf_equals_sumt_screen(default_table):
    asdsf, max_sdsf = average_sdsf(default_table, mrbayes_order(default_table, 0.10))
    # data/mrbayes/sumt.log: "Average standard deviation of split frequencies = 0.013752", maximum 0.043254
    assert round(asdsf, 6) == 0.013752 and round(max_sdsf, 6) == 0.043254


def test_majority_rule_con_tre_identical_to_sumt(default_table):
    tree = consensus_tree(default_table, mrbayes_order(default_table, 0.10), 0.5)
    assert format_con_tre(tree) == (REFERENCE / "example.nex.con.tre").read_text()


def test_allcompat_minpartfreq_and_truncated_burnin_identical_to_sumt():
    table = _table(0.29)  # int(0.29 * 501) = 145 trees dropped per run; sumt: "sampling 712 of them"
    assert int(table.n_sampled.sum()) == 712
    order = mrbayes_order(table, 0.30)
    assert format_parts(table, order) == (REFERENCE / "allcompat.parts").read_text()
    assert format_tstat(table, order) == (REFERENCE / "allcompat.tstat").read_text()
    assert format_vstat(table, order) == (REFERENCE / "allcompat.vstat").read_text()
    assert format_con_tre(consensus_tree(table, order, 0.0)) == (REFERENCE / "allcompat.con.tre").read_text()
