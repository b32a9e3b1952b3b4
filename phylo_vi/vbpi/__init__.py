"""Variational Bayesian phylogenetic inference (Zhang & Matsen, ICLR 2019) on the Numba engine."""
