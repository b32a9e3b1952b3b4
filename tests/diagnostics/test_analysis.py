"""``phylo_vi.analyze``: run discovery, the report folder, MAP/MCC trees, burn-in alignment, pandas."""
import math
import shutil
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import phylo_vi
from phylo_vi.analysis import AlignmentWarning
from phylo_vi.errors import EmptyInputError, PhyloVIError
from phylo_vi.io import read_trees
from phylo_vi.io.runs import discover_runs

DATA = Path(__file__).resolve().parents[2] / "data" / "mrbayes"
REFERENCE = Path(__file__).parent / "mrbayes_reference"


@pytest.fixture(scope="module")
def analysis():
    return phylo_vi.analyze(DATA / "example.nex")


def test_discovery_of_basenames_folders_and_companions(tmp_path):
    by_base = discover_runs(DATA / "example.nex")
    assert [run.name for run in by_base.runs] == ["example.nex.run1", "example.nex.run2"]
    assert all(run.trees and run.parameters for run in by_base.runs)
    assert discover_runs(DATA).runs == by_base.runs  # sumt.log in the folder is not a parameter table
    single = discover_runs(DATA / "example.nex.run2.p")
    assert single.basename == "example.nex" and single.runs[0].trees == DATA / "example.nex.run2.t"
    with pytest.raises(EmptyInputError, match="no run files with this basename"):
        discover_runs(tmp_path / "nothing")
    for name in ("a.run1.t", "b.run1.t"):
        shutil.copy(DATA / "example.nex.run1.t", tmp_path / name)
    with pytest.raises(PhyloVIError, match="runs of several analyses"):
        discover_runs(tmp_path)


def test_report_files_equal_mrbayes(analysis, tmp_path):
    analysis.write_report(tmp_path)
    # mb 3.2.7a sump / sumt on the same runs (mrbayes_reference/README.md)
    assert (tmp_path / "example.nex.pstat").read_text() == (REFERENCE / "example.nex.pstat").read_text()
    assert (tmp_path / "example.nex.con.tre").read_text() == (REFERENCE / "example.nex.con.tre").read_text()
    html = (tmp_path / "report.html").read_text()
    assert html.index("NOT CONVERGED") < html.index("Parameters") < html.index("Consensus tree")
    assert "http" not in html.replace("http-equiv", "")  # self-contained: no external resource


def test_figures_drawn_beside_the_sbn_fits_give_the_same_report(analysis, tmp_path):
    # prepare_report=True draws the figures (and computes the .vstat statistics) while the two SBN-EM fits run
    # on the other thread: the SBN
    # probabilities and every report file must be those of the plain sequential analysis
    switch_interval = sys.getswitchinterval()
    overlapped = phylo_vi.analyze(DATA / "example.nex", threads=2, prepare_report=True)
    assert sys.getswitchinterval() == switch_interval  # shortened while the threads run, then restored
    assert set(overlapped.figure_images) == {"traces", "densities", "consensus", "split_frequencies", "asdsf",
                                             "split_scatter", "topological_ess"}
    np.testing.assert_array_equal(overlapped.topology_model.probabilities, analysis.topology_model.probabilities)
    for name, result in (("overlapped", overlapped), ("sequential", analysis)):
        result.write_report(tmp_path / name)
    for path in sorted((tmp_path / "sequential").iterdir()):
        assert (tmp_path / "overlapped" / path.name).read_bytes() == path.read_bytes(), path.name


def test_map_topology_is_mrbayes_trprobs_first_tree(analysis):
    trprobs = read_trees([DATA / "example.nex.trprobs"], taxa=analysis.partitions.taxa)
    first = next(iter(trprobs))
    assert first.topology_key() == analysis.topologies.keys[0]
    assert analysis.topologies.probabilities[0] == pytest.approx(first.weight, abs=5e-7)  # [&W 0.xxxxxx]


def test_mcc_tree_maximises_the_clade_credibility(analysis):
    sample = read_trees([DATA / f"example.nex.run{i}.t" for i in (1, 2)], taxa=analysis.partitions.taxa)
    header, rows = analysis.tables()["splits"]
    probability = {row[1]: row[3] for row in rows}
    n_taxa = analysis.partitions.n_taxa

    def score(tree):
        total = 0.0
        for split in tree.splits():
            pattern = "".join("*" if (int.from_bytes(split.tobytes(), "little") >> t) & 1 else "."
                              for t in range(n_taxa))
            total += math.log(probability.get(pattern, np.nan))
        return total

    scores = [score(tree) for tree in sample]
    finite = [s for s in scores if not math.isnan(s)]
    assert analysis.mcc_log_credibility == pytest.approx(max(finite), rel=1e-12)
    assert score(analysis.mcc_tree) == pytest.approx(max(finite), rel=1e-12)


def test_parameter_burnin_is_aligned_by_generation(tmp_path):
    for i in (1, 2):
        shutil.copy(DATA / f"example.nex.run{i}.t", tmp_path / f"x.run{i}.t")
        lines = (DATA / f"example.nex.run{i}.p").read_text().splitlines(keepends=True)
        (tmp_path / f"x.run{i}.p").write_text("".join(lines[:2] + lines[12:]))  # rows of gens 0..360 missing
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = phylo_vi.analyze(tmp_path / "x")
    assert any(issubclass(w.category, AlignmentWarning) for w in caught)
    trace = result.parameter_traces[0]
    # trees keep gen.5000 onward (125 of 501 dropped); so must the parameters
    assert trace.generations[result.parameter_burnin[0]] == 5000


def test_to_pandas_tables(analysis):
    try:
        import pandas  # noqa: F401
    except ModuleNotFoundError:
        with pytest.raises(PhyloVIError, match="needs pandas"):
            analysis.to_pandas()
        return
    frames = analysis.to_pandas()
    assert len(frames["parameters"]) == 11  # the 11 rows of MrBayes' .pstat
    assert frames["topologies"]["probability"].sum() == pytest.approx(1.0)


def test_sbn_probabilities_track_the_sample_and_sum_below_one(analysis):
    model = analysis.topology_model
    # the SBN smooths the 24 sampled frequencies; with 752 trees it stays within sampling error of them
    assert np.allclose(model.probabilities, analysis.topologies.probabilities, atol=0.01)
    assert 0.0 <= model.mass_unsampled < 0.01
    assert model.probabilities.sum() + model.mass_unsampled == pytest.approx(1.0)
    # run 1 misses topologies holding 2 of run 2's 376 trees (0.53%): counted from the topology table
    header, rows = analysis.tables()["topologies"]
    run1, run2 = header.index("count_example.nex.run1"), header.index("count_example.nex.run2")
    assert model.unseen_srf == pytest.approx(sum(r[run2] for r in rows if r[run1] == 0) / 376)
    assert model.unseen_sbn <= model.unseen_srf


def test_held_out_scores_of_runs_without_a_shared_topology_are_not_a_number(analysis):
    # run 1 holds the even-ranked topologies, run 2 the odd ones: the frequencies of run 1 score none of
    # run 2's trees, so no mean log probability compares the SBN with them (NaN, not 0)
    from phylo_vi.analysis.topology_model import fit_topology_model

    counts = analysis.topology_run_counts.sum(axis=1)
    rank = np.arange(len(counts))
    disjoint = np.stack([np.where(rank % 2 == 0, counts, 0), np.where(rank % 2 == 1, counts, 0)], axis=1)
    model = fit_topology_model(analysis.topologies, disjoint)
    assert math.isnan(model.held_out_sbn) and math.isnan(model.held_out_srf)
    assert model.unseen_srf == pytest.approx(1.0, abs=1e-12)
    assert 0.0 <= model.unseen_sbn < 1.0  # the SBN still scores run-2 topologies built from run-1 subsplits


def _rooted_newick(rng, n_taxa: int) -> str:
    parts = [f"{i + 1}:{rng.uniform(0.1, 1):.4f}" for i in range(n_taxa)]
    while len(parts) > 1:
        i, j = sorted(rng.choice(len(parts), 2, replace=False))
        joined = f"({parts[i]},{parts[j]}):{rng.uniform(0.1, 1):.4f}"
        parts = [p for k, p in enumerate(parts) if k not in (i, j)] + [joined]
    return parts[0].rsplit(":", 1)[0] + ";"


def test_beast_runs_rooted_clades(tmp_path):
    rng = np.random.default_rng(5)
    for run in (1, 2):
        pool = [_rooted_newick(rng, 6) for _ in range(5)]
        lines = ["#NEXUS", "Begin trees;", "\tTranslate"]
        lines += [f"\t\t{i + 1} {name}{',' if i < 5 else ''}" for i, name in enumerate("abcdef")] + ["\t\t;"]
        lines += [f"tree STATE_{s * 100} = {pool[rng.integers(5)]}" for s in range(300)] + ["End;"]
        (tmp_path / f"b{run}.trees").write_text("\n".join(lines) + "\n")
        log = ["# BEAST v2.6.7", "Sample\tposterior\tclockRate"]
        log += [f"{s * 100}\t{-100 + rng.normal():.4f}\t{1 + 0.1 * rng.normal():.4f}" for s in range(300)]
        (tmp_path / f"b{run}.log").write_text("\n".join(log) + "\n")
    result = phylo_vi.analyze([tmp_path / "b1.trees", tmp_path / "b2.trees"], min_clade_freq=0.0)  # all compatible
    assert [row.parameter for row in result.parameter_rows] == ["posterior", "clockRate"]  # BEAST: every column
    assert result.consensus.table.rooted and result.topology_model is None
    # every consensus clade's probability is its frequency among the kept rooted trees (brute force)
    sample = read_trees([tmp_path / "b1.trees", tmp_path / "b2.trees"], taxa=result.partitions.taxa)
    clades = [{row.tobytes() for row in tree.nontrivial_clades()} for tree in sample]
    internal = [node for node in result.consensus.nodes() if node.taxon < 0 and node is not result.consensus.root]
    assert internal
    for node in internal:
        key = result.partitions.partitions[node.partition].tobytes()
        assert result.consensus.probability(node) == pytest.approx(np.mean([key in c for c in clades]))


def test_a_summary_file_is_not_a_chain():
    with pytest.raises(PhyloVIError, match="summary, not an MCMC chain"):
        phylo_vi.analyze(DATA / "example.nex.trprobs")


def test_split_tables_of_more_than_1024_taxa_are_refused_in_one_line(tmp_path):
    # beyond 16 bitset words the reader keys topologies by canonical codes and keeps no clades
    taxa = [f"t{i}" for i in range(1100)]
    caterpillar = taxa[0]
    for name in taxa[1:]:
        caterpillar = f"({caterpillar},{name})"
    path = tmp_path / "wide.nwk"
    path.write_text(caterpillar + ";\n" + caterpillar + ";\n")
    with pytest.raises(PhyloVIError, match="up to 1,024 taxa"):
        phylo_vi.analyze([path])
