"""NEXUS alignment reader: interleave, quoted names, matchchar, custom symbols; errors with lines."""
import numpy as np
import pytest

from phylo_vi.io import read_alignment
from phylo_vi.errors import AlignmentFormatError, EmptyInputError

INTERLEAVED = """#NEXUS
[ a header comment ]
begin taxa; dimensions ntax=3; taxlabels a b 'c d'; end;
begin data;
  dimensions ntax=3 nchar=8;
  format datatype=dna interleave missing=N gap=~ matchchar=.;
matrix
a      ACGT
b      ..N~
'c d'  RYNN
a      ACGT
b      ....
'c d'  acgt
;
end;
begin trees; tree t = (a,b,'c d'); end;
"""


def _write(tmp_path, text):
    path = tmp_path / "a.nex"
    path.write_text(text)
    return path


def test_interleaved_quoted_matchchar_and_custom_symbols(tmp_path):
    aln = read_alignment(_write(tmp_path, INTERLEAVED))
    assert aln.taxa.names == ("a", "b", "c d")
    # written out by hand: b's dots copy a; 'N' (the missing symbol) and '~' (the gap symbol) are missing
    np.testing.assert_array_equal(aln.codes, [[1, 2, 4, 8, 1, 2, 4, 8],
                                              [1, 2, 15, 15, 1, 2, 4, 8],
                                              [5, 10, 15, 15, 1, 2, 4, 8]])


def test_treebase_ds1_equals_fasta_copy(shared_data):
    # shared/data/reference/README.md: reference/DS1.fasta was converted from marginal/DS1.nex
    nexus = read_alignment(shared_data / "marginal" / "DS1.nex")
    fasta = read_alignment(shared_data / "reference" / "DS1.fasta")
    assert nexus.taxa == fasta.taxa
    np.testing.assert_array_equal(nexus.codes, fasta.codes)


def _matrix(rows, nchar=4):
    return ("#NEXUS\nbegin data; dimensions ntax=2 nchar=%d; format datatype=dna;\nmatrix\n" % nchar
            + "".join(r + "\n" for r in rows) + ";\nend;\n")


@pytest.mark.parametrize("rows, nchar, line, words", [
    (["a ACGT", "a ACGA"], 4, 5, "duplicate taxon 'a'"),
    (["a ACGT", "b ACJT"], 4, 5, "Illegal character J"),
    (["a ACGTA", "b ACGT"], 5, 5, "shorter than NCHAR"),
    (["a ACGT", "b ACGTA"], 4, 5, "does not match"),
])
def test_errors_name_file_and_line(tmp_path, rows, nchar, line, words):
    path = _write(tmp_path, _matrix(rows, nchar))
    with pytest.raises(AlignmentFormatError) as info:
        read_alignment(path)
    assert info.value.path == str(path) and info.value.line == line
    assert words in str(info.value)


@pytest.mark.parametrize("text", ["", "#NEXUS\nbegin taxa; dimensions ntax=2; taxlabels a b; end;\n"])
def test_no_matrix_is_empty_input(tmp_path, text):
    with pytest.raises(EmptyInputError):
        read_alignment(_write(tmp_path, text))
