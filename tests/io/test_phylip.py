"""PHYLIP reader: relaxed, strict, interleaved; errors naming file and line."""
import numpy as np
import pytest

from phylo_vi.io import read_alignment
from phylo_vi.errors import AlignmentFormatError, EmptyInputError


def _write(tmp_path, text):
    path = tmp_path / "a.phy"
    path.write_text(text)
    return path


def test_relaxed_sequential(tmp_path):
    aln = read_alignment(_write(tmp_path, "2 6\nlong_name_over_ten ACGTRY\nb  AC GT--\n"))
    assert aln.taxa.names == ("long_name_over_ten", "b")
    np.testing.assert_array_equal(aln.codes, [[1, 2, 4, 8, 5, 10], [1, 2, 4, 8, 15, 15]])


def test_relaxed_interleaved(tmp_path):
    aln = read_alignment(_write(tmp_path, "2 8\na ACGT\nb TTTT\n\nGGGG\nCCCC\n"))
    np.testing.assert_array_equal(aln.codes, [[1, 2, 4, 8, 4, 4, 4, 4], [8, 8, 8, 8, 2, 2, 2, 2]])


def test_strict_names_with_spaces_touching_the_sequence(tmp_path):
    # strict PHYLIP: the name is exactly the first 10 characters
    aln = read_alignment(_write(tmp_path, "2 4\nHomo sapieACGT\nPan_troglgACGA\n"))
    assert aln.taxa.names == ("Homo sapie", "Pan_troglg")
    np.testing.assert_array_equal(aln.codes[0], [1, 2, 4, 8])


@pytest.mark.parametrize("text, line, words", [
    ("2 5\na ACGTA\nb ACGT\n", 3, "4 sites but the header says 5"),
    ("2 4\na ACGT\na ACGA\n", 3, "duplicate taxon 'a'"),
    ("2 4\na ACGT\nb ACJA\n", 3, "unknown character 'J' in 'b' at site 3"),
    ("two 4\na ACGT\n", 1, "two integers"),
    ("3 4\na ACGT\nb ACGT\nc ACGT\n\nAAAA\n", 2, "8 sites but the header says 4"),  # stray block
])
def test_errors_name_file_and_line(tmp_path, text, line, words):
    path = _write(tmp_path, text)
    with pytest.raises(AlignmentFormatError) as info:
        read_alignment(path)
    assert info.value.path == str(path) and info.value.line == line
    assert words in str(info.value)


def test_empty_file(tmp_path):
    with pytest.raises(EmptyInputError):
        read_alignment(_write(tmp_path, "\n"))
