"""``phylo-vi genotype`` through :func:`phylo_vi.cli.main.main`."""
from __future__ import annotations

import json

import numpy as np
import pytest

from phylo_vi.cli.main import main
from phylo_vi.genotype import GenotypeMatrix, is_conflict_free, read_genotype, repair, write_genotype
from phylo_vi.genotype.mutation_tree import mutation_tree, to_newick
from phylo_vi.genotype.simulate import simulate_experiment

NOISY = "phiscs_sim/noisy/simNo_1-s_10-m_100-h_1-minVAF_0.03-ISAV_0-n_100-fp_0.0001-fn_0.05-na_0-d_0-l_1000000.SC"


def run(capsys, *args):
    with pytest.raises(SystemExit) as info:
        main(list(args))
    captured = capsys.readouterr()
    return info.value.code, captured.out, captured.err


def run_ok(capsys, *args):
    main(list(args))
    return capsys.readouterr().out


def test_check_reports_the_documented_conflict_count(shared_data, capsys):
    out = run_ok(capsys, "genotype", "check", str(shared_data / "genotype" / NOISY), "--json")
    document = json.loads(out)
    assert document["n_conflicting_pairs"] == 661  # README of ../shared/data/genotype, simNo_1 fn 0.05
    assert len(document["conflicting_pairs"]) == 661 and document["linear"] is None


def test_simulate_denoise_evaluate_round_trip(tmp_path, capsys):
    prefix = tmp_path / "sim"
    run_ok(capsys, "genotype", "simulate", "--cells", "30", "--mutations", "20", "--clones", "5",
           "--fp", "0.001", "--fn", "0.15", "--missing", "0.05", "--seed", "4", "-o", str(prefix))
    out_path = tmp_path / "denoised.CFMatrix"
    document = json.loads(run_ok(capsys, "genotype", "denoise", f"{prefix}.SC", "--fp", "0.001", "--fn", "0.15",
                                 "-o", str(out_path), "--seed", "1", "--candidates", "2", "--json"))
    assert document["conflict_free"] and is_conflict_free(read_genotype(out_path).values)
    scores = json.loads(run_ok(capsys, "genotype", "evaluate", "--truth", f"{prefix}.ground.CFMatrix",
                               "--pred", str(out_path), "--json"))
    truth = read_genotype(f"{prefix}.ground.CFMatrix").values
    noisy = read_genotype(f"{prefix}.SC").values
    assert scores["conflict_free"]
    assert scores["entry_error"] == pytest.approx(np.mean(read_genotype(out_path).values != truth), rel=1e-12)
    assert scores["entry_error"] < np.mean(np.where(noisy == 3, 0, noisy) != truth)


def test_same_seed_same_simulation(tmp_path, capsys):
    for name in ("a", "b"):
        run_ok(capsys, "genotype", "simulate", "--cells", "10", "--mutations", "8", "--clones", "3",
               "--seed", "9", "-o", str(tmp_path / name))
    assert (tmp_path / "a.SC").read_text() == (tmp_path / "b.SC").read_text()


def test_bad_input_exits_2_with_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.SC"
    bad.write_text("cellIDxmutID\tm0\nc0\t5\n")
    code, _, err = run(capsys, "genotype", "check", str(bad))
    assert code == 2 and "line 2" in err and len(err.strip().splitlines()) == 1
    code, _, err = run(capsys, "genotype", "denoise", str(bad), "--fp", "2", "--fn", "0.1")
    assert code == 2


def test_train_writes_weights_that_denoise_loads(tmp_path, capsys):
    weights = tmp_path / "pointer.pt"
    document = json.loads(run_ok(capsys, "genotype", "train", "--supervised-steps", "1", "--policy-steps", "1",
                                 "--batch-size", "2", "--seed", "0", "-o", str(weights), "--quiet", "--json"))
    assert weights.exists() and np.isfinite(document["final_supervised_loss"])
    matrix = tmp_path / "m.SC"
    matrix.write_text("cellIDxmutID\tm0\tm1\tm2\nc0\t1\t1\t0\nc1\t1\t0\t3\nc2\t0\t1\t1\n")
    out = json.loads(run_ok(capsys, "genotype", "denoise", str(matrix), "--fp", "0.01", "--fn", "0.2",
                            "--weights", str(weights), "--seed", "0", "--json"))
    assert out["conflict_free"]


DEMO = "huntress_demo/Demo.SC"
DEMO_TRUTH = "phiscs_sim/ground/simNo_1-s_10-m_100-n_100.ground.SC"


def test_denoise_demo_without_rates_beats_huntress(shared_data, tmp_path, capsys):
    # the done-when: no rates given; conflict-free matrix, mutation tree and estimated rates
    # written; fewer wrong entries than HUNTRESS's Demo_out.CFMatrix (71 of 10,000, recounted here)
    folder = shared_data / "genotype"
    prefix = tmp_path / "demo"
    document = json.loads(run_ok(capsys, "genotype", "denoise", str(folder / DEMO), "-o", str(prefix),
                                 "--seed", "0", "--candidates", "2", "--json", "-q"))
    truth = read_genotype(folder / DEMO_TRUTH).values
    ours = read_genotype(f"{prefix}.CFMatrix").values
    huntress = read_genotype(folder / "huntress_demo/Demo_out.CFMatrix").values
    assert is_conflict_free(ours) and document["conflict_free"]
    assert int((ours != truth).sum()) < int((huntress != truth).sum()) == 71
    saved = json.loads((tmp_path / "demo.json").read_text())
    assert saved["rates_estimated"]["fn"] == pytest.approx(document["fn"]) and saved["rates_estimated"]["converged"]
    assert (tmp_path / "demo.tree.nwk").read_text() == to_newick(
        mutation_tree(ours, [f"mut{j}" for j in range(100)], [f"cell{i}" for i in range(100)]))
    assert (tmp_path / "demo.tree.dot").read_text().startswith("digraph")
    assert "data:image/png;base64," in (tmp_path / "demo.html").read_text()


@pytest.mark.slow
def test_denoise_1000_cells_without_rates_uses_the_repair_alone(tmp_path, capsys):
    # --network auto skips the network; the repair still removes most noise
    prefix = tmp_path / "big"
    run_ok(capsys, "genotype", "simulate", "--cells", "1000", "--mutations", "100", "--clones", "10",
           "--fp", "0.001", "--fn", "0.1", "--missing", "0.15", "--seed", "3", "-o", str(prefix), "-q")
    document = json.loads(run_ok(capsys, "genotype", "denoise", f"{prefix}.SC", "-o", str(tmp_path / "out"),
                                 "--seed", "0", "--json", "-q"))
    assert not document["network_used"] and document["conflict_free"]
    truth = read_genotype(f"{prefix}.ground.CFMatrix").values
    noisy = read_genotype(f"{prefix}.SC").values
    ours = read_genotype(tmp_path / "out.CFMatrix").values
    assert np.mean(ours != truth) < 0.1 * np.mean(np.where(noisy == 3, 0, noisy) != truth)
    assert abs(document["fn"] - 0.1) < 0.02


def test_denoise_with_a_doublet_rate_lists_the_called_cells(tmp_path, capsys):
    # a 5% doublet simulation: the listed cells are the API's calls, and true doublets
    sim = simulate_experiment("clonal", 100, 60, n_clones=8, fp=1e-3, fn=0.1, missing_rate=0.1,
                              doublet_rate=0.05, random_state=2)
    path = tmp_path / "d.SC"
    write_genotype(GenotypeMatrix(sim.observed), path)
    document = json.loads(run_ok(capsys, "genotype", "denoise", str(path), "--fp", "0.001", "--fn", "0.1",
                                 "--doublet-rate", "0.05", "--no-network", "--json"))
    called = repair(sim.observed, 1e-3, 0.1, doublet_rate=0.05).doublets
    assert document["doublet_cells"] == [f"cell{i}" for i in np.flatnonzero(called)]
    assert document["n_doublets"] == int(called.sum()) > 0
    assert set(np.flatnonzero(called)) <= set(np.flatnonzero(sim.doublets))
