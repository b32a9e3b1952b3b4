"""A marginal-likelihood study read from files: the alignment, the topologies of a tree file (the
``top`` of highest weight), the methods, and an optional reference topology posterior, run as one
grid (:func:`phylo_vi.marginal.grid.run_grid`) and reported as TSV, JSON and HTML.

Everything that can be wrong with the inputs (files, taxa, model string, method names) is
raised by :meth:`MarginalStudy.from_files`, before any estimator runs.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from phylo_vi.marginal.grid import CellResult, grid_cells, run_grid
from phylo_vi.trees import Tree

REPORT_SUFFIXES = {"tsv": ".tsv", "json": ".json", "html": ".html"}


def _check_taxa(trees: list[Tree], names: list[str], tree_file, alignment) -> None:
    """Every tree holds exactly the alignment's taxa (its namespace may have grown while reading)."""
    from phylo_vi.errors import TaxonMismatchError

    extra = [name for name in trees[0].taxa.names if name not in set(names)] if trees else []
    if extra:
        raise TaxonMismatchError(f"{tree_file}: taxa not in the alignment {alignment}: {', '.join(extra)}")
    for index, tree in enumerate(trees):
        if tree.n_leaves != len(names):
            raise TaxonMismatchError(f"{tree_file}: tree {index + 1} has {tree.n_leaves} of the {len(names)} taxa "
                                     f"of the alignment {alignment}")


def report_paths(prefix: str | Path) -> dict[str, Path]:
    """``PREFIX.tsv`` (one row per cell), ``PREFIX.json`` (summary) and ``PREFIX.html`` (plots)."""
    return {key: Path(f"{prefix}{suffix}") for key, suffix in REPORT_SUFFIXES.items()}


@dataclass
class MarginalStudy:
    """Inputs and settings of one grid of topologies × methods × replicates.

    Attributes
    ----------
    alignment, tree_file : the input paths (recorded in the reports).
    patterns : site patterns of the alignment.
    topologies : the topologies estimated (unrooted).
    methods : method names (keys of :data:`phylo_vi.marginal.METHODS`).
    reference : weight of each topology in the reference posterior, or None.
    n_replicates, preset, model, prior_rate : the grid's settings (see :func:`run_grid`).
    """

    alignment: Path
    tree_file: Path
    patterns: object
    topologies: list[Tree]
    methods: list[str]
    reference: np.ndarray | None
    n_replicates: int
    preset: str
    model: str
    prior_rate: float

    @classmethod
    def from_files(cls, alignment: str | Path, tree_file: str | Path, *, methods: str = "all",
                   top: int | None = None, n_replicates: int = 1, preset: str = "paper",
                   model: str = "JC69", prior_rate: float = 10.0,
                   reference_file: str | Path | None = None) -> "MarginalStudy":
        """Read and check every input; ``methods`` is ``all`` or a comma-separated list."""
        from phylo_vi.io import read_alignment
        from phylo_vi.errors import PhyloVIError, TreeFormatError
        from phylo_vi.likelihood import parse_model
        from phylo_vi.marginal.methods import parse_methods
        from phylo_vi.marginal.topologies import read_topologies, reference_posterior, top_topologies
        from phylo_vi.trees import TaxonNamespace

        if not prior_rate > 0:
            raise PhyloVIError(f"the exponential prior needs a positive rate, got {prior_rate}")
        parse_model(model)
        names = parse_methods(methods)
        aln = read_alignment(alignment)
        taxa = TaxonNamespace(aln.taxa.names)  # trees may add taxa; the alignment's namespace stays intact
        topologies = top_topologies(read_topologies(tree_file, taxa), top)
        _check_taxa(topologies, aln.taxa.names, tree_file, alignment)
        reference = None
        if reference_file is not None:
            reference_trees = read_topologies(reference_file, taxa)
            _check_taxa(reference_trees, aln.taxa.names, reference_file, alignment)
            try:
                reference = reference_posterior(topologies, reference_trees)
            except TreeFormatError as exc:
                raise TreeFormatError(str(exc), reference_file) from None
        return cls(Path(alignment), Path(tree_file), aln.site_patterns(), topologies, names, reference,
                   n_replicates, preset, model, prior_rate)

    @property
    def n_cells(self) -> int:
        return len(grid_cells(len(self.topologies), self.methods, self.n_replicates, 0))

    def run(self, random_state: int = 0, *, client=None, workers: int | str = 1,
            progress: Callable[[int], None] | None = None) -> tuple[list[CellResult], dict]:
        """Run every cell with cell seeds drawn from the integer ``random_state`` (on ``client`` when
        given; ``workers`` is recorded) and summarize them."""
        from phylo_vi.marginal.report import summarize

        results = run_grid(self.patterns, self.topologies, self.methods, n_replicates=self.n_replicates,
                           random_state=random_state, preset=self.preset, model=self.model,
                           prior_rate=self.prior_rate, client=client, progress=progress)
        summary = summarize(results, self.topologies, self.reference, alignment=str(self.alignment),
                            tree_file=str(self.tree_file), preset=self.preset, seed=random_state,
                            model=self.model, prior_rate=self.prior_rate, workers=workers)
        return results, summary

    def write_reports(self, results: list[CellResult], summary: dict, paths: dict[str, Path]) -> None:
        """The long TSV, the JSON summary and the HTML report at ``paths`` (keys of :func:`report_paths`)."""
        import json

        from phylo_vi.marginal.report import write_html_report, write_results_tsv
        from phylo_vi.util.atomic import atomic_write

        write_results_tsv(paths["tsv"], results)
        with atomic_write(paths["json"]) as handle:
            json.dump(summary, handle, indent=2, allow_nan=True)
            handle.write("\n")
        write_html_report(paths["html"], results, summary, self.topologies)
