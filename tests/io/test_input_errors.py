"""Every input error clean: PhyloVIError subclasses naming file and line, and a byte-order mark accepted.

The reference for the BOM cases is the same file without the mark: both must read identically.
"""
from __future__ import annotations

import codecs

import numpy as np
import pytest

from phylo_vi.errors import AlignmentFormatError, EmptyInputError, InputFormatError, PhyloVIError, \
    TaxonMismatchError, TreeFormatError
from phylo_vi.genotype.formats import read_genotype
from phylo_vi.io import read_alignment, read_newick, read_nexus_trees, read_revbayes_trees, read_trees
from phylo_vi.trees import TaxonNamespace

FASTA = ">a\nACGTAC-T\n>b\nACGTACGT\n>c\nTCGAN?GT\n"
PHYLIP = "3 8\na ACGTAC-T\nb ACGTACGT\nc TCGAN?GT\n"
NEXUS = ("#NEXUS\nbegin data;\ndimensions ntax=3 nchar=8;\nformat datatype=dna;\nmatrix\n"
         "a ACGTAC-T\nb ACGTACGT\nc TCGAN?GT\n;\nend;\n")
SC = "cellIDxmutID\tm1\tm2\ncell1\t0\t1\ncell2\t1\t3\n"
SPHYR = "2 #cells\n2 #SNVs\n0 1\n1 -1\n"


@pytest.mark.parametrize("format, text", [("fasta", FASTA), ("phylip", PHYLIP), ("nexus", NEXUS)])
def test_alignment_with_a_byte_order_mark_reads_as_without(tmp_path, format, text):
    plain, marked = tmp_path / "plain", tmp_path / "marked"
    plain.write_text(text)
    marked.write_bytes(codecs.BOM_UTF8 + text.encode())
    expected, found = read_alignment(plain), read_alignment(marked)
    assert found.taxa.names == expected.taxa.names == ("a", "b", "c")
    np.testing.assert_array_equal(found.codes, expected.codes)


@pytest.mark.parametrize("format, text", [("sc", SC), ("sphyr", SPHYR)])
def test_genotype_matrix_with_a_byte_order_mark_reads_as_without(tmp_path, format, text):
    plain, marked = tmp_path / "plain", tmp_path / "marked"
    plain.write_text(text)
    marked.write_bytes(codecs.BOM_UTF8 + text.encode())
    expected, found = read_genotype(plain, format), read_genotype(marked)
    np.testing.assert_array_equal(found.values, expected.values)
    assert found.mutation_names == expected.mutation_names


def test_latin1_genotype_matrix_names_the_line(tmp_path):
    path = tmp_path / "latin1.SC"
    path.write_bytes(SC.replace("cell2", "c\u00e9ll2").encode("latin-1"))
    with pytest.raises(InputFormatError, match=r"not UTF-8 text \(byte 0xe9 at column 2\)") as info:
        read_genotype(path)
    assert (info.value.path, info.value.line) == (str(path), 3)


def test_binary_genotype_file_is_an_input_error(tmp_path):
    path = tmp_path / "binary.SC"
    path.write_bytes(bytes(range(256)))  # line 1: bytes 0x00-0x0a; line 2 holds 0x80, not UTF-8
    with pytest.raises(InputFormatError, match=r"byte 0x80 at column 118") as info:
        read_genotype(path)
    assert info.value.line == 2


@pytest.mark.parametrize("read", [read_alignment, read_trees, read_genotype, lambda p: list(read_newick(p)),
                                  lambda p: list(read_nexus_trees(p)), lambda p: list(read_revbayes_trees(p))])
def test_missing_files_and_folders_are_phylovi_errors(tmp_path, read):
    with pytest.raises(EmptyInputError, match="no such file"):
        read(tmp_path / "absent")
    with pytest.raises(InputFormatError, match="is a directory"):
        read(tmp_path)


def test_taxon_mismatch_names_the_alignment_file(tmp_path):
    path = tmp_path / "aln.fasta"
    path.write_text(FASTA)
    patterns = read_alignment(path).site_patterns()
    with pytest.raises(TaxonMismatchError, match=f"^{path}: taxa do not match \\(missing from the alignment: d; "
                                                 "in the alignment but not in the tree: c\\)"):
        patterns.match_taxa(TaxonNamespace("abd"))


@pytest.mark.parametrize("length", ["nan", "inf", "-inf", "1e999", "1" + "0" * 400])
@pytest.mark.parametrize("keep_annotations", [False, True])
def test_non_finite_branch_lengths_name_file_and_line(tmp_path, length, keep_annotations):
    path = tmp_path / "trees.nwk"
    path.write_text(f"((A:1,B:2):0.5,C:1,D:1);\n((A:1,B:{length}):0.5,C:1,D:1);\n")
    with pytest.raises(TreeFormatError, match="bad branch length.*: not a finite number") as info:
        list(read_trees(path, burnin=0, keep_annotations=keep_annotations))
    assert (info.value.path, info.value.line) == (str(path), 2)


@pytest.mark.parametrize("weight", ["-1", "nan", "1e999", "1/0"])
@pytest.mark.parametrize("keep_annotations", [False, True])
def test_bad_tree_weights_name_file_and_line(tmp_path, weight, keep_annotations):
    path = tmp_path / "weights.trprobs"
    path.write_text("#NEXUS\nbegin trees;\ntree tree_1 = [&W 0.5] ((A,B),C,D);\n"
                    f"tree tree_2 = [&W {weight}] ((A,C),B,D);\nend;\n")
    with pytest.raises(TreeFormatError, match="bad tree weight") as info:
        list(read_trees(path, keep_annotations=keep_annotations))
    assert (info.value.path, info.value.line) == (str(path), 4)


def test_phylip_header_with_more_taxa_than_rows_is_refused_at_once(tmp_path):
    path = tmp_path / "huge.phy"
    path.write_text("99999999999 8\na ACGTAC-T\n")
    with pytest.raises(AlignmentFormatError, match="declares 99999999999 taxa but only 1 rows") as info:
        read_alignment(path)
    assert info.value.line == 1


def test_all_reader_errors_are_phylovi_errors():
    for error in (AlignmentFormatError, TreeFormatError, InputFormatError, EmptyInputError, TaxonMismatchError):
        assert issubclass(error, PhyloVIError)
