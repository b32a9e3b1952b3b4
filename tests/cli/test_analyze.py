"""``phylo-vi analyze``: the report folder, JSON, default output folder and one-line errors."""
import json
import shutil
from pathlib import Path

from phylo_vi.cli.main import main

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "data" / "mrbayes"
REFERENCE = REPO / "tests" / "diagnostics" / "mrbayes_reference"


def _run(capsys, *args):
    try:
        main(["analyze", *args])
        status = 0
    except SystemExit as exit_:
        status = exit_.code
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_analyze_basename_writes_mrbayes_identical_files(capsys, tmp_path):
    status, out, _ = _run(capsys, str(DATA / "example.nex"), "-o", str(tmp_path / "out"), "--json", "-q")
    assert status == 0
    document = json.loads(out)
    assert document["converged"] is False
    names = {Path(path).name for path in document["outputs"]}
    assert {"report.html", "analysis.json", "parameters.tsv", "splits.tsv", "topologies.tsv",
            "example.nex.con.tre", "example.nex.pstat", "consensus.nwk", "mcc.nwk", "map.nwk"} <= names
    # byte-identical to mb 3.2.7a sump/sumt (commands in tests/diagnostics/mrbayes_reference/README.md)
    for name in ("example.nex.pstat", "example.nex.con.tre", "example.nex.vstat"):
        assert (tmp_path / "out" / name).read_text() == (REFERENCE / name).read_text()


def test_default_folder_is_in_the_current_directory(capsys, tmp_path, monkeypatch):
    runs = tmp_path / "runs"
    runs.mkdir()
    for i in (1, 2):  # the tree files alone, without their .p companions
        shutil.copy(DATA / f"example.nex.run{i}.t", runs)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    status, out, _ = _run(capsys, str(runs / "example.nex.run1.t"), str(runs / "example.nex.run2.t"), "-q",
                          "--n-burnin", "125")
    assert status == 0
    assert (work / "example.nex.phylo-vi" / "report.html").is_file()
    assert not (runs / "example.nex.phylo-vi").exists()
    assert out.startswith("NOT CONVERGED")  # topological ESS and ASDSF; no parameter file given
    assert "min parameter ESS" not in out
    # a rerun replaces the report folder it wrote before, as a whole
    (work / "example.nex.phylo-vi" / "stale.txt").write_text("from an older run")
    assert _run(capsys, str(runs / "example.nex.run1.t"), str(runs / "example.nex.run2.t"), "-q")[0] == 0
    assert (work / "example.nex.phylo-vi" / "report.html").is_file()
    assert not (work / "example.nex.phylo-vi" / "stale.txt").exists()
    assert sorted(path.name for path in work.iterdir()) == ["example.nex.phylo-vi"]  # no staging folder left


def test_input_error_is_one_line(capsys, tmp_path):
    status, _, err = _run(capsys, str(tmp_path / "missing_basename"), "-o", str(tmp_path / "x"), "-q")
    assert status == 2
    assert err.startswith("phylo-vi: error: ") and "no run files with this basename" in err
    assert len(err.strip().splitlines()) == 1


def test_burnin_options_exclude_each_other(capsys, tmp_path):
    status, _, err = _run(capsys, str(DATA / "example.nex"), "--burnin", "0.3", "--n-burnin", "3", "-q")
    assert status == 2 and "Traceback" not in err
    assert "give either --burnin (a fraction) or --n-burnin (a count), not both" in err


def test_threads_do_not_change_any_output_file(capsys, tmp_path):
    # --threads 2 runs the parameter traces, the two SBN-EM fits and each parameter's summaries beside the
    # tree steps: every file of the report folder must be byte for byte that of --threads 1, and the MrBayes
    # files still mb 3.2.7a's (the independent reference)
    outputs = {}
    for threads in (1, 2):
        folder = tmp_path / f"threads{threads}"
        status, _, _ = _run(capsys, str(DATA / "example.nex"), "-o", str(folder), "-q", "--threads", str(threads))
        assert status == 0
        outputs[threads] = {path.name: path.read_bytes() for path in sorted(folder.iterdir())}
    assert {"report.html", "analysis.json", "topologies.tsv", "parameters.tsv", "tracer.tsv"} <= set(outputs[1])
    assert outputs[1] == outputs[2]
    for name in ("example.nex.pstat", "example.nex.con.tre", "example.nex.vstat"):
        assert outputs[2][name].decode() == (REFERENCE / name).read_text()
