"""Trained weights shipped as package data (``pointer.pt``: see :mod:`phylo_vi.genotype.denoise`)."""
