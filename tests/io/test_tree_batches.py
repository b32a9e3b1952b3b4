"""The Numba batch parser gives exactly what the reference parser (parse_newick) gives."""
from __future__ import annotations

import glob
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from phylo_vi.errors import TreeFormatError
from phylo_vi.io.exact_decimal import parse_decimal
from phylo_vi.io.beast import read_beast_trees
from phylo_vi.io.detect import detect_format
from phylo_vi.io.newick import format_newick, parse_newick, read_newick
from phylo_vi.io.nexus import read_nexus_trees
from phylo_vi.io.revbayes import read_revbayes_trees
from phylo_vi.io.tree_batches import iter_tree_batches
from phylo_vi.trees import TaxonNamespace

DATA = Path(__file__).parent / "data"
READERS = {"mrbayes": read_nexus_trees, "trprobs": read_nexus_trees, "nexus": read_nexus_trees,
           "beast": read_beast_trees, "newick": read_newick, "revbayes": read_revbayes_trees}


def assert_identical_to_reference(path: Path, batch_size: int = 3, **options) -> int:
    """Every tree, key, name, weight and rooting from the batches equals the reference reader's."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fast_taxa, slow_taxa = TaxonNamespace(), TaxonNamespace()
        batches = list(iter_tree_batches(path, taxa=fast_taxa, batch_size=batch_size, **options))
        slow = list(READERS[detect_format(path)](path, slow_taxa, **options))
    fast = [tree for batch in batches for tree in batch]
    keys = [key for batch in batches for key in batch.topology_keys()]
    assert fast_taxa.names == slow_taxa.names
    assert len(fast) == len(slow) > 0
    for tree, reference, key in zip(fast, slow, keys):
        np.testing.assert_array_equal(tree.parent, reference.parent)
        np.testing.assert_array_equal(tree.taxon, reference.taxon)
        # bit-for-bit equal lengths (NaN where missing)
        assert tree.branch_length.tobytes() == reference.branch_length.tobytes()
        assert (tree.rooted, tree.weight, tree.name) == (reference.rooted, reference.weight, reference.name)
        assert key == reference.topology_key()
        np.testing.assert_array_equal(tree.clades, reference.clades)
    return len(fast)


@pytest.mark.parametrize("name", sorted(p.name for p in DATA.iterdir()))
def test_fixtures_identical_to_reference(name):
    assert_identical_to_reference(DATA / name)


def test_rooting_override_identical(tmp_path):
    assert_identical_to_reference(DATA / "mrbayes_run.t", rooted=True)
    assert_identical_to_reference(DATA / "beast1.trees", rooted=False)


def test_ds1_files_identical(shared_data):
    assert assert_identical_to_reference(shared_data / "DS1" / "DS1.subsampled_10.t", batch_size=4) == 10
    assert assert_identical_to_reference(shared_data / "DS1" / "short_run" / "rep_1" / "DS1.trprobs",
                                         batch_size=500) == 1278


@pytest.mark.slow
def test_all_ds1_trprobs_identical(shared_data):
    for path in sorted(glob.glob(str(shared_data / "DS1" / "short_run" / "rep_*" / "DS1.trprobs"))):
        assert_identical_to_reference(Path(path), batch_size=1000)


def _lines_file(tmp_path: Path, extra: list[str]) -> Path:
    lines = (DATA / "mrbayes_run.t").read_text().splitlines()
    path = tmp_path / "mixed.t"
    path.write_text("\n".join(lines[:12] + extra + lines[12:]) + "\n")
    return path


def test_lines_left_to_the_reference_parser(tmp_path):
    extra = [
        "   tree 'quoted name' = [&U] ('1':0.5,(2:0.25,3:1e-30):0.125,(4,5):2);",   # quotes, tiny length
        "   tree gen.x = [&U] (1:0.1,(2:0.2,3:0.3) 0.95:0.4,(4:12345678901234567890.5,5:-0.0):0.5);",
        "   tree gen.y = [&W 2/3] (1:1_0,(2,3),(4,5));",                         # m/n weight, 1_0 (Python float)
        "   tree gen.z = [&U] (1:0.1,",                                           # a statement over two lines
        "      (2:0.2,3:0.3):0.4,(4:0.5,5:0.6):0.7);",
        "   [a comment line]",
        "   tree gen.w = [&U] (1:0.1,(2:0.2,3:0.3):0.4,(4:0.5,5:0.6):0.7);",
    ]
    assert assert_identical_to_reference(_lines_file(tmp_path, extra)) == 9


def test_burnin_and_thinning_match_the_reference(tmp_path):
    path = _lines_file(tmp_path, ["   tree gen.q = [&U] ('1',2,(3,(4,5)));"] * 5)
    fast = [tree.name for batch in iter_tree_batches(path, n_burnin=2, thin=3) for tree in batch]
    slow = [tree.name for i, tree in enumerate(read_nexus_trees(path)) if i >= 2 and (i - 2) % 3 == 0]
    assert fast == slow and len(fast) == 3
    batch = next(iter_tree_batches(path, n_burnin=2, thin=3))
    assert batch.indices.tolist() == [2, 5, 8]


@pytest.mark.parametrize("bad, message", [
    ("   tree gen.b = [&U] (1,(2,3),(4,9));", "unknown translate token or taxon '9'"),
    ("   tree gen.b = [&U] (1,(2,3),(4,1));", "appears more than once"),
    ("   tree gen.b = [&U] (1,(2,3),(4,5);", "unbalanced parentheses"),
])
def test_errors_are_those_of_the_reference_parser(tmp_path, bad, message):
    path = _lines_file(tmp_path, [bad])
    with pytest.raises(TreeFormatError, match=message) as caught:
        list(iter_tree_batches(path))
    assert caught.value.line == 13 and caught.value.path == str(path)


def test_many_taxa_use_several_words(tmp_path):
    # 200 taxa: bitsets of 4 words; a caterpillar and a balanced tree, names as labels
    names = [f"taxon_{i}" for i in range(200)]
    caterpillar = names[0]
    for name in names[1:]:
        caterpillar = f"({caterpillar}:0.5,{name}:0.25)"
    def balanced(group):
        if len(group) == 1:
            return group[0] + ":1.5"
        half = len(group) // 2
        return f"({balanced(group[:half])},{balanced(group[half:])}):0.75"
    path = tmp_path / "wide.nwk"
    halves = f"({balanced(names[:100])},{balanced(names[100:])})"
    path.write_text(f"{caterpillar};\n[&R] {balanced(names[::-1])};\n{halves};\n")
    assert assert_identical_to_reference(path) == 3
    batch = next(iter_tree_batches(path))
    assert batch.n_words == 4


def test_number_conversion_is_exactly_pythons_float():
    # reference: Python's float() (correctly rounded); the kernel either returns the same double
    # or defers (None), for the formats MrBayes, BEAST and repr() write
    rng = np.random.default_rng(7)
    values = np.concatenate([rng.exponential(0.05, 4000), rng.exponential(1e-7, 1000), rng.uniform(0, 1e4, 1000),
                             [0.1, 0.2, 0.3, 1e-300, 5e-324, 1.7976931348623157e308, 0.0]])
    for fmt in ("%.15e", "%.17g", "%.6f", "%r", "%.16e", "%.3e"):
        for value in values:
            text = (fmt % value).encode()
            got = parse_decimal(text)
            assert got is None or got == float(text), text
    # MrBayes' own format (16 significant digits) is never deferred in this range
    assert all(parse_decimal(("%.15e" % v).encode()) is not None for v in values[:4000])
    assert all(parse_decimal(("%.6f" % v).encode()) is not None for v in values[:6000])
    assert parse_decimal(b"-0.0") == 0.0 and str(parse_decimal(b"-0.0")) == "-0.0"
    assert parse_decimal(b"1e") is None and parse_decimal(b"abc") is None


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.integers(0, 2**32 - 1), min_size=1, max_size=6), st.sampled_from(["%r", "%.15e", "%.6f"]))
def test_file_round_trip_through_the_fast_path(tmp_path, seeds, number_format):
    # reference: the trees written (repr lengths are exact; %.15e and %.6f are compared with
    # float() of the written text): reading the file back gives the same keys and lengths
    taxa = TaxonNamespace()
    written = []
    for seed in seeds:
        rng = np.random.default_rng(seed)
        n_taxa = int(rng.integers(3, 30))
        nodes = [f"t{i}:{number_format % rng.exponential(0.1)}" for i in rng.permutation(n_taxa)]
        while len(nodes) > 3:
            picked = [nodes.pop(int(rng.integers(len(nodes)))) for _ in range(2)]
            nodes.append(f"({','.join(picked)}):{number_format % rng.exponential(0.1)}")
        written.append(parse_newick("(" + ",".join(nodes) + ");", taxa))
    path = tmp_path / f"round_trip_{len(list(tmp_path.iterdir()))}.nwk"
    path.write_text("".join(format_newick(tree) + "\n" for tree in written))
    read = [tree for batch in iter_tree_batches(path, taxa=taxa) for tree in batch]
    assert len(read) == len(written)
    for tree, original in zip(read, written):
        assert tree.topology_key() == original.topology_key()
        np.testing.assert_allclose(tree.branch_length, original.branch_length, rtol=1e-12, atol=0, equal_nan=True)


def test_windows_line_ends_byte_order_mark_and_tabs(tmp_path):
    # the same trees whatever the line ends: CRLF, a UTF-8 byte-order mark, tab indentation
    text = (DATA / "mrbayes_run.t").read_text().replace("   tree", "\ttree")
    path = tmp_path / "windows.t"
    path.write_bytes(b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode())
    assert assert_identical_to_reference(path) == 4
    unix = [tree.topology_key() for batch in iter_tree_batches(DATA / "mrbayes_run.t") for tree in batch]
    assert [key for batch in iter_tree_batches(path) for key in batch.topology_keys()] == unix


@pytest.mark.parametrize("name", ["beast2.trees", "mrbayes_run.t", "revbayes.trees"])
def test_keys_with_forced_rooting(name):
    # reference: Tree.topology_key of each tree rooted as asked (unrooted: the key of unroot())
    batches = list(iter_tree_batches(DATA / name))
    trees = [tree for batch in batches for tree in batch]
    unrooted = [key for batch in batches for key in batch.topology_keys(rooted=False)]
    assert unrooted == [(tree.unroot() if tree.rooted else tree).topology_key() for tree in trees]
    rooted = [key for batch in batches for key in batch.topology_keys(rooted=True)]
    for tree in trees:
        tree.rooted = True
    assert rooted == [tree.topology_key() for tree in trees]


def test_batches_start_small_and_double_with_identical_trees(tmp_path, monkeypatch):
    # the first batch gets one tree (FIRST_BATCH_BYTES = 1), each next one twice as many, up to
    # batch_size = 16: 40 kernel lines, 3 lines of the reference parser and 4 more trees
    from phylo_vi.io import tree_batches

    monkeypatch.setattr(tree_batches, "FIRST_BATCH_BYTES", 1)
    kernel_line = "   tree gen.k = [&U] (1:0.1,(2:0.2,3:0.3):0.4,(4:0.5,5:0.6):0.7);"
    fallback_line = "   tree gen.f = [&U] ('1',2,(3,(4,5)));"
    path = _lines_file(tmp_path, [kernel_line] * 20 + [fallback_line] * 3 + [kernel_line] * 20)
    assert assert_identical_to_reference(path, batch_size=16) == 43 + 4
    assert [len(batch) for batch in iter_tree_batches(path, batch_size=16)] == [1, 2, 4, 8, 16, 16]


def test_wide_namespace_trees_identical_with_canonical_keys(tmp_path):
    # 1,100 taxa (18 words, past SPLIT_KEY_MAX_WORDS): no clade arrays in the batch, canonical keys
    # equal to Tree.topology_key of the reference parser's trees, forced rootings included
    rng = np.random.default_rng(11)
    names = [f"n{i}" for i in range(1100)]
    lines = []
    for _ in range(3):
        nodes = [f"{names[i]}:{rng.exponential(0.1)!r}" for i in rng.permutation(len(names))]
        while len(nodes) > 3:
            i, j = sorted(rng.choice(len(nodes), size=2, replace=False))
            right, left = nodes.pop(j), nodes.pop(i)
            nodes.append(f"({left},{right}):{rng.exponential(0.1)!r}")
        lines.append("(" + ",".join(nodes) + ");")
    path = tmp_path / "wide.nwk"
    path.write_text("\n".join(lines + ["[&R] " + lines[0]]) + "\n")
    assert assert_identical_to_reference(path, batch_size=2) == 4
    batches = list(iter_tree_batches(path, taxa=TaxonNamespace(names)))
    assert all(batch.clades is None and batch.n_words == 18 for batch in batches)
    trees = [tree for batch in batches for tree in batch]
    keys = [key for batch in batches for key in batch.topology_keys(rooted=False)]
    assert keys == [(tree.unroot() if tree.rooted else tree).topology_key() for tree in trees]
    assert keys[0] == keys[3] and len(set(keys)) == 3
