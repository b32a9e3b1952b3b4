"""scikit-learn's 8x8 handwritten digits, binarised: the small image set of the VAE comparison.

1797 images of 8 x 8 pixels with grey levels 0..16 (the UCI optical-recognition test set,
Alpaydin & Kaynak 1998), shipped inside scikit-learn (``sklearn.datasets.load_digits``; no
download). Pixels are binarised at half intensity (``level >= 8``) and the rows split into a
training and a held-out part by a seeded permutation.

References
----------
1. Alpaydin, E. & Kaynak, C. (1998). Optical recognition of handwritten digits. UCI ML repository.
"""
from __future__ import annotations

import numpy as np

from phylo_vi.vi.vae.errors import MissingExtraError

__all__ = ["load_binarised_digits", "BINARISATION_LEVEL"]

BINARISATION_LEVEL = 8


def load_binarised_digits(*, heldout_fraction: float = 0.2, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``(train, heldout)`` float64 arrays of 0/1 pixels, (n, 64) each."""
    try:
        from sklearn.datasets import load_digits
    except ImportError as error:
        raise MissingExtraError("the vae-digits problem needs scikit-learn: pip install 'phylo_vi[benchmarks]'") \
            from error
    images = load_digits().data
    pixels = (images >= BINARISATION_LEVEL).astype(np.float64)
    order = np.random.default_rng(seed).permutation(pixels.shape[0])
    n_heldout = int(round(heldout_fraction * pixels.shape[0]))
    return pixels[order[n_heldout:]], pixels[order[:n_heldout]]
