"""Random alignments written as FASTA, PHYLIP and NEXUS (wrapped / interleaved) read back equal."""
import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from phylo_vi.io import read_alignment

# IUPAC table written out independently of phylo_vi (Cornish-Bowden 1985); '-' and '?' missing
BASES = {"A": "A", "C": "C", "G": "G", "T": "T", "R": "AG", "Y": "CT", "S": "CG", "W": "AT", "K": "GT",
         "M": "AC", "B": "CGT", "D": "AGT", "H": "ACT", "V": "ACG", "N": "ACGT", "-": "ACGT", "?": "ACGT"}
ALPHABET = "".join(BASES)


def _mask(char: str) -> int:
    return sum(1 << "ACGT".index(base) for base in BASES[char.upper()])


def _chunks(text: str, width: int) -> list[str]:
    return [text[i:i + width] for i in range(0, len(text), width)]


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.integers(2, 6), st.integers(1, 30), st.integers(1, 12), st.integers(0, 2**32 - 1))
def test_three_formats_read_back_the_same_codes(tmp_path, n_taxa, n_sites, width, seed):
    rng = np.random.default_rng(seed)
    names = [f"taxon_{i}" for i in range(n_taxa)]
    rows = ["".join(rng.choice(list(ALPHABET + "acgt"), size=n_sites)) for _ in names]
    expected = np.array([[_mask(c) for c in row] for row in rows], dtype=np.uint8)

    fasta = "".join(f">{n} description\n" + "\n".join(_chunks(r, width)) + "\n" for n, r in zip(names, rows))
    blocks = list(zip(*[_chunks(r, width) for r in rows]))
    phylip = f"{n_taxa} {n_sites}\n" + "".join(f"{n} {piece}\n" for n, piece in zip(names, blocks[0]))
    phylip += "".join("\n" + "".join(f"{piece}\n" for piece in block) for block in blocks[1:])
    nexus = (f"#NEXUS\nbegin data;\ndimensions ntax={n_taxa} nchar={n_sites};\n"
             "format datatype=dna interleave missing=? gap=-;\nmatrix\n"
             + "".join("".join(f"{n} {piece}\n" for n, piece in zip(names, block)) + "\n" for block in blocks)
             + ";\nend;\n")
    for suffix, text in [(".fasta", fasta), (".phy", phylip), (".nex", nexus)]:
        path = tmp_path / f"round_trip{suffix}"
        path.write_text(text)
        alignment = read_alignment(path)
        assert alignment.taxa.names == tuple(names)
        np.testing.assert_array_equal(alignment.codes, expected)
