"""One vocabulary on the command line and in the API the CLI calls (issue 13 item 6).

The README's options table is checked against the commands' real options, every command has
``--json`` and ``-q``, and each old spelling still works for one release, with a
DeprecationWarning (API) or a note on stderr (CLI), and gives the same result as the new one.
"""
from __future__ import annotations

import re
from importlib.resources import files
from pathlib import Path

import click
import numpy as np
import pytest

from phylo_vi.cli.main import cli, main

README = Path(__file__).resolve().parents[2] / "README.md"
RUN1 = str(files("phylo_vi.data") / "mrbayes" / "example.nex.run1.t")
COLUMNS = ("--seed", "--threads", "--workers", "-o", "--json", "-q")


def leaf_commands(group: click.Group = cli, prefix: str = "phylo-vi") -> dict[str, click.Command]:
    """Every runnable command by its full name (``phylo-vi sbn fit``)."""
    ctx = click.Context(group)
    found = {}
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        path = f"{prefix} {name}"
        found.update(leaf_commands(command, path) if isinstance(command, click.Group) else {path: command})
    return found


def readme_table() -> dict[str, dict[str, bool]]:
    """The README's options table: command -> {column: option present}."""
    text = README.read_text(encoding="utf-8")
    section = text.split("## Command-line options", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        match = re.match(r"\| `(phylo-vi [^`]+)` \|(.*)\|\s*$", line)
        if match:
            cells = [cell.strip() for cell in match.group(2).split("|")]
            assert len(cells) == len(COLUMNS), line
            rows[match.group(1)] = {column: cell != "—" for column, cell in zip(COLUMNS, cells)}
    return rows


def has_option(command: click.Command, option: str) -> bool:
    return any(option in parameter.opts for parameter in command.params if isinstance(parameter, click.Option))


def test_readme_options_table_matches_the_commands():
    table, commands = readme_table(), leaf_commands()
    assert set(table) == set(commands)
    for name, command in commands.items():
        actual = {column: has_option(command, column) for column in COLUMNS}
        assert table[name] == actual, name


def test_every_command_has_json_and_quiet_and_workers_means_dask():
    for name, command in leaf_commands().items():
        assert has_option(command, "--json") and has_option(command, "-q"), name
        if has_option(command, "--workers"):
            assert "Dask" in next(p.help for p in command.params if "--workers" in p.opts), name
        if has_option(command, "-o"):  # -o is a prefix (or a report folder), and --help says what it writes
            assert next(p for p in command.params if "-o" in p.opts).metavar in ("PREFIX", "DIR"), name


def test_seed_is_non_negative_everywhere():
    for name, command in leaf_commands().items():
        seed = next((p for p in command.params if "--seed" in p.opts), None)
        if seed is not None:
            assert isinstance(seed.type, click.IntRange) and seed.type.min == 0, name


def run_cli(capsys, *args):
    try:
        main(list(args))
        status = 0
    except SystemExit as exit_:
        status = exit_.code
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_old_and_new_burnin_count_give_the_same_summary(capsys):
    _, new, _ = run_cli(capsys, "trees", "summary", RUN1, "--n-burnin", "100", "--json", "-q")
    status, old, err = run_cli(capsys, "trees", "summary", RUN1, "--burnin-trees", "100", "--json", "-q")
    assert status == 0 and old == new and "deprecated" in err
    assert '"n_burnin": 100' in new  # 501 trees, the first 100 dropped


def test_read_trees_burnin_trees_is_deprecated():
    from phylo_vi.io.trees import read_trees

    with pytest.warns(DeprecationWarning, match="n_burnin"):
        old = read_trees(RUN1, burnin_trees=10)
    assert len(old) == len(read_trees(RUN1, n_burnin=10)) == 501 - 10
    with pytest.raises(TypeError, match="both"):
        read_trees(RUN1, burnin_trees=10, n_burnin=10)


def test_sbn_n_jobs_is_deprecated_for_n_threads():
    from phylo_vi.sbn import make_estimator

    with pytest.warns(DeprecationWarning, match="n_threads"):
        old = make_estimator("em", n_jobs=3)
    assert old.n_threads == make_estimator("em", n_threads=3).n_threads == 3


def test_likelihood_threads_is_deprecated_for_n_threads():
    from phylo_vi.io import read_alignment
    from phylo_vi.io.newick import parse_newick
    from phylo_vi.likelihood import TreeLikelihood
    from phylo_vi.trees import TaxonNamespace

    patterns = read_alignment(files("phylo_vi.data") / "example.fasta").site_patterns()
    tree = parse_newick((files("phylo_vi.data") / "example.true.nwk").read_text(), TaxonNamespace(patterns.taxa))
    with pytest.warns(DeprecationWarning, match="n_threads"):
        old = TreeLikelihood(patterns, tree, "JC", threads=2)
    assert old.threads == TreeLikelihood(patterns, tree, "JC", n_threads=2).threads == 2


def test_compare_estimators_seed_is_deprecated_for_random_state():
    from phylo_vi.vi.estimator_comparison import compare_estimators

    settings = dict(n_evaluations=2, n_repeats=64, estimators=["reinforce"])
    with pytest.warns(DeprecationWarning, match="random_state"):
        old = compare_estimators("bernoulli", seed=7, **settings)
    new = compare_estimators("bernoulli", random_state=7, **settings)
    assert old["estimators"][0]["mean_gradient"] == new["estimators"][0]["mean_gradient"]  # same draws


def test_denoise_and_grid_seed_is_deprecated_for_random_state():
    from phylo_vi.genotype import denoise
    from phylo_vi.marginal.grid import run_grid

    observed = np.array([[1, 1, 0], [1, 0, 3], [0, 1, 1]], dtype=np.int8)
    with pytest.warns(DeprecationWarning, match="random_state"):
        old = denoise(observed, 0.01, 0.2, n_candidates=2, seed=4)
    new = denoise(observed, 0.01, 0.2, n_candidates=2, random_state=4)
    assert np.array_equal(old.matrix, new.matrix)
    with pytest.warns(DeprecationWarning, match="random_state"):
        assert run_grid(None, [], ["ml"], seed=3) == []  # no topology: no cell


def test_a_group_without_subcommand_prints_its_help(capsys):
    status, out, err = run_cli(capsys, "sbn")
    assert (status, err) == (0, "") and out.startswith("Usage: phylo-vi sbn") and "sample" in out


@pytest.mark.parametrize("name", sorted(leaf_commands()))
def test_every_command_has_help(capsys, name):
    status, out, err = run_cli(capsys, *name.split()[1:], "--help")
    assert (status, err) == (0, "") and out.startswith(f"Usage: {name} ")


@pytest.mark.parametrize("make, old, new", [
    (lambda **kw: __import__("phylo_vi.marginal", fromlist=["SteppingStone"]).SteppingStone(**kw), "burnin", "n_burnin"),
    (lambda **kw: __import__("phylo_vi.marginal", fromlist=["HarmonicMean"]).HarmonicMean(**kw), "burnin", "n_burnin"),
    (lambda **kw: __import__("phylo_vi.sbn", fromlist=["SubsplitBayesianNetwork"]).SubsplitBayesianNetwork(**kw),
     "n_jobs", "n_threads"),
])
def test_estimator_old_parameter_names_warn_and_mean_the_new_ones(make, old, new):
    # burnin is a fraction everywhere; the estimators' counts are n_burnin, their threads n_threads
    with pytest.warns(DeprecationWarning, match=new):
        estimator = make(**{old: 7})
    assert getattr(estimator, new) == 7 and old not in estimator.get_params()
    assert estimator.get_params() == make(**{new: 7}).get_params()
    with pytest.raises(TypeError, match="both"):
        make(**{old: 7, new: 7})
