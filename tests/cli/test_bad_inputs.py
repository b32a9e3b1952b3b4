"""A catalogue of bad inputs to every command (issue 14, items 5 and 7).

Each case runs ``phylo-vi`` in this process (:func:`phylo_vi.cli.main.main`, stdout and stderr
captured) inside a folder of small valid and broken input files, and must:

* exit with status 2;
* print exactly one line on stderr, the error, and no traceback;
* name what is wrong: the expected fragments (file and line where one applies, else the option
  or the value) appear in that line;
* leave the folder as it was: no new file (not even a hidden staging folder) and no input changed.

The first part is generated: every command × the shared options (unknown option, bad ``--seed``,
bad ``--threads``, ``-o`` a directory or in a missing directory, ``-o`` naming an input). The
second part lists the command-specific cases by hand.
"""
from __future__ import annotations

import shutil
from importlib.resources import files
from pathlib import Path

import pytest

from phylo_vi.cli.main import main

GENOTYPE = "cellIDxmutID\tm0\tm1\tm2\nc0\t1\t1\t0\nc1\t1\t0\t3\nc2\t0\t1\t1\n"
TRUTH = "cellIDxmutID\tm0\tm1\tm2\nc0\t1\t1\t0\nc1\t1\t0\t0\nc2\t0\t0\t1\n"

# name -> content of the files every case sees (bytes for binary content)
INPUTS: dict[str, str | bytes] = {
    "aln.fasta": ">A\nACGTACGTAA\n>B\nACGTACGTTA\n>C\nACGAACGTAA\n>D\nTCGTACGTAA\n",
    "tree.nwk": "((A:0.1,B:0.1):0.1,C:0.1,D:0.1);\n",
    "sample.nwk": "((A,B),(C,D));\n((A,C),(B,D));\n((A,B),(C,D));\n((A,B),(C,D));\n",
    "credible.txt": "0.6\t((A,B),C,D);\n0.4\t((A,C),B,D);\n",
    "m.SC": GENOTYPE,
    "truth.CFMatrix": TRUTH,
    "empty.txt": "",
    "blank.txt": "\n  \n\t\n",
    "binary.bin": bytes(range(256)) * 4,
    "latin1.SC": "cellIDxmutID\tm0\tm1\nc\xe9ll0\t1\t0\nc1\t0\t1\n".encode("latin-1"),
    # trees
    "unbalanced.nwk": "((A,B),(C,D));\n((A,B),(C,D);\n",
    "unterminated.nex": "#NEXUS\nbegin trees;\n  tree t1 = ((A,B),(C,D);\nend;\n",
    "no_semicolon.nwk": "((A,B),(C,D))\n",
    "duplicate_taxon.nwk": "((A,A),(C,D));\n",
    "other_taxa.nwk": "((A,B),(C,E));\n",
    "bad_length.nwk": "((A:0.1,B:x),(C,D));\n",
    "negative_length.nwk": "((A:0.1,B:-0.1):0.1,C:0.1,D:0.1);\n",
    "second_negative.nex": "#NEXUS\nbegin trees;\n  tree t1 = ((A:0.1,B:0.1):0.1,C:0.1,D:0.1);\n"
                           "  tree t2 = ((A:0.1,B:0.1):-2,C:0.1,D:0.1);\nend;\n",
    "second_missing_length.nwk": "((A:0.1,B:0.1):0.1,C:0.1,D:0.1);\n((A:0.1,B:0.1):0.1,C:0.1,D);\n",
    "second_other_taxa.nwk": "((A:0.1,B:0.1):0.1,C:0.1,D:0.1);\n((A:0.1,B:0.1):0.1,C:0.1,E:0.1);\n",
    "bad_weight.txt": "abc\t((A,B),C,D);\n",
    "nexus_no_trees.nex": "#NEXUS\nbegin taxa;\n  dimensions ntax=4;\nend;\n",
    "polytomy.nwk": "(A,B,C,D);\n",
    "one_taxon.nwk": "(A);\n",
    "unknown_taxa.nwk": "((A,B),C,Z);\n",
    "tsv_tree.splits.tsv": "((A,B),(C,D));\n",
    "fasta_tree.tsv": ">A\nACGTACGTAA\n>B\nACGTACGTTA\n>C\nACGAACGTAA\n>D\nTCGTACGTAA\n",
    # alignments
    "ragged.fasta": ">A\nACGT\n>B\nACG\n>C\nACGT\n>D\nACGT\n",
    "unknown_char.fasta": ">A\nACGT\n>B\nACJT\n>C\nACGT\n>D\nACGT\n",
    "duplicate.fasta": ">A\nACGT\n>A\nACGT\n>C\nACGT\n>D\nACGT\n",
    "no_header.fasta": "ACGT\n>B\nACGT\n",
    "bad.phy": "4 10\nA ACGTACGTAA\nB ACGT\n",
    "bad_count.phy": "5 10\nA ACGTACGTAA\nB ACGTACGTAA\nC ACGTACGTAA\nD ACGTACGTAA\n",
    # genotype matrices
    "value5.SC": "cellIDxmutID\tm0\nc0\t5\n",
    "ragged.SC": "cellIDxmutID\tm0\tm1\nc0\t1\t0\nc1\t1\n",
    "letters.SC": "cellIDxmutID\tm0\tm1\nc0\t1\ta\nc1\t0\t1\n",
    "bad.csv": "cell,m0,m1\nc0,1,x\n",
    "other_shape.CFMatrix": "cellIDxmutID\tm0\tm1\nc0\t1\t0\nc1\t0\t1\n",
    "missing.CFMatrix": "cellIDxmutID\tm0\tm1\tm2\nc0\t1\t1\t0\nc1\t1\t0\t3\nc2\t0\t0\t1\n",
    # SBN models
    "not_json.json": "{not json\n",
    "list.json": "[1, 2, 3]\n",
    "other.json": '{"format": "something else"}\n',
    "damaged.json": '{"format": "phylo_vi.sbn", "model": "SampleRelativeFrequency", "taxa": ["A", "B", "C", "D"]}\n',
}


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("inputs")
    for name, content in INPUTS.items():
        path = folder / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    mrbayes = files("phylo_vi.data") / "mrbayes"
    shutil.copyfile(str(mrbayes / "example.nex.run1.t"), folder / "chain.t")
    (folder / "a_directory").mkdir()
    (folder / "a_full_directory").mkdir()
    (folder / "a_full_directory" / "notes.txt").write_text("a folder of the user's\n")
    from phylo_vi.sbn import make_estimator, read_tree_arrays

    make_estimator("srf").fit(read_tree_arrays(folder / "sample.nwk", burnin=0.0)).save(folder / "model.json")
    shutil.copyfile(folder / "model.json", folder / "model.nwk")
    shutil.copyfile(folder / "model.json", folder / "model.tsv")
    (folder / "sample.json").write_text(INPUTS["sample.nwk"])  # a tree file whose name is a model's
    return folder


def _snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(path.relative_to(folder)): (path.stat().st_size, path.stat().st_mtime_ns)
            for path in folder.rglob("*")}


def run_in(folder: Path, args: list[str], capsys, monkeypatch) -> tuple[int, str, str]:
    monkeypatch.chdir(folder)
    try:
        main(args)
        status = 0
    except SystemExit as exit_:
        status = exit_.code
    captured = capsys.readouterr()
    return status, captured.out, captured.err


# ----------------------------------------------------------------------- generated cases
# command -> (valid arguments, options it has among --seed/--threads/-o (a prefix)/-o DIR (a report folder))
COMMANDS: dict[str, tuple[list[str], set[str]]] = {
    "trees summary": (["sample.nwk", "--burnin", "0"], {"-o"}),
    "likelihood": (["aln.fasta", "tree.nwk"], {"--threads"}),
    "marginal": (["aln.fasta", "credible.txt", "--methods", "ml", "--preset", "fast"], {"--seed", "-o"}),
    "sbn fit": (["sample.nwk", "--method", "srf", "--burnin", "0", "-o", "fitted"], {"--threads", "-o"}),
    "sbn prob": (["model.json", "sample.nwk"], {"-o"}),
    "sbn sample": (["model.json", "-n", "2"], {"--seed", "-o"}),
    "sbn kl": (["--truth", "sample.nwk", "--train", "sample.nwk", "--methods", "srf"], {"--threads"}),
    "genotype check": (["m.SC"], set()),
    "genotype denoise": (["m.SC", "--fp", "0.01", "--fn", "0.1", "--no-network"], {"--seed", "--threads", "-o"}),
    "genotype simulate": (["--cells", "5", "--mutations", "4", "--clones", "3", "-o", "sim"], {"--seed", "-o"}),
    "genotype evaluate": (["--truth", "truth.CFMatrix", "--pred", "truth.CFMatrix"], set()),
    "genotype train": (["--task", "noise", "--n-train", "10", "--size", "3", "-o", "clf"],
                       {"--seed", "--threads", "-o"}),
    "genotype clones": (["m.SC", "--fp", "0.01", "--fn", "0.1", "--steps", "1"], {"--seed", "--threads", "-o"}),
    "vi compare-estimators": (["--n-repeats", "2"], {"--seed", "-o"}),
    "vbpi fit": (["aln.fasta", "--support", "sample.nwk", "--iters", "1", "--eval-runs", "2", "-o", "run"],
                 {"--seed", "--threads", "-o"}),
    "vbpi evaluate": (["model.json", "aln.fasta", "--eval-runs", "2", "-o", "run"], {"--threads", "-o"}),
    "analyze": (["chain.t", "--n-burnin", "0"], {"--seed", "--threads", "-o DIR"}),
    "demo": (["--no-alignment"], {"-o DIR"}),
}


def _with_option(base: list[str], option: str, value: str) -> list[str]:
    """``base`` with ``option value`` replacing the option's value there, or appended."""
    args = list(base)
    if option in args:
        args[args.index(option) + 1] = value
    else:
        args += [option, value]
    return args


def _generated_cases() -> list[tuple[str, list[str], list[str]]]:
    cases = []
    for command, (base, options) in COMMANDS.items():
        words = command.split()
        cases.append((f"{command}: unknown option", [*words, *base, "--no-such-option"], ["--no-such-option"]))
        if "--seed" in options:
            for value, fragment in (("-1", "-1"), ("x", "'x'"), (str(2**32), str(2**32))):
                cases.append((f"{command}: --seed {value}", [*words, *_with_option(base, "--seed", value)],
                              ["--seed", fragment]))
        if "--threads" in options:
            for value in ("0", "two"):
                cases.append((f"{command}: --threads {value}", [*words, *_with_option(base, "--threads", value)],
                              ["--threads", value]))
        if "-o" in options:
            cases.append((f"{command}: -o a directory", [*words, *_with_option(base, "-o", "a_directory")],
                          ["a_directory", "directory"]))
            cases.append((f"{command}: -o a directory (slash)", [*words, *_with_option(base, "-o", "new/")],
                          ["new/", "directory"]))
            cases.append((f"{command}: -o in a missing directory",
                          [*words, *_with_option(base, "-o", "absent/out")], ["absent", "does not exist"]))
            cases.append((f"{command}: -o in a file's place", [*words, *_with_option(base, "-o", "m.SC/out")],
                          ["m.SC", "not a directory"]))
        if "-o DIR" in options:  # a report folder: replaced only when empty or written by phylo-vi before
            cases.append((f"{command}: -o a folder phylo-vi did not write",
                          [*words, *_with_option(base, "-o", "a_full_directory")], ["a_full_directory", "not empty"]))
            cases.append((f"{command}: -o a file", [*words, *_with_option(base, "-o", "m.SC")],
                          ["m.SC", "not a directory"]))
            cases.append((f"{command}: -o in a missing directory",
                          [*words, *_with_option(base, "-o", "absent/out")], ["absent", "does not exist"]))
            cases.append((f"{command}: -o in a file's place", [*words, *_with_option(base, "-o", "m.SC/out")],
                          ["m.SC", "not a directory"]))
    return cases


# ------------------------------------------------------------------------ command cases
CASES: list[tuple[str, list[str], list[str]]] = [
    # the command group
    ("no such command", ["no-such-command"], ["no-such-command"]),
    ("unknown top-level option", ["--verbose"], ["--verbose"]),
    ("no such trees subcommand", ["trees", "sumary"], ["sumary"]),
    ("no such sbn subcommand", ["sbn", "fitt"], ["fitt"]),
    ("no such genotype subcommand", ["genotype", "chek"], ["chek"]),
    ("no such vi subcommand", ["vi", "compare"], ["compare"]),
    # trees summary
    ("trees: missing file", ["trees", "summary", "absent.nwk"], ["absent.nwk"]),
    ("trees: no file", ["trees", "summary"], ["FILES"]),
    ("trees: a directory", ["trees", "summary", "a_directory"], ["a_directory"]),
    ("trees: unbalanced parenthesis", ["trees", "summary", "unbalanced.nwk", "--burnin", "0"],
     ["unbalanced.nwk", "line 2"]),
    ("trees: unterminated NEXUS tree", ["trees", "summary", "unterminated.nex"], ["unterminated.nex", "line 3"]),
    ("trees: Newick without semicolon", ["trees", "summary", "no_semicolon.nwk"], ["no_semicolon.nwk", "line 1"]),
    ("trees: duplicate taxon", ["trees", "summary", "duplicate_taxon.nwk"], ["duplicate_taxon.nwk", "line 1"]),
    ("trees: bad branch length", ["trees", "summary", "bad_length.nwk"], ["bad_length.nwk", "line 1"]),
    ("trees: empty file", ["trees", "summary", "empty.txt"], ["empty.txt"]),
    ("trees: blank file", ["trees", "summary", "blank.txt"], ["blank.txt"]),
    ("trees: binary file", ["trees", "summary", "binary.bin"], ["binary.bin"]),
    ("trees: NEXUS without trees", ["trees", "summary", "nexus_no_trees.nex"], ["nexus_no_trees.nex"]),
    ("trees: runs on different taxa", ["trees", "summary", "sample.nwk", "other_taxa.nwk", "--burnin", "0"],
     ["other_taxa.nwk"]),
    ("trees: burn-in 1", ["trees", "summary", "sample.nwk", "--burnin", "1"], ["--burnin", "1"]),
    ("trees: burn-in negative", ["trees", "summary", "sample.nwk", "--burnin", "-0.1"], ["--burnin", "-0.1"]),
    ("trees: burn-in not a number", ["trees", "summary", "sample.nwk", "--burnin", "half"], ["--burnin", "half"]),
    ("trees: n-burnin negative", ["trees", "summary", "sample.nwk", "--n-burnin", "-1"], ["--n-burnin", "-1"]),
    ("trees: n-burnin a fraction", ["trees", "summary", "sample.nwk", "--n-burnin", "0.5"], ["--n-burnin", "0.5"]),
    ("trees: burn-in and n-burnin", ["trees", "summary", "sample.nwk", "--burnin", "0.1", "--n-burnin", "1"],
     ["--burnin", "--n-burnin"]),
    ("trees: n-burnin drops every tree", ["trees", "summary", "chain.t", "--n-burnin", "100000"], ["no tree left"]),
    ("trees: thin 0", ["trees", "summary", "sample.nwk", "--thin", "0"], ["--thin", "0"]),
    ("trees: unknown format", ["trees", "summary", "sample.nwk", "--format", "phylip"], ["--format", "phylip"]),
    ("trees: top negative", ["trees", "summary", "sample.nwk", "--top", "-1"], ["--top", "-1"]),
    ("trees: min-frequency 2", ["trees", "summary", "sample.nwk", "--min-frequency", "2"], ["--min-frequency", "2"]),
    ("trees: output replaces the input", ["trees", "summary", "tsv_tree.splits.tsv", "--burnin", "0", "-o", "tsv_tree"],
     ["tsv_tree.splits.tsv", "input"]),
    # likelihood
    ("likelihood: unknown model", ["likelihood", "aln.fasta", "tree.nwk", "-m", "WAG"], ["WAG"]),
    ("likelihood: +G with 10^8 categories", ["likelihood", "aln.fasta", "tree.nwk", "-m", "JC+G100000000{0.5}"],
     ["100000000", "categories"]),
    ("likelihood: +G0", ["likelihood", "aln.fasta", "tree.nwk", "-m", "JC+G0{0.5}"], ["+G", "0"]),
    ("likelihood: +G without shape", ["likelihood", "aln.fasta", "tree.nwk", "-m", "JC+G4"], ["+G"]),
    ("likelihood: +F on JC", ["likelihood", "aln.fasta", "tree.nwk", "-m", "JC+F"], ["JC"]),
    ("likelihood: GTR with three rates", ["likelihood", "aln.fasta", "tree.nwk", "-m", "GTR{1,2,3}"], ["GTR"]),
    ("likelihood: K80 kappa not a number", ["likelihood", "aln.fasta", "tree.nwk", "-m", "K80{abc}"], ["abc"]),
    ("likelihood: unknown component", ["likelihood", "aln.fasta", "tree.nwk", "-m", "JC+X"], ["+X"]),
    ("likelihood: empty model", ["likelihood", "aln.fasta", "tree.nwk", "-m", ""], ["model"]),
    ("likelihood: +I without value", ["likelihood", "aln.fasta", "tree.nwk", "-m", "JC+I"], ["+I"]),
    ("likelihood: +F with three values", ["likelihood", "aln.fasta", "tree.nwk", "-m", "HKY{2}+F{0.3,0.3,0.4}"],
     ["+F"]),
    ("likelihood: missing alignment", ["likelihood", "absent.fasta", "tree.nwk"], ["absent.fasta"]),
    ("likelihood: missing tree", ["likelihood", "aln.fasta", "absent.nwk"], ["absent.nwk"]),
    ("likelihood: tree argument missing", ["likelihood", "aln.fasta"], ["TREE"]),
    ("likelihood: ragged alignment", ["likelihood", "ragged.fasta", "tree.nwk"], ["ragged.fasta"]),
    ("likelihood: unknown character", ["likelihood", "unknown_char.fasta", "tree.nwk"],
     ["unknown_char.fasta", "line 4"]),
    ("likelihood: duplicate sequence name", ["likelihood", "duplicate.fasta", "tree.nwk"], ["duplicate.fasta"]),
    ("likelihood: FASTA without header", ["likelihood", "no_header.fasta", "tree.nwk"], ["no_header.fasta", "line 1"]),
    ("likelihood: short PHYLIP row", ["likelihood", "bad.phy", "tree.nwk"], ["bad.phy"]),
    ("likelihood: PHYLIP with a missing row", ["likelihood", "bad_count.phy", "tree.nwk"], ["bad_count.phy"]),
    ("likelihood: empty alignment", ["likelihood", "empty.txt", "tree.nwk"], ["empty.txt"]),
    ("likelihood: binary alignment", ["likelihood", "binary.bin", "tree.nwk"], ["binary.bin"]),
    ("likelihood: tree with a taxon not aligned", ["likelihood", "aln.fasta", "other_taxa.nwk"],
     ["other_taxa.nwk", "aln.fasta", "E"]),
    ("likelihood: malformed tree", ["likelihood", "aln.fasta", "unbalanced.nwk"], ["unbalanced.nwk", "line 2"]),
    ("likelihood: negative branch length", ["likelihood", "aln.fasta", "negative_length.nwk"],
     ["negative_length.nwk, line 1", "tree 1", "above B", "negative", "-0.1"]),
    ("likelihood: negative branch length in the second NEXUS tree", ["likelihood", "aln.fasta", "second_negative.nex"],
     ["second_negative.nex, line 4", "tree 2", "above A|B", "negative", "-2"]),
    ("likelihood --gradient: negative branch length", ["likelihood", "aln.fasta", "negative_length.nwk", "--gradient",
                                                       "--threads", "2"], ["negative_length.nwk, line 1", "above B"]),
    ("likelihood: branch length missing in the second tree", ["likelihood", "aln.fasta", "second_missing_length.nwk"],
     ["second_missing_length.nwk, line 2", "tree 2", "above D", "missing"]),
    ("likelihood: second tree on other taxa", ["likelihood", "aln.fasta", "second_other_taxa.nwk"],
     ["second_other_taxa.nwk, line 2", "E"]),
    ("likelihood: tree is an alignment", ["likelihood", "aln.fasta", "aln.fasta"], ["aln.fasta"]),
    # marginal
    ("marginal: unknown method", ["marginal", "aln.fasta", "credible.txt", "--methods", "ml,xyz"], ["xyz"]),
    ("marginal: top 0", ["marginal", "aln.fasta", "credible.txt", "--top", "0"], ["--top", "0"]),
    ("marginal: replicates 0", ["marginal", "aln.fasta", "credible.txt", "--replicates", "0"], ["--replicates"]),
    ("marginal: unknown preset", ["marginal", "aln.fasta", "credible.txt", "--preset", "slow"], ["--preset", "slow"]),
    ("marginal: prior rate 0", ["marginal", "aln.fasta", "credible.txt", "--prior-rate", "0"], ["--prior-rate"]),
    ("marginal: prior rate negative", ["marginal", "aln.fasta", "credible.txt", "--prior-rate", "-1"],
     ["--prior-rate", "-1"]),
    ("marginal: unknown model", ["marginal", "aln.fasta", "credible.txt", "--model", "WAG"], ["WAG"]),
    ("marginal: +G10^8", ["marginal", "aln.fasta", "credible.txt", "--model", "JC+G100000000{1}"], ["categories"]),
    ("marginal: workers 0", ["marginal", "aln.fasta", "credible.txt", "--workers", "0"], ["--workers", "0"]),
    ("marginal: unreachable scheduler",
     ["marginal", "aln.fasta", "credible.txt", "--methods", "ml", "--seed", "1", "--scheduler", "tcp://127.0.0.1:1"],
     ["tcp://127.0.0.1:1", "unreachable"]),
    ("marginal: scheduler without port",
     ["marginal", "aln.fasta", "credible.txt", "--methods", "ml", "--seed", "1", "--scheduler", "somehost"],
     ["somehost"]),
    ("marginal: scheduler of another protocol",
     ["marginal", "aln.fasta", "credible.txt", "--methods", "ml", "--seed", "1", "--scheduler", "inproc://x"],
     ["inproc://x"]),
    ("marginal: unknown taxon", ["marginal", "aln.fasta", "unknown_taxa.nwk", "--methods", "ml"],
     ["unknown_taxa.nwk", "Z"]),
    ("marginal: a taxon missing", ["marginal", "aln.fasta", "one_taxon.nwk", "--methods", "ml"], ["one_taxon.nwk"]),
    ("marginal: reference lists none", ["marginal", "aln.fasta", "credible.txt", "--reference-srf", "polytomy.nwk"],
     ["polytomy.nwk", "reference"]),
    ("marginal: missing reference", ["marginal", "aln.fasta", "credible.txt", "--reference-srf", "absent.t"],
     ["absent.t"]),
    ("marginal: credible set with bad weight", ["marginal", "aln.fasta", "bad_weight.txt"], ["bad_weight.txt"]),
    ("marginal: empty tree file", ["marginal", "aln.fasta", "empty.txt"], ["empty.txt"]),
    ("marginal: binary tree file", ["marginal", "aln.fasta", "binary.bin"], ["binary.bin", "line 1"]),
    ("marginal: ragged alignment", ["marginal", "ragged.fasta", "credible.txt"], ["ragged.fasta"]),
    ("marginal: output replaces the alignment", ["marginal", "fasta_tree.tsv", "credible.txt", "-o", "fasta_tree"],
     ["fasta_tree.tsv", "input"]),
    # sbn
    ("sbn fit: unknown method", ["sbn", "fit", "sample.nwk", "--method", "nj", "-o", "x"], ["--method", "nj"]),
    ("sbn fit: no -o", ["sbn", "fit", "sample.nwk"], ["-o"]),
    ("sbn fit: negative alpha", ["sbn", "fit", "sample.nwk", "--alpha", "-1", "-o", "x"], ["--alpha", "-1"]),
    ("sbn fit: max-iter 0", ["sbn", "fit", "sample.nwk", "--max-iter", "0", "-o", "x"], ["--max-iter", "0"]),
    ("sbn fit: negative tol", ["sbn", "fit", "sample.nwk", "--tol", "-1", "-o", "x"], ["--tol", "-1"]),
    ("sbn fit: burn-in 1", ["sbn", "fit", "sample.nwk", "--burnin", "1", "-o", "x"], ["--burnin"]),
    ("sbn fit: burn-in and n-burnin", ["sbn", "fit", "sample.nwk", "--burnin", "0", "--n-burnin", "1", "-o", "x"],
     ["--n-burnin"]),
    ("sbn fit: malformed trees", ["sbn", "fit", "unbalanced.nwk", "--burnin", "0", "-o", "x"],
     ["unbalanced.nwk", "line 2"]),
    ("sbn fit: non-binary tree", ["sbn", "fit", "polytomy.nwk", "--burnin", "0", "-o", "x"], ["polytomy.nwk"]),
    ("sbn fit: missing file", ["sbn", "fit", "absent.t", "-o", "x"], ["absent.t"]),
    ("sbn fit: model would replace the trees", ["sbn", "fit", "sample.json", "--method", "srf", "-o", "sample"],
     ["sample.json", "input"]),
    ("sbn fit: model would replace the trees (full name)",
     ["sbn", "fit", "sample.json", "--method", "srf", "-o", "sample.json"], ["sample.json", "input"]),
    ("sbn prob: model not JSON", ["sbn", "prob", "not_json.json", "sample.nwk"], ["not_json.json", "line 1"]),
    ("sbn prob: model a JSON list", ["sbn", "prob", "list.json", "sample.nwk"], ["list.json"]),
    ("sbn prob: model of another program", ["sbn", "prob", "other.json", "sample.nwk"], ["other.json"]),
    ("sbn prob: damaged model", ["sbn", "prob", "damaged.json", "sample.nwk"], ["damaged.json"]),
    ("sbn prob: binary model", ["sbn", "prob", "binary.bin", "sample.nwk"], ["binary.bin"]),
    ("sbn prob: empty model", ["sbn", "prob", "empty.txt", "sample.nwk"], ["empty.txt"]),
    ("sbn prob: trees on other taxa", ["sbn", "prob", "model.json", "other_taxa.nwk"], ["other_taxa.nwk"]),
    ("sbn prob: malformed trees", ["sbn", "prob", "model.json", "unbalanced.nwk"], ["unbalanced.nwk", "line 2"]),
    ("sbn prob: output replaces the model", ["sbn", "prob", "model.tsv", "sample.nwk", "-o", "model"],
     ["model.tsv", "input"]),
    ("sbn prob: output replaces the trees",
     ["sbn", "prob", "model.json", "tsv_tree.splits.tsv", "-o", "tsv_tree.splits.tsv"],
     ["tsv_tree.splits.tsv", "input"]),
    ("sbn sample: n 0", ["sbn", "sample", "model.json", "-n", "0"], ["-n", "0"]),
    ("sbn sample: broken model", ["sbn", "sample", "not_json.json", "--seed", "1"], ["not_json.json", "line 1"]),
    ("sbn sample: output replaces the model", ["sbn", "sample", "model.nwk", "--seed", "1", "-o", "model"],
     ["model.nwk", "input"]),
    ("sbn sample: missing model", ["sbn", "sample", "absent.json"], ["absent.json"]),
    ("sbn kl: unknown method", ["sbn", "kl", "--truth", "sample.nwk", "--train", "sample.nwk", "--methods", "x"],
     ["x"]),
    ("sbn kl: empty methods", ["sbn", "kl", "--truth", "sample.nwk", "--train", "sample.nwk", "--methods", ","],
     ["--methods"]),
    ("sbn kl: --truth without files", ["sbn", "kl", "--truth", "--train", "sample.nwk"], ["--truth", "file"]),
    ("sbn kl: --train at the end", ["sbn", "kl", "--truth", "sample.nwk", "--train"], ["--train", "file"]),
    ("sbn kl: no --train", ["sbn", "kl", "--truth", "sample.nwk"], ["--train"]),
    ("sbn kl: missing truth file", ["sbn", "kl", "--truth", "absent.trprobs", "--train", "sample.nwk"],
     ["absent.trprobs"]),
    ("sbn kl: truth-samples 0", ["sbn", "kl", "--truth", "sample.nwk", "--train", "sample.nwk", "--truth-samples",
                                 "0"], ["--truth-samples", "0"]),
    ("sbn kl: malformed training file", ["sbn", "kl", "--truth", "sample.nwk", "--train", "unbalanced.nwk",
                                         "--burnin", "0"], ["unbalanced.nwk", "line 2"]),
    # genotype
    ("genotype check: value 5", ["genotype", "check", "value5.SC"], ["value5.SC", "line 2"]),
    ("genotype check: ragged rows", ["genotype", "check", "ragged.SC"], ["ragged.SC", "line 3"]),
    ("genotype check: a letter", ["genotype", "check", "letters.SC"], ["letters.SC", "line 2"]),
    ("genotype check: bad CSV", ["genotype", "check", "bad.csv", "--format", "csv"], ["bad.csv", "line 2"]),
    ("genotype check: empty file", ["genotype", "check", "empty.txt"], ["empty.txt"]),
    ("genotype check: binary file", ["genotype", "check", "binary.bin"], ["binary.bin", "line 2", "UTF-8"]),
    ("genotype check: Latin-1 file", ["genotype", "check", "latin1.SC"], ["latin1.SC", "line 2", "UTF-8"]),
    ("genotype check: unknown format", ["genotype", "check", "m.SC", "--format", "xls"], ["--format", "xls"]),
    ("genotype check: missing file", ["genotype", "check", "absent.SC"], ["absent.SC"]),
    ("genotype denoise: fp 2", ["genotype", "denoise", "m.SC", "--fp", "2", "--fn", "0.1"], ["fp"]),
    ("genotype denoise: fn negative", ["genotype", "denoise", "m.SC", "--fp", "0.01", "--fn", "-0.1"], ["fn"]),
    ("genotype denoise: doublet rate 1.5", ["genotype", "denoise", "m.SC", "--doublet-rate", "1.5"],
     ["--doublet-rate"]),
    ("genotype denoise: fp not a number", ["genotype", "denoise", "m.SC", "--fp", "low", "--fn", "0.1"],
     ["--fp", "low"]),
    ("genotype denoise: weights not a weights file",
     ["genotype", "denoise", "m.SC", "--fp", "0.01", "--fn", "0.1", "--weights", "m.SC", "--seed", "1"],
     ["m.SC", "weights"]),
    ("genotype denoise: weights a JSON file",
     ["genotype", "denoise", "m.SC", "--fp", "0.01", "--fn", "0.1", "--weights", "model.json", "--seed", "1"],
     ["model.json", "weights"]),
    ("genotype denoise: empty weights",
     ["genotype", "denoise", "m.SC", "--fp", "0.01", "--fn", "0.1", "--weights", "empty.txt", "--seed", "1"],
     ["empty.txt", "weights"]),
    ("genotype denoise: missing weights", ["genotype", "denoise", "m.SC", "--fp", "0.01", "--fn", "0.1",
                                           "--weights", "absent.pt"], ["absent.pt"]),
    ("genotype denoise: candidates 0", ["genotype", "denoise", "m.SC", "--fp", "0.01", "--fn", "0.1",
                                        "--candidates", "0"], ["--candidates", "0"]),
    ("genotype denoise: unknown decoding", ["genotype", "denoise", "m.SC", "--fp", "0.01", "--fn", "0.1",
                                            "--decoding", "greedy"], ["--decoding", "greedy"]),
    ("genotype denoise: matrix with a letter", ["genotype", "denoise", "letters.SC", "--fp", "0.01", "--fn", "0.1",
                                                "--seed", "1"], ["letters.SC", "line 2"]),
    ("genotype denoise: output replaces the input",
     ["genotype", "denoise", "truth.CFMatrix", "--fp", "0.01", "--fn", "0.1", "--no-network", "-o", "truth.CFMatrix"],
     ["truth.CFMatrix", "input"]),
    ("genotype denoise: output replaces the input (prefix)",
     ["genotype", "denoise", "truth.CFMatrix", "--fp", "0.01", "--fn", "0.1", "--no-network", "-o", "truth"],
     ["truth.CFMatrix", "input"]),
    ("genotype simulate: no -o", ["genotype", "simulate"], ["-o"]),
    ("genotype simulate: one clone", ["genotype", "simulate", "--clones", "1", "-o", "x"], ["--clones", "1"]),
    ("genotype simulate: one cell", ["genotype", "simulate", "--cells", "1", "-o", "x"], ["--cells", "1"]),
    ("genotype simulate: zero mutations", ["genotype", "simulate", "--mutations", "0", "-o", "x"], ["--mutations"]),
    ("genotype simulate: fp 1.5", ["genotype", "simulate", "--fp", "1.5", "-o", "x"], ["--fp", "1.5"]),
    ("genotype simulate: missing rate 1", ["genotype", "simulate", "--missing", "1", "-o", "x"], ["--missing"]),
    ("genotype simulate: unknown model", ["genotype", "simulate", "--model", "tree", "-o", "x"], ["--model", "tree"]),
    ("genotype simulate: more clones than cells",
     ["genotype", "simulate", "--cells", "3", "--clones", "5", "--mutations", "10", "--seed", "1", "-o", "x"],
     ["n_clones"]),
    ("genotype evaluate: no --pred", ["genotype", "evaluate", "--truth", "truth.CFMatrix"], ["--pred"]),
    ("genotype evaluate: shapes differ", ["genotype", "evaluate", "--truth", "truth.CFMatrix", "--pred",
                                          "other_shape.CFMatrix"], ["truth.CFMatrix", "other_shape.CFMatrix", "shape"]),
    ("genotype evaluate: missing entries", ["genotype", "evaluate", "--truth", "truth.CFMatrix", "--pred",
                                            "missing.CFMatrix"], ["missing.CFMatrix", "missing entries"]),
    ("genotype evaluate: malformed prediction", ["genotype", "evaluate", "--truth", "truth.CFMatrix", "--pred",
                                                 "value5.SC"], ["value5.SC", "line 2"]),
    ("genotype train: unknown task", ["genotype", "train", "--task", "tree", "-o", "x"], ["--task", "tree"]),
    ("genotype train: batch size 1", ["genotype", "train", "--batch-size", "1", "-o", "x"], ["--batch-size", "1"]),
    ("genotype train: n-train 5", ["genotype", "train", "--task", "noise", "--n-train", "5", "-o", "x"],
     ["--n-train", "5"]),
    ("genotype train: size 2", ["genotype", "train", "--task", "noise", "--size", "2", "-o", "x"], ["--size", "2"]),
    ("genotype train: no -o", ["genotype", "train"], ["-o"]),
    # vi
    ("vi: unknown problem", ["vi", "compare-estimators", "--problem", "poisson"], ["--problem", "poisson"]),
    ("vi: k 9 for a Bernoulli", ["vi", "compare-estimators", "-k", "9", "--seed", "1"], ["n_evaluations"]),
    ("vi: k 0", ["vi", "compare-estimators", "-k", "0"], ["0"]),
    ("vi: n-repeats 1", ["vi", "compare-estimators", "--n-repeats", "1"], ["--n-repeats", "1"]),
    ("vi: device foo", ["vi", "compare-estimators", "--device", "foo"], ["--device", "foo"]),
    ("vi: device cuda:99", ["vi", "compare-estimators", "--device", "cuda:99"], ["--device", "cuda:99"]),
    ("vi: device tpu", ["vi", "compare-estimators", "--device", "tpu"], ["--device", "tpu"]),
    ("vi: dtype float16", ["vi", "compare-estimators", "--dtype", "float16"], ["--dtype", "float16"]),
    ("vi: unknown estimator", ["vi", "compare-estimators", "--estimator", "vimco", "--seed", "1", "--n-repeats", "2"],
     ["vimco"]),
    # genotype clones
    ("genotype clones: missing matrix", ["genotype", "clones", "absent.SC", "--fp", "0.01", "--fn", "0.1"],
     ["absent.SC"]),
    ("genotype clones: matrix with a letter", ["genotype", "clones", "letters.SC", "--fp", "0.01", "--fn", "0.1",
                                               "--seed", "1"], ["letters.SC", "line 2"]),
    ("genotype clones: max-clones 1", ["genotype", "clones", "m.SC", "--fp", "0.01", "--fn", "0.1", "--max-clones",
                                       "1"], ["--max-clones", "1"]),
    ("genotype clones: samples 0", ["genotype", "clones", "m.SC", "--fp", "0.01", "--fn", "0.1", "--samples", "0"],
     ["--samples", "0"]),
    ("genotype clones: steps negative", ["genotype", "clones", "m.SC", "--fp", "0.01", "--fn", "0.1", "--steps",
                                         "-1"], ["--steps", "-1"]),
    ("genotype clones: output replaces the input",
     ["genotype", "clones", "latin1.SC", "--fp", "0.01", "--fn", "0.1", "-o", "latin1"], ["latin1.SC", "input"]),
    # vbpi
    ("vbpi fit: missing alignment", ["vbpi", "fit", "absent.fasta", "--support", "sample.nwk", "-o", "x"],
     ["absent.fasta"]),
    ("vbpi fit: missing support file", ["vbpi", "fit", "aln.fasta", "--support", "absent.t", "-o", "x"],
     ["--support", "absent.t"]),
    ("vbpi fit: no --support", ["vbpi", "fit", "aln.fasta", "-o", "x"], ["--support"]),
    ("vbpi fit: --support without files", ["vbpi", "fit", "aln.fasta", "--support", "-o", "x"],
     ["--support", "file"]),
    ("vbpi fit: missing golden file", ["vbpi", "fit", "aln.fasta", "--support", "sample.nwk", "--golden",
                                       "absent.trprobs", "-o", "x"], ["absent.trprobs"]),
    ("vbpi fit: no -o", ["vbpi", "fit", "aln.fasta", "--support", "sample.nwk"], ["-o"]),
    ("vbpi fit: output replaces the support", ["vbpi", "fit", "aln.fasta", "--support", "sample.json", "-o", "sample"],
     ["sample.json", "input"]),
    ("vbpi fit: one particle", ["vbpi", "fit", "aln.fasta", "--support", "sample.nwk", "--particles", "1", "-o", "x"],
     ["--particles", "1"]),
    ("vbpi fit: unknown estimator", ["vbpi", "fit", "aln.fasta", "--support", "sample.nwk", "--estimator", "iwae",
                                     "-o", "x"], ["--estimator", "iwae"]),
    ("vbpi fit: unknown branch model", ["vbpi", "fit", "aln.fasta", "--support", "sample.nwk", "--branch-model",
                                        "tree", "-o", "x"], ["--branch-model", "tree"]),
    ("vbpi fit: burn-in 1", ["vbpi", "fit", "aln.fasta", "--support", "sample.nwk", "--burnin", "1", "-o", "x"],
     ["--burnin", "1"]),
    ("vbpi fit: burn-in and n-burnin", ["vbpi", "fit", "aln.fasta", "--support", "sample.nwk", "--burnin", "0.1",
                                        "--n-burnin", "1", "-o", "x"], ["--burnin", "--n-burnin"]),
    ("vbpi fit: device foo", ["vbpi", "fit", "aln.fasta", "--support", "sample.nwk", "--device", "foo", "-o", "x"],
     ["--device", "foo"]),
    ("vbpi fit: learning rate 0", ["vbpi", "fit", "aln.fasta", "--support", "sample.nwk", "--learning-rate", "0",
                                   "-o", "x"], ["--learning-rate", "0"]),
    ("vbpi evaluate: missing checkpoint", ["vbpi", "evaluate", "absent.ckpt", "aln.fasta", "-o", "x"],
     ["absent.ckpt"]),
    ("vbpi evaluate: missing alignment", ["vbpi", "evaluate", "model.json", "absent.fasta", "-o", "x"],
     ["absent.fasta"]),
    ("vbpi evaluate: not a checkpoint", ["vbpi", "evaluate", "model.json", "aln.fasta", "-o", "x"],
     ["model.json", "checkpoint"]),
    ("vbpi evaluate: output replaces the checkpoint", ["vbpi", "evaluate", "model.json", "aln.fasta", "-o", "model"],
     ["model.json", "input"]),
    ("vbpi evaluate: eval-runs 1", ["vbpi", "evaluate", "model.json", "aln.fasta", "--eval-runs", "1", "-o", "x"],
     ["--eval-runs", "1"]),
    ("vbpi evaluate: no -o", ["vbpi", "evaluate", "model.json", "aln.fasta"], ["-o"]),
    # analyze
    ("analyze: missing basename", ["analyze", "absent"], ["absent", "no run files with this basename"]),
    ("analyze: no path", ["analyze"], ["PATHS"]),
    ("analyze: report folder is the input", ["analyze", "chain.t", "-o", "chain.t"], ["chain.t", "input"]),
    ("analyze: report folder holds the input", ["analyze", "chain.t", "-o", "."], ["chain.t", "input"]),
    ("analyze: burn-in 1", ["analyze", "chain.t", "--burnin", "1"], ["--burnin", "1"]),
    ("analyze: burn-in and n-burnin", ["analyze", "chain.t", "--burnin", "0.1", "--n-burnin", "1"],
     ["--burnin", "--n-burnin"]),
    ("analyze: min-clade-freq 2", ["analyze", "chain.t", "--min-clade-freq", "2"], ["--min-clade-freq", "2"]),
    ("analyze: window size 0", ["analyze", "chain.t", "--window-size", "0"], ["--window-size", "0"]),
    ("analyze: top 1", ["analyze", "chain.t", "--top", "1"], ["--top", "1"]),
    ("analyze: workers 0", ["analyze", "chain.t", "--workers", "0"], ["--workers", "0"]),
    ("analyze: unknown preset", ["analyze", "chain.t", "--preset", "slow"], ["--preset", "slow"]),
    ("analyze: missing alignment", ["analyze", "chain.t", "--alignment", "absent.fasta"], ["absent.fasta"]),
    ("analyze: not a run file", ["analyze", "aln.fasta"], ["aln.fasta"]),
    # demo
    ("demo: an argument", ["demo", "extra"], ["extra"]),
]


ALL_CASES = _generated_cases() + CASES


def test_the_catalogue_is_large_and_covers_every_command():
    # issue 14 item 7: at least 150 bad inputs across all commands
    assert len(ALL_CASES) >= 150
    assert len({name for name, _, _ in ALL_CASES}) == len(ALL_CASES)
    covered = {" ".join(args[:2]) if args[0] in ("trees", "sbn", "genotype", "vi", "vbpi") else args[0]
               for _, args, _ in ALL_CASES}
    assert set(COMMANDS) <= covered


@pytest.mark.parametrize("name,args,fragments", ALL_CASES, ids=[case[0] for case in ALL_CASES])
def test_bad_input_is_one_line_exit_2_and_leaves_no_file(name, args, fragments, inputs, capsys, monkeypatch):
    before = _snapshot(inputs)
    status, out, err = run_in(inputs, args, capsys, monkeypatch)
    assert status == 2, (status, out, err)
    # one error line; warnings said on the way (e.g. burn-in not applied to a non-chain) are lines of their own
    errors = [line for line in err.splitlines() if not line.startswith("phylo-vi: warning: ")]
    assert err.endswith("\n") and len(errors) == 1, err
    assert "Traceback" not in err and err.strip()
    for fragment in fragments:
        assert fragment in err, (fragment, err)
    assert _snapshot(inputs) == before
