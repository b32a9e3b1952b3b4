"""Data safety (issue 14 item 1): no output replaces an input, several outputs change all together
or not at all, and a bad output location is refused before the work starts.

The mechanism is :class:`phylo_vi.util.outputs.OutputSet`; the commands use it through
``phylo_vi.cli.common.planned_outputs`` and ``writing``.
"""
from __future__ import annotations

import errno
import json
import os
from importlib.resources import files
from pathlib import Path

import pytest

from phylo_vi.cli.main import main
from phylo_vi.errors import OutputLocationError, PhyloVIError
from phylo_vi.util.outputs import FOLDER_MARKER, STAGING_PREFIX, OutputSet, output_path

MRBAYES = files("phylo_vi.data") / "mrbayes"
RUN1 = str(MRBAYES / "example.nex.run1.t")


def run_cli(capsys, *args) -> tuple[int, str, str]:
    try:
        main([str(arg) for arg in args])
        status = 0
    except SystemExit as exit_:
        status = exit_.code
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def listing(folder: Path) -> dict[str, bytes]:
    return {str(path.relative_to(folder)): path.read_bytes() if path.is_file() else b"<dir>"
            for path in sorted(folder.rglob("*"))}


# ------------------------------------------------------------------------------ OutputSet
def test_output_path_appends_the_suffix_unless_present():
    assert output_path("run", ".json") == Path("run.json")
    assert output_path("run.json", ".json") == Path("run.json")
    assert output_path("run.t", ".json") == Path("run.t.json")
    assert output_path("dir/.json", ".json") == Path("dir/.json.json")  # a bare suffix is no name


def test_an_output_that_is_an_input_is_refused(tmp_path):
    source = tmp_path / "run.t"
    source.write_text("data")
    for target in (source, tmp_path / "." / "run.t", Path(os.path.relpath(source))):
        with pytest.raises(OutputLocationError, match="is an input"):
            OutputSet({"out": target}, [source]).check()
    link = tmp_path / "hard.t"
    os.link(source, link)  # the same file under another name
    with pytest.raises(OutputLocationError, match="is an input"):
        OutputSet({"out": link}, [source]).check()
    symlink = tmp_path / "soft.t"
    symlink.symlink_to(source)
    with pytest.raises(OutputLocationError, match="is an input"):
        OutputSet({"out": symlink}, [source]).check()
    assert source.read_text() == "data"


@pytest.mark.parametrize("make, message", [
    (lambda tmp: tmp / "folder", "is a directory"),
    (lambda tmp: tmp / "absent" / "out.tsv", "does not exist"),
    (lambda tmp: tmp / "file.txt" / "out.tsv", "is not a directory"),
])
def test_bad_locations_are_refused(tmp_path, make, message):
    (tmp_path / "folder").mkdir()
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(OutputLocationError, match=message):
        OutputSet({"out": make(tmp_path)}).check()


def test_two_outputs_with_one_path_are_refused(tmp_path):
    with pytest.raises(OutputLocationError, match="written twice"):
        OutputSet({"a": tmp_path / "x", "b": tmp_path / "." / "x"}).check()


@pytest.mark.parametrize("code, words", [(errno.ENOSPC, "no space left"), (errno.EROFS, "read-only"),
                                         (errno.EACCES, "permission denied")])
def test_unwritable_folder_is_refused_by_the_probe(tmp_path, monkeypatch, code, words):
    # a full disk fails when the probe is synced; read-only or forbidden folders when it is created
    def failing(*args, **kwargs):
        raise OSError(code, os.strerror(code))

    import tempfile

    monkeypatch.setattr(*((os, "fsync") if code == errno.ENOSPC else (tempfile, "mkstemp")), failing)
    with pytest.raises(OutputLocationError, match=words):
        OutputSet({"out": tmp_path / "out.tsv"}).check()
    monkeypatch.undo()
    assert listing(tmp_path) == {}  # the probe is removed


def test_missing_parents_are_made_only_when_asked(tmp_path):
    target = tmp_path / "a" / "b" / "out.txt"
    with pytest.raises(OutputLocationError):
        OutputSet({"out": target}).check()
    with OutputSet({"out": target}, make_parents=True).staged() as staged:
        staged["out"].write_text("made")
    assert target.read_text() == "made"


def test_outputs_change_together_or_not_at_all(tmp_path):
    old = tmp_path / "old.tsv"
    old.write_text("previous result")
    new = tmp_path / "new.html"
    outputs = OutputSet({"tsv": old, "html": new})
    with pytest.raises(RuntimeError):
        with outputs.staged() as staged:
            staged["tsv"].write_text("half of a new result")
            raise RuntimeError("the run fails after writing one of its two files")
    assert listing(tmp_path) == {"old.tsv": b"previous result"}  # no new file, no staging folder
    with outputs.staged() as staged:
        staged["tsv"].write_text("new table")
        staged["html"].write_text("new page")
    assert listing(tmp_path) == {"new.html": b"new page", "old.tsv": b"new table"}


def test_a_disk_that_fills_up_while_writing_changes_nothing(tmp_path):
    old = tmp_path / "a.tsv"
    old.write_text("previous")
    with pytest.raises(OutputLocationError, match="no space left.*no output was changed"):
        with OutputSet({"a": old, "b": tmp_path / "b.tsv"}).staged() as staged:
            staged["a"].write_text("new")
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(staged["b"]))
    assert listing(tmp_path) == {"a.tsv": b"previous"}


def test_a_failed_rename_puts_the_previous_files_back(tmp_path, monkeypatch):
    first, second = tmp_path / "a.tsv", tmp_path / "b.tsv"
    first.write_text("old a")
    outputs = OutputSet({"a": first, "b": second})
    real_replace = os.replace
    calls = []

    def replace(source, target):
        calls.append(target)
        if Path(target) == second:  # the last rename fails (say, the disk was unmounted)
            raise OSError(errno.EIO, "input/output error", str(target))
        return real_replace(source, target)

    with pytest.raises(OutputLocationError, match="no output was changed"):
        with outputs.staged() as staged:
            staged["a"].write_text("new a")
            staged["b"].write_text("new b")
            monkeypatch.setattr(os, "replace", replace)
    monkeypatch.undo()
    assert listing(tmp_path) == {"a.tsv": b"old a"}
    assert second in calls


def test_an_announced_output_that_was_not_written_is_an_error(tmp_path):
    with pytest.raises(OutputLocationError, match="not written"):
        with OutputSet({"a": tmp_path / "a", "b": tmp_path / "b"}).staged() as staged:
            staged["a"].write_text("only one")
    assert listing(tmp_path) == {}


def test_a_report_folder_is_written_whole_and_replaces_only_its_own_kind(tmp_path):
    report = tmp_path / "report"
    with pytest.raises(RuntimeError):
        with OutputSet({}, folders={"report": report}).staged() as staged:
            (staged["report"] / "a.tsv").write_text("half a report")
            raise RuntimeError("the run fails while writing its folder")
    assert listing(tmp_path) == {}  # no folder, no staging folder
    with OutputSet({}, folders={"report": report}).staged() as staged:
        (staged["report"] / "a.tsv").write_text("first")
    assert sorted(path.name for path in report.iterdir()) == [FOLDER_MARKER, "a.tsv"]
    with OutputSet({}, folders={"report": report}).staged() as staged:  # a rerun replaces the whole folder
        (staged["report"] / "b.tsv").write_text("second")
    assert sorted(path.name for path in report.iterdir()) == [FOLDER_MARKER, "b.tsv"]
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("the user's")
    with pytest.raises(OutputLocationError, match="not empty"):
        OutputSet({}, folders={"report": mine}).check()
    with pytest.raises(OutputLocationError, match="holds .*notes.txt, an input"):
        OutputSet({}, [mine / "notes.txt"], folders={"report": mine}).check()
    assert (mine / "notes.txt").read_text() == "the user's"


# --------------------------------------------------------------------------- the commands
def test_sbn_fit_never_replaces_its_tree_file(capsys, tmp_path):
    # issue 14: `sbn fit run.t -o run.t` replaced the trees by the model, exit 0
    run = tmp_path / "run.t"
    run.write_bytes(Path(RUN1).read_bytes())
    status, _, err = run_cli(capsys, "sbn", "fit", run, "--method", "srf", "-o", run)
    assert status == 0 and run.read_bytes() == Path(RUN1).read_bytes()
    assert json.loads((tmp_path / "run.t.json").read_text())["format"] == "phylo_vi.sbn"
    assert err == f"wrote: {run}.json\n"
    named = tmp_path / "run.json"
    named.write_bytes(Path(RUN1).read_bytes())
    status, _, err = run_cli(capsys, "sbn", "fit", named, "--method", "srf", "-o", named)
    assert status == 2 and "is an input" in err and named.read_bytes() == Path(RUN1).read_bytes()


def test_trees_summary_prefix_naming_its_input_is_refused(capsys, tmp_path):
    table = tmp_path / "x.trprobs.tsv"
    table.write_bytes(Path(RUN1).read_bytes())  # a chain that happens to carry the name of an output
    status, out, err = run_cli(capsys, "trees", "summary", table, "-o", tmp_path / "x")
    assert (status, out) == (2, "") and "is an input" in err
    assert listing(tmp_path) == {"x.trprobs.tsv": Path(RUN1).read_bytes()}


def test_writing_commands_list_their_files_unless_quiet(capsys, tmp_path):
    status, _, err = run_cli(capsys, "trees", "summary", RUN1, "-o", tmp_path / "ex")
    assert status == 0 and err == f"wrote: {tmp_path / 'ex.trprobs.tsv'}, {tmp_path / 'ex.splits.tsv'}\n"
    status, _, err = run_cli(capsys, "trees", "summary", RUN1, "-o", tmp_path / "ex2", "-q")
    assert status == 0 and err == "" and (tmp_path / "ex2.splits.tsv").is_file()


def test_bad_output_location_is_found_before_the_work(capsys, tmp_path, monkeypatch):
    import phylo_vi.io.trees
    import phylo_vi.marginal.study

    def no_work(*args, **kwargs):
        raise AssertionError("the work started before the output location was checked")

    monkeypatch.setattr(phylo_vi.io.trees, "read_trees", no_work)
    monkeypatch.setattr(phylo_vi.marginal.study.MarginalStudy, "from_files", no_work)
    status, _, err = run_cli(capsys, "trees", "summary", RUN1, "-o", tmp_path / "absent" / "x")
    assert status == 2 and "does not exist" in err
    fasta = files("phylo_vi.data") / "example.fasta"
    status, _, err = run_cli(capsys, "marginal", str(fasta), RUN1, "-o", tmp_path / "absent" / "x")
    assert status == 2 and "does not exist" in err


def test_genotype_simulate_writes_both_files_or_neither(capsys, tmp_path, monkeypatch):
    import phylo_vi.genotype.formats

    real_write = phylo_vi.genotype.formats.write_sc
    written = []

    def write_then_fail(matrix, path, **kwargs):
        written.append(path)
        if len(written) == 2:
            raise PhyloVIError("disk failed while writing the second file")
        return real_write(matrix, path, **kwargs)

    monkeypatch.setattr(phylo_vi.genotype.formats, "write_sc", write_then_fail)
    status, _, err = run_cli(capsys, "genotype", "simulate", "--cells", "6", "--mutations", "5", "--clones", "3",
                             "--seed", "1", "-o", tmp_path / "sim")
    assert status == 2 and "second file" in err
    assert listing(tmp_path) == {}  # the first file was staged, never moved into place


def test_marginal_without_out_writes_nothing_beside_its_input(capsys, tmp_path):
    fasta = tmp_path / "q.fasta"
    fasta.write_text(">A\nACGTACGTAAGT\n>B\nACGTACGTTAGT\n>C\nACGAACGTAAGA\n>D\nTCGTACGTAAGA\n")
    trees = tmp_path / "q.txt"
    trees.write_text("0.7\t((A,B),C,D);\n0.3\t((A,C),B,D);\n")
    before = listing(tmp_path)
    status, out, err = run_cli(capsys, "marginal", fasta, trees, "--methods", "ml", "--seed", "3", "--json", "-q")
    assert status == 0, err
    assert listing(tmp_path) == before  # formerly q.txt.marginal.{tsv,json,html} appeared here
    summary = json.loads(out)
    assert summary["seed"] == 3 and len(summary["cells"]) == 2
    assert not any(name.startswith(STAGING_PREFIX) for name in os.listdir(tmp_path))
