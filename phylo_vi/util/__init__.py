"""Small shared utilities: atomic file output, output sets, random-number generators."""
from phylo_vi.util.atomic import atomic_write
from phylo_vi.util.outputs import OutputSet, output_path
from phylo_vi.util.random import check_random_state

__all__ = ["atomic_write", "OutputSet", "output_path", "check_random_state"]
