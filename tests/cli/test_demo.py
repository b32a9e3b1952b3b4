"""``phylo-vi demo``: the summary of the bundled MrBayes runs, checked against MrBayes' sumt log."""
import json
import re
from importlib.resources import files

import pytest

from phylo_vi.cli.main import main


def _run(capsys, *args):
    try:
        main(["demo", *args])
        status = 0
    except SystemExit as exit_:
        status = exit_.code
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_demo_reports_mrbayes_asdsf(capsys):
    status, out, _ = _run(capsys, "-q")
    assert status == 0
    log = (files("phylo_vi.data") / "mrbayes" / "sumt.log").read_text()
    average = re.search(r"Average standard deviation of split frequencies = ([0-9.]+)", log).group(1)
    # the demo prints ASDSF with 6 decimals, as MrBayes does
    assert f"ASDSF (non-trivial splits with frequency >= 0.1 in some run): {average}" in out
    assert "trees kept: 752 of 1002; taxa: 14" in out


def test_demo_json_and_outputs(capsys, tmp_path):
    status, out, _ = _run(capsys, "--json", "-q", "-o", str(tmp_path / "demo"))
    assert status == 0
    document = json.loads(out)
    assert document["n_taxa"] == 14 and len(document["files"]) == 2
    assert document["asdsf"] == pytest.approx(0.013752, abs=5e-7)  # MrBayes sumt.log, bundled
    assert (tmp_path / "demo.trprobs.tsv").is_file() and (tmp_path / "demo.splits.tsv").is_file()
