"""The ``vae-digits`` comparison: a short run end to end (every estimator at the same decoder
evaluations, exact held-out scores, checkpoint gradient moments, GECO against beta-annealing),
and the one-line error naming the extra when scikit-learn is missing."""
from __future__ import annotations

import json
import sys

import pytest

from phylo_vi.cli.main import main


def run_cli(capsys, *args):
    """Run ``phylo-vi ARGS``; return (exit status, stdout, stderr)."""
    try:
        main(list(args))
        status = 0
    except SystemExit as exit_:
        status = exit_.code
    captured = capsys.readouterr()
    return status, captured.out, captured.err
from phylo_vi.vi.vae.comparison import digits_report_paths, run_vae_digits, write_vae_digits_report
from phylo_vi.vi.vae.discrete_objectives import DISCRETE_ESTIMATORS



def test_short_comparison_is_consistent(tmp_path, device, dtype):
    document = run_vae_digits(seed=0, device=device, dtype=dtype, n_steps=20, gaussian_steps=20,
                              n_gradient_repeats=4, n_checkpoints=2, n_evaluation_points=2)
    runs = {run["estimator"]: run for run in document["discrete_estimators"]["runs"]}
    assert list(runs) == list(DISCRETE_ESTIMATORS)
    budgets = {run["decoder_evaluations"][-1] for run in runs.values()}
    assert budgets == {20 * 64 * 4}                         # exact: 8 steps x 64 x 10 categories
    for run in runs.values():
        assert run["heldout_neg_log_marginal"][-1] <= run["heldout_neg_elbo"][-1] + 1e-9
    for checkpoint in document["discrete_estimators"]["checkpoints"]:
        exact = checkpoint["estimators"]["exact"]
        assert exact["encoder"]["variance"] == pytest.approx(0.0, abs=1e-20)
        assert exact["encoder"]["squared_bias"] == pytest.approx(0.0, abs=1e-20)
    weightings = {run["weighting"]: run for run in document["kl_weighting"]["runs"]}
    assert set(weightings) == {"elbo", "beta-annealing", "geco 0.9", "geco 0.8"}
    assert weightings["geco 0.9"]["final_multiplier"] > 0
    assert weightings["geco 0.8"]["target_per_pixel"] == pytest.approx(
        0.8 * weightings["elbo"]["heldout_reconstruction_per_pixel"])
    write_vae_digits_report(digits_report_paths(tmp_path / "vae"), document)
    assert len((tmp_path / "vae.tsv").read_text().splitlines()) == 1 + len(DISCRETE_ESTIMATORS)
    assert "<img" in (tmp_path / "vae.html").read_text() or "<svg" in (tmp_path / "vae.html").read_text()
    assert json.loads((tmp_path / "vae.json").read_text())["problem"] == "vae-digits"


def test_missing_scikit_learn_is_one_line_naming_the_extra(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "sklearn", None)
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    status, _, stderr = run_cli(capsys, "vi", "compare-estimators", "--problem", "vae-digits", "--seed", "0", "-q")
    assert status == 2
    assert len(stderr.strip().splitlines()) == 1
    assert "phylo_vi[benchmarks]" in stderr
