"""The UFBoot support: the IQ-TREE command line, reading its bootstrap trees, and a real run (slow)."""
from __future__ import annotations

import json
import os
import stat

import numpy as np
import pytest

from phylo_vi.errors import PhyloVIError
from phylo_vi.sbn.edges import unrooted_edge_tables
from phylo_vi.trees.taxa import TaxonNamespace
from phylo_vi.vbpi.ufboot import ufboot_samples
from .five_taxa import fasta_text, five_taxon_alignment

# a stand-in for iqtree2: records its arguments, writes PREFIX.ufboot with 1000 trees (two topologies)
FAKE_IQTREE = """#!/bin/sh
echo "$@" >> "{log}"
while [ $# -gt 0 ]; do
  if [ "$1" = "--prefix" ]; then prefix="$2"; fi
  shift
done
i=0
while [ $i -lt 700 ]; do echo "(t0,t1,(t2,(t3,t4)));"; i=$((i+1)); done > "$prefix.ufboot"
while [ $i -lt 1000 ]; do echo "(t0,t2,(t1,(t3,t4)));"; i=$((i+1)); done >> "$prefix.ufboot"
"""


@pytest.fixture
def alignment_file(tmp_path):
    path = tmp_path / "five.fasta"
    path.write_text(fasta_text(five_taxon_alignment()))
    return path


@pytest.fixture
def fake_iqtree(tmp_path, monkeypatch):
    """The stand-in first on the PATH; returns the file its calls are logged to."""
    log = tmp_path / "calls.txt"
    fake = tmp_path / "bin" / "iqtree2"
    fake.parent.mkdir()
    fake.write_text(FAKE_IQTREE.format(log=log))
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", str(fake.parent) + os.pathsep + os.environ["PATH"])
    return log


def test_replicates_run_iqtree_with_the_paper_settings_and_read_every_bootstrap_tree(alignment_file, fake_iqtree):
    log = fake_iqtree
    samples = ufboot_samples(alignment_file, TaxonNamespace(), seed=5, n_replicates=3)
    calls = log.read_text().splitlines()
    assert len(samples) == 3 and len(calls) == 3
    assert all("-B 1000 --boot-trees" in call and "-m JC" in call for call in calls)
    assert [call.split("--seed ")[1].split()[0] for call in calls] == ["5", "6", "7"]
    tables = unrooted_edge_tables(samples[0])
    np.testing.assert_allclose(sorted(tables.weights), [0.3, 0.7])  # no burn-in: all 1000 trees count


def test_cli_support_ufboot_builds_the_support_on_the_spot(capsys, tmp_path, alignment_file, fake_iqtree):
    from phylo_vi.cli.main import main

    main(["vbpi", "fit", str(alignment_file), "--support", "ufboot", "--seed", "2", "--iters", "5", "--eval-runs", "4",
          "--is-particles", "10", "--is-repeats", "2", "--posterior-trees", "0", "-q", "-o", str(tmp_path / "u"),
          "--json"])
    document = json.loads(capsys.readouterr().out)
    assert len(fake_iqtree.read_text().splitlines()) == 10  # the paper's 10 replicates
    assert document["support"] == ["ufboot"] and document["support_seconds"] >= 0
    # two topologies in the bootstrap trees: their splits make the support (2n - 3 = 7 root splits + 1 more split)
    assert document["support_size"]["root_splits"] == 8


def test_missing_iqtree_is_a_clear_error(alignment_file, monkeypatch):
    monkeypatch.setattr("phylo_vi.vbpi.ufboot.shutil.which", lambda name: None)
    with pytest.raises(PhyloVIError, match="apt-get install iqtree"):
        ufboot_samples(alignment_file, TaxonNamespace())


@pytest.mark.slow
def test_real_ufboot_replicates_put_the_best_topology_in_the_support(alignment_file, five_taxa):
    # needs IQ-TREE 2 (Debian package iqtree); reference: the exact posterior of tests/vbpi/five_taxa.py,
    # whose mode (p = 0.78) every bootstrap replicate must contain
    samples = ufboot_samples(alignment_file, TaxonNamespace(five_taxa.taxa), n_replicates=2, seed=1)
    mode = five_taxa.trees[int(np.argmax(five_taxa.posterior))].topology_key()
    for sample in samples:
        assert len(sample) == 1000
        assert mode in {sample.tree(i).topology_key() for i in range(len(sample))}
