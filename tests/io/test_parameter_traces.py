"""Parameter-trace readers: MrBayes ``.p``, BEAST ``.log``, RevBayes ``.log``; burn-in; errors."""
from pathlib import Path

import numpy as np
import pytest

from phylo_vi.errors import EmptyInputError, InputFormatError
from phylo_vi.io.beast_log import read_beast_log
from phylo_vi.io.mrbayes_parameters import read_mrbayes_parameters, summarised_by_sump
from phylo_vi.io.parameter_trace import burnin_count
from phylo_vi.io.revbayes_log import read_revbayes_log

DATA = Path(__file__).resolve().parents[2] / "data" / "mrbayes"


def test_mrbayes_p_file_shape_and_values():
    trace = read_mrbayes_parameters(DATA / "example.nex.run1.p")
    # the file: 501 samples (gen 0 .. 20000 every 40), Gen + 13 columns
    assert trace.n_samples == 501 and trace.generations[0] == 0 and trace.generations[-1] == 20000
    assert trace.columns[:3] == ("LnL", "LnPr", "TL") and len(trace.columns) == 13
    assert trace.column("LnL")[0] == -1.232700e04  # first row of the file
    assert [name for name in trace.columns if summarised_by_sump(name)][0] == "TL"


def test_burnin_truncates_like_mrbayes():
    assert burnin_count(501, 0.25) == 125  # sump: 376 of 501 kept
    assert burnin_count(100, 0.29) == 28  # 0.29 * 100 = 28.999999999999996 in doubles
    assert burnin_count(100, count=7) == 7


def test_model_indicators_are_not_summarised():
    assert not summarised_by_sump("aamodel") and not summarised_by_sump("AAMODEL[1]"[:7])
    assert not summarised_by_sump("gtrsubmodel") and not summarised_by_sump("LnL")
    assert summarised_by_sump("lnl") and summarised_by_sump("pi(A)")


def test_beast_and_revbayes_logs(tmp_path):
    beast = tmp_path / "run.log"
    beast.write_text("# BEAST v2.6.7\n# Generated Sun\nSample\tposterior\tlikelihood\n0\t-10.5\t-9.0\n1000\t-8.25\tNA\n")
    trace = read_beast_log(beast)
    assert trace.generations.tolist() == [0, 1000] and trace.columns == ("posterior", "likelihood")
    assert trace.values[1, 0] == -8.25 and np.isnan(trace.values[1, 1])
    rev = tmp_path / "rev.log"
    rev.write_text("Iteration\tPosterior\tpi[1]\n0\t-5.0\t0.25\n10\t-4.0\t0.3\n\n")
    assert read_revbayes_log(rev).column("pi[1]").tolist() == [0.25, 0.3]


def test_errors_name_file_and_line(tmp_path):
    bad = tmp_path / "bad.p"
    bad.write_text("[ID: 1]\nGen\tLnL\tTL\n0\t-1.0\t0.5\n10\t-1.0\n")
    with pytest.raises(InputFormatError, match=r"bad\.p, line 4: 2 fields where the header has 3"):
        read_mrbayes_parameters(bad)
    bad.write_text("Gen\tLnL\n0\t-1.0\n10\tx\n")
    with pytest.raises(InputFormatError, match=r"line 3: 'x' is not a number"):
        read_mrbayes_parameters(bad)
    bad.write_text("Gen\tLnL\n")
    with pytest.raises(EmptyInputError):
        read_mrbayes_parameters(bad)
    bad.write_text("state\tLnL\n0\t1\n")
    with pytest.raises(InputFormatError, match="first column is 'state'"):
        read_mrbayes_parameters(bad)
