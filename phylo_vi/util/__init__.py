"""Small shared utilities: atomic file output, random-number generators."""
from phylo_vi.util.atomic import atomic_write
from phylo_vi.util.random import check_random_state

__all__ = ["atomic_write", "check_random_state"]
