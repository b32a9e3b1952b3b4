"""Fuzzing every reader: mutated and truncated valid files raise PhyloVIError or nothing, and never hang.

Each reader starts from valid files of its format (the fixtures of ``tests/io/data`` and small
files written here) and is fed hypothesis-mutated copies: truncations, deleted, inserted,
replaced and duplicated bytes, with tokens of the formats' grammars, a byte-order mark, bytes
that are not UTF-8 and numbers out of range. Reading must either succeed or raise a
:class:`~phylo_vi.errors.PhyloVIError`; anything else (``IndexError``, ``UnicodeDecodeError``,
``MemoryError``, ...) fails, and so does one example running past :data:`SECONDS_PER_EXAMPLE`
(a hang) or past the hypothesis deadline of 3 s (a reader gone quadratic).
The tree readers go both through their own streaming parser and through the batch reader.
"""
from __future__ import annotations

import os
import signal
import warnings
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from phylo_vi.errors import AlignmentFormatError, PhyloVIError
from phylo_vi.genotype.formats import read_genotype
from phylo_vi.io import (read_alignment, read_beast_trees, read_mrbayes_trees, read_newick, read_nexus_trees,
                         read_revbayes_trees, read_table_trees, read_trees)

DATA = Path(__file__).parent / "data"
SECONDS_PER_EXAMPLE = 10
# the default suite replays the same 80 examples per reader; PHYLO_VI_FUZZ_EXAMPLES=5000 explores afresh
N_EXAMPLES = int(os.environ.get("PHYLO_VI_FUZZ_EXAMPLES", "0"))
EXAMPLES = settings(max_examples=N_EXAMPLES or 80, derandomize=not N_EXAMPLES, deadline=timedelta(seconds=3),
                    database=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

TOKENS = [b"(", b")", b",", b";", b":", b"[", b"]", b"[&R]", b"[&W 0.5]", b"'", b"\t", b"\n", b"\r\n", b" ",
          b"\xef\xbb\xbf", b"\xff\xfe", b"\xe9", b"\x00", b"-1", b"0", b"1e999", b"nan", b"-0.5", b"99999999999",
          b"#NEXUS", b"begin trees;", b"begin data;", b"end;", b"tree t = ", b"translate", b"matrix", b"ntax=",
          b"nchar=", b"dimensions", b"format", b"datatype=", b"interleave", b"missing=", b"gap=", b"matchchar=",
          b"Iteration\t", b">", b"?", b"#", b"=", b"{", b"}"]

FASTA = b">a\nACGTAC-T\n>b\nACGTACGT\n>c\nTCGAN?GT\n>d\nACTTACGA\n"
PHYLIP = b"4 8\na ACGTAC-T\nb ACGTACGT\nc TCGAN?GT\nd ACTTACGA\n"
NEXUS_ALIGNMENT = (b"#NEXUS\nbegin data;\ndimensions ntax=4 nchar=8;\nformat datatype=dna missing=? gap=-;\n"
                   b"matrix\na ACGTAC-T\n'b b' ACGTACGT\nc TCGAN?GT\nd ACTTACGA\n;\nend;\n")
CREDIBLE_SET = b"0.5\t((A,B),C,(D,E));\n0.3\t((A,C),B,(D,E));\n0.2\t((A,D),B,(C,E));\n"
TRPROBS_TSV = (b"rank\tweight\tprobability\tcumulative\tin_95pct_set\tnewick\n"
               b"1\t6.0\t0.6\t0.6\t1\t((A,B),C,(D,E));\n2\t4.0\t0.4\t1.0\t1\t((A,C),B,(D,E));\n")
SC = b"cellIDxmutID\tm1\tm2\tm3\nc1\t0\t1\t3\nc2\t1\t1\t0\nc3\t0\t0\t1\n"
SCITE = b"0 1 0\n1 1 0\n3 0 1\n"
SPHYR = b"3 #cells\n3 #SNVs\n0 1 -1\n1 1 0\n0 0 1\n"
CSV = b"m1,m2,m3\n0,1,-1\n1,1,0\n0,0,1\n"


@contextmanager
def time_limit(seconds: int):
    """Fail (TimeoutError) when the body runs longer than ``seconds``: a hang, not a slow example."""
    def alarm(signum, frame):
        raise TimeoutError(f"a reader ran for more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@st.composite
def mutated(draw, seeds: list[bytes]) -> bytes:
    """One of ``seeds`` after 1–6 random edits."""
    data = bytearray(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(1, 6))):
        edit = draw(st.sampled_from(["truncate", "delete", "insert", "replace", "duplicate", "shuffle lines"]))
        start = draw(st.integers(0, len(data)))
        end = draw(st.integers(start, min(len(data), start + 40)))
        piece = draw(st.one_of(st.sampled_from(TOKENS), st.binary(min_size=1, max_size=6)))
        if edit == "truncate":
            del data[start:]
        elif edit == "delete":
            del data[start:end]
        elif edit == "insert":
            data[start:start] = piece
        elif edit == "replace":
            data[start:end] = piece
        elif edit == "duplicate":
            data[start:start] = data[start:end]
        else:
            data = bytearray(b"\n".join(draw(st.permutations(bytes(data).split(b"\n")))))
    return bytes(data)


def check_reader(tmp_dir: Path, name: str, content: bytes, read) -> None:
    """Write ``content`` and read it: success or a PhyloVIError, within the time limit."""
    path = tmp_dir / name
    path.write_bytes(content)
    with time_limit(SECONDS_PER_EXAMPLE), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            read(path)
        except PhyloVIError:
            pass


def _tree_sample(path: Path, format: str = "auto") -> None:
    """Both paths of read_trees: Tree objects (annotations kept) and the batch reader."""
    list(read_trees(path, format=format, burnin=0, keep_annotations=True))
    for _ in read_trees(path, format=format, burnin=0).batches(batch_size=2):
        pass


def fixtures(*names: str) -> list[bytes]:
    return [(DATA / name).read_bytes() for name in names]


TREE_READERS = {
    "newick": (fixtures("quirks.nwk"), lambda path: list(read_newick(path))),  # trees on different taxa
    "newick-sample": ([b"((A:0.1,B:0.2):0.05,C:0.3,(D:1e-3,E:2));\n[&R] ((A,B),(C,(D,E)));\n"],
                      lambda path: (list(read_newick(path)), _tree_sample(path, "newick"))),
    "nexus": (fixtures("translate_unused.nex"), lambda path: (list(read_nexus_trees(path)), _tree_sample(path, "nexus"))),
    "mrbayes": (fixtures("mrbayes_run.t", "mrbayes_clock.t", "mrbayes_no_end.t"),
                lambda path: (list(read_mrbayes_trees(path)), _tree_sample(path, "mrbayes"))),
    "trprobs": (fixtures("mrbayes.trprobs"), lambda path: (list(read_mrbayes_trees(path)), _tree_sample(path, "trprobs"))),
    "beast": (fixtures("beast1.trees", "beast2.trees"),
              lambda path: (list(read_beast_trees(path)), _tree_sample(path, "beast"))),
    "revbayes": (fixtures("revbayes.trees"), lambda path: (list(read_revbayes_trees(path)), _tree_sample(path, "revbayes"))),
    "credible-set": ([CREDIBLE_SET], lambda path: (list(read_table_trees(path, format="credible-set")),
                                                   _tree_sample(path, "credible-set"))),
    "trprobs-tsv": ([TRPROBS_TSV], lambda path: (list(read_table_trees(path, format="trprobs-tsv")),
                                                 _tree_sample(path, "trprobs-tsv"))),
    "detected": (fixtures(*sorted(p.name for p in DATA.iterdir() if p.name != "quirks.nwk"))
                 + [CREDIBLE_SET, TRPROBS_TSV], _tree_sample),
}

OTHER_READERS = {
    "fasta": ([FASTA], lambda path: read_alignment(path, format="fasta")),
    "phylip": ([PHYLIP], lambda path: read_alignment(path, format="phylip")),
    "nexus-alignment": ([NEXUS_ALIGNMENT], lambda path: read_alignment(path, format="nexus")),
    "alignment-detected": ([FASTA, PHYLIP, NEXUS_ALIGNMENT], read_alignment),
    "sc": ([SC], lambda path: read_genotype(path, "sc")),
    "scite": ([SCITE], lambda path: read_genotype(path, "scite")),
    "sphyr": ([SPHYR], lambda path: read_genotype(path, "sphyr")),
    "csv": ([CSV], lambda path: read_genotype(path, "csv")),
    "genotype-detected": ([SC, SCITE, SPHYR, CSV], read_genotype),
}
READERS = {**TREE_READERS, **OTHER_READERS}


@pytest.fixture(scope="module")
def fuzz_dir(tmp_path_factory) -> Path:
    """One folder for every example; each reader reads its valid seeds once first (compiles Numba)."""
    folder = tmp_path_factory.mktemp("fuzz")
    for name, (seeds, read) in READERS.items():
        for seed in seeds:
            check_reader(folder, name, seed, read)
    return folder


@pytest.mark.parametrize("name", sorted(READERS))
def test_valid_seeds_read_without_error(tmp_path, name):
    seeds, read = READERS[name]
    for seed in seeds:
        path = tmp_path / name
        path.write_bytes(seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            read(path)


@pytest.mark.parametrize("name", sorted(READERS))
@EXAMPLES
@given(data=st.data())
def test_mutated_files_raise_only_phylovi_errors(fuzz_dir, name, data):
    seeds, read = READERS[name]
    check_reader(fuzz_dir, name, data.draw(mutated(seeds), label="content"), read)


FOUND_BY_FUZZING = {
    # Biopython's Nexus loops forever on a quote left open in a matrix row
    "open quote": (NEXUS_ALIGNMENT.replace(b"'b b'", b"'b b"), 7),
    # Biopython's Nexus raises TypeError on a FORMAT option without its value ...
    "format option without value": (NEXUS_ALIGNMENT.replace(b"missing=? gap=-", b"missing"), None),
    # ... and on a DIMENSIONS count without its value
    "dimension without value": (NEXUS_ALIGNMENT.replace(b"ntax=4", b"ntax="), None),
}


@pytest.mark.parametrize("name", sorted(FOUND_BY_FUZZING))
def test_nexus_alignments_found_by_fuzzing_are_clean_errors(tmp_path, name):
    content, line = FOUND_BY_FUZZING[name]
    path = tmp_path / "found.nex"
    path.write_bytes(content)
    with time_limit(SECONDS_PER_EXAMPLE), pytest.raises(AlignmentFormatError) as info:
        read_alignment(path, format="nexus")
    assert info.value.path == str(path) and (line is None or info.value.line == line)
