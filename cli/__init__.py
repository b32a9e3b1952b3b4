"""Command-line interface of phylo_vi (installed as ``phylo_vi.cli``): a thin click layer over the API."""
