"""``phylo-vi sbn``: tree-topology distributions (SRF, CCD, SBN-SA, SBN-EM, SBN-EM-α) from tree samples."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from phylo_vi.cli.common import emit_json, json_option, quiet_option, resolve_seed, seed_option, threads_option

METHOD_CHOICES = ["srf", "ccd", "sa", "em", "em-alpha", "rooted"]
TABLE_CHOICES = ["srf", "ccd", "sa", "em", "em-alpha"]
tree_files = click.argument("trees", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
burnin_option = click.option("--burnin", type=click.FloatRange(0, 1, max_open=True), default=0.25, show_default=True,
                             help="Fraction of each MCMC file discarded at its start (not applied to .trprobs).")
alpha_option = click.option("--alpha", type=click.FloatRange(min=0), default=1e-4, show_default=True,
                            help="Regularisation of SBN-EM-α.")


class FilesOption(click.Option):
    """An option followed by one or more values, up to the next option (``--truth a b c --train d e``).

    Shell globs such as ``--truth golden/rep_*/DS1.trprobs`` expand into several words; click's
    options take one value each, so this option's parser consumes every following word that
    does not start with ``-``. Repeating the option appends.
    """

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("multiple", True)
        kwargs.setdefault("metavar", "FILE...")
        super().__init__(*args, **kwargs)

    def add_to_parser(self, parser, ctx) -> None:
        super().add_to_parser(parser, ctx)
        for name in self.opts:
            option = parser._long_opt.get(name) or parser._short_opt.get(name)
            if option is not None:
                original = option.process

                def process(value, state, original=original):
                    original(value, state)
                    while state.rargs and not state.rargs[0].startswith("-"):
                        original(state.rargs.pop(0), state)

                option.process = process


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def sbn() -> None:
    """Subsplit Bayesian networks and baselines fitted to tree samples (Zhang & Matsen 2018)."""


def _emit_lines(lines, out: Path | None) -> None:
    from phylo_vi.util.atomic import atomic_write

    if out is None:
        sys.stdout.write("".join(lines))
        return
    with atomic_write(out) as handle:
        handle.write("".join(lines))


@sbn.command()
@tree_files
@click.option("--method", type=click.Choice(METHOD_CHOICES), default="em", show_default=True,
              help="srf, ccd, sa, em, em-alpha (unrooted samples) or rooted (rooted SBN by counting).")
@alpha_option
@burnin_option
@click.option("--max-iter", type=click.IntRange(min=1), default=1000, show_default=True, help="EM iterations at most.")
@click.option("--tol", type=click.FloatRange(min=0), default=1e-5, show_default=True,
              help="EM stops when the score changes by less (after 50 iterations).")
@click.option("-o", "--out", "out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Model file (JSON).")
@threads_option
@json_option
def fit(trees, method, alpha, burnin, max_iter, tol, out, threads, as_json) -> None:
    """Fit a topology distribution to TREES (all files pooled) and save it as JSON."""
    from phylo_vi.sbn import make_estimator, read_tree_arrays

    sample = read_tree_arrays(trees, rooted=method == "rooted", burnin=burnin)
    model = make_estimator(method, alpha=alpha, max_iter=max_iter, tol=tol, n_jobs=threads).fit(sample)
    model.save(out)
    summary = {"model": str(out), "method": method, "trees": len(sample), "taxa": len(sample.taxa),
               "em_iterations": getattr(model, "n_iter_", None),
               "score": model.scores_[-1] if getattr(model, "scores_", None) else None}
    if as_json:
        emit_json(summary)
    else:
        click.echo(f"fitted {method} to {len(sample)} trees on {len(sample.taxa)} taxa -> {out}"
                   + (f" ({model.n_iter_} EM iterations, score {summary['score']:.6f})" if summary["score"] else ""))


@sbn.command()
@click.argument("model", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@tree_files
@click.option("--burnin", type=click.FloatRange(0, 1, max_open=True), default=0.0, show_default=True,
              help="Fraction of each MCMC file discarded at its start.")
@click.option("-o", "--out", "out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="TSV file (stdout when omitted).")
def prob(model, trees, burnin, out) -> None:
    """Log probability under MODEL of every tree in TREES (TSV: file, tree index, log_q)."""
    from phylo_vi.sbn import load_model, read_tree_arrays

    fitted = load_model(model)
    lines = ["file\ttree\tlog_q\n"]
    for path in trees:
        sample = read_tree_arrays([path], rooted=fitted.rooted, burnin=burnin, taxa=fitted.taxa_)
        lines += [f"{path}\t{i + 1}\t{value!r}\n" for i, value in enumerate(fitted.log_prob(sample).tolist())]
    _emit_lines(lines, out)


@sbn.command()
@click.argument("model", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("-n", "n_trees", type=click.IntRange(min=1), default=1, show_default=True, help="Number of trees.")
@seed_option
@click.option("-o", "--out", "out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Newick file (stdout when omitted).")
def sample(model, n_trees, seed, out) -> None:
    """Draw N topologies from MODEL (Newick, one per line)."""
    from phylo_vi.io.newick import format_newick
    from phylo_vi.sbn import load_model

    fitted = load_model(model)
    seed = resolve_seed(seed)
    drawn = fitted.sample(n_trees, random_state=seed)
    _emit_lines([format_newick(tree, lengths=False) + "\n" for tree in drawn], out)


@sbn.command()
@click.option("--truth", "truth", cls=FilesOption, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Golden-run .trprobs files, one or more (pooled as round(w·750001) counts).")
@click.option("--train", "train", cls=FilesOption, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Training samples, one or more; one table row each.")
@click.option("--methods", default=",".join(TABLE_CHOICES), show_default=True,
              help="Comma-separated columns among srf, ccd, sa, em, em-alpha.")
@alpha_option
@burnin_option
@click.option("--truth-samples", type=click.IntRange(min=1), default=750_001, show_default=True,
              help="Samples kept per golden-run replicate (weights become round(w·N) counts).")
@threads_option
@json_option
@quiet_option
def kl(truth, train, methods, alpha, burnin, truth_samples, threads, as_json, quiet) -> None:
    """KL(truth ‖ q) for every method fitted to every --train file (the SBN paper's table)."""
    from tqdm import tqdm

    from phylo_vi.errors import PhyloVIError
    from phylo_vi.sbn import pooled_golden_run, read_tree_arrays
    from phylo_vi.sbn.kl_table import kl_table
    from phylo_vi.trees.taxa import TaxonNamespace

    chosen = [m.strip() for m in methods.split(",") if m.strip()]
    unknown = sorted(set(chosen) - set(TABLE_CHOICES))
    if unknown or not chosen:
        raise PhyloVIError(f"--methods: unknown or empty {unknown}; choose among {', '.join(TABLE_CHOICES)}")
    taxa = TaxonNamespace()
    reference, probabilities = pooled_golden_run(read_tree_arrays(truth, taxa=taxa, per_file=True), truth_samples)
    samples = read_tree_arrays(train, taxa=taxa, burnin=burnin, per_file=True)
    with tqdm(total=len(samples) * len(chosen), file=sys.stderr, disable=quiet or not sys.stderr.isatty(),
              leave=False, desc="fitting") as bar:
        table = kl_table(reference, probabilities, samples, [str(p) for p in train], methods=chosen, alpha=alpha,
                         n_jobs=threads, progress=lambda: bar.update(1))
    document = table.to_dict()
    document["truth"] = [str(p) for p in truth]
    if as_json:
        emit_json(document)
    else:
        click.echo(table.to_markdown())
