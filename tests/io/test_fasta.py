"""FASTA reader: quirks accepted and errors naming file and line (fixtures written here)."""
import numpy as np
import pytest

from phylo_vi.io import read_alignment
from phylo_vi.errors import AlignmentFormatError, EmptyInputError


def _write(tmp_path, text, name="a.fasta"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_wrapped_lines_descriptions_blank_lines_and_crlf(tmp_path):
    path = _write(tmp_path, ">Homo_sapiens human 18S\r\nAC GT\r\nRY\r\n\r\n>Pan_troglodytes\r\nacgt-?\r\n")
    aln = read_alignment(path)
    assert aln.taxa.names == ("Homo_sapiens", "Pan_troglodytes")
    np.testing.assert_array_equal(aln.codes, [[1, 2, 4, 8, 5, 10], [1, 2, 4, 8, 15, 15]])


def test_same_sequences_as_phylip_copy(shared_data):
    # shared/data/reference/README.md: DS1.phy and DS1.fasta hold the same names and sequences
    fasta = read_alignment(shared_data / "DS1" / "DS1.fasta")
    phylip = read_alignment(shared_data / "reference" / "DS1.phy")
    assert fasta.taxa == phylip.taxa
    np.testing.assert_array_equal(fasta.codes, phylip.codes)


def test_format_detected_from_content(tmp_path):
    path = _write(tmp_path, "\n>a\nACGT\n>b\nACGA\n", name="alignment.txt")
    assert read_alignment(path).n_sites == 4


@pytest.mark.parametrize("text, line, words", [
    (">a\nACGT\n>b\nACG\n", 3, "ragged"),
    (">a\nACGT\n>a\nACGA\n", 3, "duplicate taxon 'a' (first on line 1)"),
    (">a\nACGT\nACGT\n>b\nACGT\nAC*T\n", 6, "unknown character '*' in 'b' at site 7"),
    ("ACGT\n>a\nACGT\n", 1, "before the first '>'"),
    (">\nACGT\n", 1, "without a name"),
])
def test_errors_name_file_and_line(tmp_path, text, line, words):
    path = _write(tmp_path, text)
    with pytest.raises(AlignmentFormatError) as info:
        read_alignment(path)
    assert info.value.line == line and info.value.path == str(path)
    assert words in str(info.value)


@pytest.mark.parametrize("text", ["", "\n\n", ">a\n>b\n"])
def test_empty_input_is_an_error(tmp_path, text):
    with pytest.raises(EmptyInputError):
        read_alignment(_write(tmp_path, text), format="fasta")
