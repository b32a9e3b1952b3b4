"""``phylo-vi vbpi fit`` on the 5-taxon problem through ``phylo_vi.cli.main.main``."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

from phylo_vi.cli.main import main
from phylo_vi.io.nexus import read_nexus_trees
from phylo_vi.io.newick import format_newick
from phylo_vi.vbpi.checkpoint import load_checkpoint
from .five_taxa import fasta_text, five_taxon_alignment

EVALUATION = ("--eval-runs", "20", "--is-particles", "200", "--is-repeats", "3", "--posterior-trees", "25")
SHORT = ("--warm-up", "100", "--learning-rate", "0.01", "--kl-every", "50", "-q", *EVALUATION)


def _run(capsys, *args):
    try:
        main(["vbpi", *map(str, args)])
        status = 0
    except SystemExit as exit_:
        status = exit_.code
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@pytest.fixture
def files(tmp_path, five_taxa):
    """FASTA of the alignment, a Newick support file of all 15 trees, a .trprobs file of the exact posterior."""
    alignment = tmp_path / "five.fasta"
    alignment.write_text(fasta_text(five_taxon_alignment()))
    support = tmp_path / "support.nwk"
    support.write_text("".join(format_newick(tree, lengths=False) + "\n" for tree in five_taxa.trees))
    golden = tmp_path / "golden.trprobs"
    rows = [f"   tree tree_{i + 1} = [&W {p:.10f}] {format_newick(tree, lengths=False)}\n"
            for i, (tree, p) in enumerate(zip(five_taxa.trees, five_taxa.posterior))]
    golden.write_text("#NEXUS\nbegin trees;\n" + "".join(rows) + "end;\n")
    return alignment, support, golden


def test_fit_writes_trace_summary_and_checkpoint_and_resumes_exactly(capsys, tmp_path, files):
    alignment, support, golden = files
    status, out, err = _run(capsys, "fit", alignment, "--support", support, "--golden", golden, "--seed", 3,
                            "--iters", 150, "-o", tmp_path / "whole", "--json", *SHORT)
    assert status == 0, err
    document = json.loads(out)
    assert document["iterations"] == 150 and document["seed"] == 3
    assert all(math.isfinite(document[key]) for key in ("elbo", "bound_10", "log_marginal", "kl"))
    assert document["elbo"] < document["bound_10"]
    # the support holds all 15 topologies (pooled golden frequencies sum to 1 up to rounding of w·750001)
    assert document["golden_mass_in_support"] == pytest.approx(1.0, abs=1e-5)
    trace = (tmp_path / "whole.trace.tsv").read_text().splitlines()
    assert trace[0].split("\t") == ["iteration", "beta", "learning_rate", "bound", "max_log_likelihood", "kl"]
    assert len(trace) == 151
    kl_column = np.array([float(line.split("\t")[5]) for line in trace[1:]])
    assert np.isfinite(kl_column[49::50]).all() and np.isnan(np.delete(kl_column, np.s_[49::50])).all()
    # the same run in two pieces: 100 iterations, then resumed to 150 from the checkpoint
    assert _run(capsys, "fit", alignment, "--support", support, "--golden", golden, "--seed", 3, "--iters", 100,
                "-o", tmp_path / "first", *SHORT)[0] == 0
    assert _run(capsys, "fit", alignment, "--golden", golden, "--iters", 150, "--resume", tmp_path / "first.ckpt",
                "-o", tmp_path / "second", *SHORT)[0] == 0
    assert (tmp_path / "second.trace.tsv").read_text() == (tmp_path / "whole.trace.tsv").read_text()
    assert len(list(read_nexus_trees(tmp_path / "whole.trees"))) == 25
    report = (tmp_path / "whole.html").read_text()
    assert "golden-run topology distribution" in report and report.count("<img") == 3
    assert 0 < document["map_probability"] <= 1 and 1 <= document["credible_set_95_size"] <= 15


def test_initial_log_std_sets_the_split_rows_log_std_column(capsys, tmp_path, files):
    # reference: two runs of the same seed before any training; only the split rows' log σ column differs, by
    # the difference of the two values (--initial-log-std 0 is vbpi-torch's initialisation)
    alignment, support, _ = files
    features = {}
    for name, extra in (("default", ()), ("zero", ("--initial-log-std", 0))):
        status, out, err = _run(capsys, "fit", alignment, "--support", support, "--seed", 5, "--iters", 0,
                                "-o", tmp_path / name, "--json", *extra, *SHORT)
        assert status == 0, err
        assert json.loads(out)["initial_log_std"] == (-1.0 if name == "default" else 0.0)
        state = load_checkpoint(tmp_path / f"{name}.ckpt")
        features[name] = state["posterior"]["branch.features"].numpy()
    n_root = len(state["support"]["root_splits"])
    difference = features["default"] - features["zero"]
    np.testing.assert_allclose(difference[:n_root, 1], -1.0, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(difference[:, 0], 0.0)
    np.testing.assert_array_equal(difference[n_root:, 1], 0.0)


def test_evaluate_a_checkpoint_gives_the_summary_of_the_run(capsys, tmp_path, files):
    alignment, support, golden = files
    assert _run(capsys, "fit", alignment, "--support", support, "--seed", 4, "--iters", 60, "-o", tmp_path / "run",
                *SHORT)[0] == 0
    status, out, err = _run(capsys, "evaluate", tmp_path / "run.ckpt", alignment, "--golden", golden,
                            "-o", tmp_path / "again", "--json", *EVALUATION)
    assert status == 0, err
    document = json.loads(out)
    fitted = json.loads((tmp_path / "run.json").read_text())
    assert document["iterations"] == 60 and document["seed"] == 4 and math.isfinite(document["kl"])
    # same parameters and the same evaluation generator (seed, iteration): the same numbers
    assert document["log_marginal"] == fitted["log_marginal"] and document["elbo"] == fitted["elbo"]


def test_missing_support_is_one_line_exit_2(capsys, tmp_path, files):
    alignment, _, _ = files
    status, _, err = _run(capsys, "fit", alignment, "-o", tmp_path / "x", "--seed", 1)
    assert status == 2
    assert err.strip().count("\n") == 0 and "--support" in err



def test_burnin_count_and_fraction_agree_and_a_run_resumes_under_its_own_prefix(capsys, tmp_path, files, five_taxa):
    alignment, _, _ = files
    support = tmp_path / "support.t"   # an MCMC chain (MrBayes .t): burn-in applies to chains only
    support.write_text("#NEXUS\nbegin trees;\n" + "".join(
        f"   tree gen.{100 * i} = [&U] {format_newick(tree, lengths=False)}\n"
        for i, tree in enumerate(five_taxa.trees)) + "end;\n")
    quick = ("--iters", 20, "--seed", 2, *EVALUATION)
    # 15 support trees: --burnin 0.34 drops int(0.34 * 15) = 5 of them (MrBayes convention), as --n-burnin 5 does
    status, _, err = _run(capsys, "fit", alignment, "--support", support, "--n-burnin", 5, "-o", tmp_path / "count",
                          *quick)
    assert status == 0 and err.startswith("wrote: ") and str(tmp_path / "count.json") in err  # listed without -q
    status, _, err = _run(capsys, "fit", alignment, "--support", support, "--burnin", 0.34, "-o",
                          tmp_path / "fraction", "-q", *quick)
    assert (status, err) == (0, "")
    count, fraction = (json.loads((tmp_path / f"{name}.json").read_text()) for name in ("count", "fraction"))
    assert count["support_size"] == fraction["support_size"] and count["elbo"] == fraction["elbo"]
    status, out, _ = _run(capsys, "fit", alignment, "--support", support, "--n-burnin", 0, "-o", tmp_path / "all",
                          "-q", "--json", *quick)
    assert status == 0 and json.loads(out)["support_size"] != count["support_size"]  # the burn-in did drop trees
    # the checkpoint is not one of the outputs written together: a run continues under its own prefix
    status, out, err = _run(capsys, "fit", alignment, "--iters", 30, "--resume", tmp_path / "count.ckpt",
                            "-o", tmp_path / "count", "--json", "-q", *EVALUATION)
    assert status == 0, err
    assert json.loads(out)["iterations"] == 30
    assert len((tmp_path / "count.trace.tsv").read_text().splitlines()) == 31
