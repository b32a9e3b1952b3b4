"""Parameter-trace readers: MrBayes ``.p``, BEAST ``.log``, RevBayes ``.log``; burn-in; errors."""
from pathlib import Path

import numpy as np
import pytest

from phylo_vi.errors import EmptyInputError, InputFormatError
from phylo_vi.io.beast_log import read_beast_log
from phylo_vi.io.mrbayes_parameters import read_mrbayes_parameters, summarised_by_sump
from phylo_vi.io.parameter_trace import burnin_count, read_tab_trace
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


def _read_small_chunks(path, chunk_lines):
    return read_tab_trace(path, "mrbayes", is_comment=lambda line: line.startswith("["), generation_names=("gen",),
                          chunk_lines=chunk_lines)


def _same_bits(a, b):
    return a.shape == b.shape and np.array_equal(a.view(np.int64), b.view(np.int64))


@pytest.mark.parametrize("chunk_lines", [1, 7, 50, 501, 10_000])
def test_spilled_columns_equal_an_independent_parse(chunk_lines):
    # reference: numpy's own parse of the whole file; the trace's columns come back from the temporary
    # file in chunks of `chunk_lines` rows (501 rows: one row a chunk, uneven chunks, one chunk) bit for bit
    path = DATA / "example.nex.run1.p"
    reference = np.loadtxt(path, delimiter="\t", skiprows=2, ndmin=2)
    trace = _read_small_chunks(path, chunk_lines)
    assert trace.table.n_rows == 501 and trace.generations.tolist() == reference[:, 0].astype(np.int64).tolist()
    for index, name in enumerate(trace.columns):
        assert _same_bits(trace.column(name), reference[:, index + 1]), name
    assert _same_bits(trace.values, reference[:, 1:])
    for cut in (0, 49, 50, 125, 500):  # on a chunk boundary and inside a chunk
        kept = trace.after_burnin(cut)
        assert kept.n_samples == 501 - cut and _same_bits(kept.column("TL"), reference[cut:, 3])
        assert _same_bits(kept.values, reference[cut:, 1:])


def test_spilled_random_doubles_and_nan_are_exact(tmp_path):
    # %.17g writes every double exactly (17 significant digits round-trip), so the parse must return
    # the generated bits; NA fields become NaN
    rng = np.random.default_rng(5)
    table = rng.standard_normal((203, 4)) * 10.0 ** rng.integers(-300, 300, (203, 4))
    table[[3, 100, 202], [0, 2, 3]] = np.nan
    lines = ["\t".join(["Gen", "a", "b", "c", "d"])]
    lines += ["\t".join([str(10 * row)] + ["NA" if np.isnan(x) else "%.17g" % x for x in values])
              for row, values in enumerate(table)]
    path = tmp_path / "random.p"
    path.write_text("\n".join(lines) + "\n")
    trace = _read_small_chunks(path, 16)
    for index, name in enumerate("abcd"):
        assert _same_bits(trace.column(name), table[:, index]), name


def test_restarted_file_keeps_the_rows_after_the_last_header_across_chunks(tmp_path):
    # a restarted run appends a second header: the rows before it are dropped, as sump does
    first = "".join(f"{g}\t{-g}.5\n" for g in range(0, 100, 10))
    second = "".join(f"{g}\t{g}.25\n" for g in range(0, 50, 10))
    path = tmp_path / "restart.p"
    path.write_text(f"[ID: 1]\nGen\tLnL\n{first}[ID: 2]\nGen\tLnL\n{second}")
    trace = _read_small_chunks(path, 3)
    assert trace.generations.tolist() == [0, 10, 20, 30, 40]
    assert trace.column("LnL").tolist() == [0.25, 10.25, 20.25, 30.25, 40.25]


def test_errors_in_a_later_chunk_name_file_and_line(tmp_path):
    rows = "".join(f"{g}\t-1.0\t0.5\n" for g in range(0, 200, 10))  # lines 3..22
    bad = tmp_path / "bad.p"
    bad.write_text(f"[ID: 1]\nGen\tLnL\tTL\n{rows}200\t-1.0\n")
    with pytest.raises(InputFormatError, match=r"bad\.p, line 23: 2 fields where the header has 3"):
        _read_small_chunks(bad, 4)
    bad.write_text(f"Gen\tLnL\tTL\n{rows}200\t-1.0\tx\n")
    with pytest.raises(InputFormatError, match=r"bad\.p, line 22: 'x' is not a number"):
        _read_small_chunks(bad, 4)
    bad.write_text(f"Gen\tLnL\tTL\n{rows}100\t-1.0\t0.5\n")
    with pytest.raises(InputFormatError, match=r"generation 100 does not increase \(sample 21\)"):
        _read_small_chunks(bad, 4)
