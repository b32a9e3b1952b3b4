"""Readers and writers of genotype matrices, checked against the shared files' documented shapes
and cross-format identities (README of ../shared/data/genotype)."""
from __future__ import annotations

import numpy as np
import pytest

from phylo_vi.errors import InputFormatError
from phylo_vi.genotype import MISSING, GenotypeMatrix, read_genotype, write_genotype
from phylo_vi.genotype.formats import FORMATS, detect_format, read_csv, read_sc, read_scite, read_sphyr


@pytest.mark.parametrize("relative, fmt, shape, n_missing", [
    ("huntress_demo/Demo.SC", "sc", (100, 100), 2500),                       # README: 25.0% missing
    ("examples/phiscs_example_input.SC", "sc", (10, 8), None),               # '?' = missing
    ("real/scite_dataXu.csv", "scite", (17, 35), None),                      # 35 muts x 17 cells, transposed
    ("real/scite_dataNavin.csv", "scite", (47, 40), None),
    ("real/sphyr_CRC1.SPhyR.input", "sphyr", (178, 16), 191),                # README: 191 missing
    ("real/phyolin_Patient6.csv", "csv", (146, 10), 0),
    ("branching_phyolin_sim2/sim1_m100_n100_branched.csv", "csv", (100, 100), 0),
    ("ms_perfect_phylogeny/m25_n25_s1.txt", "sphyr", (25, 25), 0),
])
def test_shared_files_read_with_documented_shapes(shared_data, relative, fmt, shape, n_missing):
    path = shared_data / "genotype" / relative
    assert detect_format(path) == fmt
    matrix = read_genotype(path)
    assert matrix.shape == shape
    if n_missing is not None:
        assert int((matrix.values == MISSING).sum()) == n_missing


def test_question_mark_is_missing(shared_data):
    # phiscs_example_input.SC row cell0: "0 0 ? 0 0 0 0 0" (file header line 2)
    matrix = read_sc(shared_data / "genotype/examples/phiscs_example_input.SC")
    assert matrix.values[0].tolist() == [0, 0, MISSING, 0, 0, 0, 0, 0]


def test_scite_is_transposed(shared_data):
    # first line of dataXu.csv is mutation 0 across the 17 cells
    path = shared_data / "genotype/real/scite_dataXu.csv"
    first_line = [int(v) for v in path.read_text().splitlines()[0].split()]
    matrix = read_scite(path)
    assert matrix.values[:, 0].tolist() == first_line
    assert len(matrix.mutation_names) == 35


def test_sphyr_crc1_equals_the_sc_copy(shared_data):
    # README §4: the SPhyR CRC1 input is the identical matrix to CRC1_Leung2017_178x16.SC
    a = read_sphyr(shared_data / "genotype/real/sphyr_CRC1.SPhyR.input").values
    b = read_sc(shared_data / "genotype/real/CRC1_Leung2017_178x16.SC").values
    np.testing.assert_array_equal(a, b)


def test_phyolin_csv_holds_the_same_rows_as_the_all_sc(shared_data):
    # README §4: same rows as ALL patient 6, column order differs -> compare sorted row multisets
    a = read_csv(shared_data / "genotype/real/phyolin_Patient6.csv")
    b = read_sc(shared_data / "genotype/real/ALL_Gawad2014_patient6_146x10.SC")
    common = [name for name in a.mutation_names if name in b.mutation_names]
    if len(common) == 10:
        b_values = b.values[:, [b.mutation_names.index(n) for n in a.mutation_names]]
        assert sorted(map(tuple, a.values)) == sorted(map(tuple, b_values))
    else:  # names differ between the two sources: compare row multisets up to a column permutation
        assert sorted(a.values.sum(axis=0)) == sorted(b.values.sum(axis=0))


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_writer_round_trips(tmp_path, fmt):
    rng = np.random.default_rng(7)
    values = rng.choice([0, 1, MISSING], size=(6, 4), p=[0.5, 0.4, 0.1]).astype(np.int8)
    matrix = GenotypeMatrix(values, [f"c{i}" for i in range(6)], [f"m{j}" for j in range(4)])
    path = tmp_path / f"matrix.{fmt}"
    write_genotype(matrix, path, fmt)
    back = read_genotype(path, fmt)
    np.testing.assert_array_equal(back.values, values)
    if fmt in ("sc", "csv"):
        assert back.mutation_names == matrix.mutation_names


def test_ragged_row_names_file_and_line(tmp_path):
    path = tmp_path / "bad.SC"
    path.write_text("cellIDxmutID\tm0\tm1\nc0\t0\t1\nc1\t0\n")
    with pytest.raises(InputFormatError, match=r"bad.SC, line 3"):
        read_sc(path)


def test_unknown_value_is_an_input_error(tmp_path):
    path = tmp_path / "bad.SC"
    path.write_text("cellIDxmutID\tm0\nc0\t7\n")
    with pytest.raises(InputFormatError, match="unknown genotype value '7'"):
        read_sc(path)
