"""``phylo-vi sbn``: tree-topology distributions (SRF, CCD, SBN-SA, SBN-EM, SBN-EM-α) from tree samples."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from phylo_vi.cli.common import (burnin_choice, emit_json, json_option, n_burnin_option, out_option_for,
                                 planned_outputs, quiet_option, resolve_seed, seed_option, threads_option, writing)

METHOD_CHOICES = ["srf", "ccd", "sa", "em", "em-alpha", "rooted"]
TABLE_CHOICES = ["srf", "ccd", "sa", "em", "em-alpha"]
tree_files = click.argument("trees", nargs=-1, required=True,
                            type=click.Path(exists=True, dir_okay=False, path_type=Path))
alpha_option = click.option("--alpha", type=click.FloatRange(min=0), default=1e-4, show_default=True,
                            help="Regularisation of SBN-EM-α.")


def burnin_options(default: float):
    """``--burnin`` (fraction, with the command's default) and ``--n-burnin`` (count)."""
    def decorate(func):
        func = n_burnin_option(func)
        return click.option("--burnin", type=click.FloatRange(0, 1, max_open=True), default=default,
                            show_default=True,
                            help="Fraction of each MCMC chain discarded at its start (not applied to .trprobs).")(func)
    return decorate


class ManyValuesCommand(click.Command):
    """A command whose options in ``many_values`` take every following word up to the next option.

    Shell globs such as ``--truth golden/rep_*/DS1.trprobs`` expand into several words while a
    click option takes one value per occurrence; :meth:`parse_args` (click's public hook) rewrites
    ``--truth a b --train c`` as ``--truth a --truth b --train c`` before click parses it.
    """

    def __init__(self, *args, many_values: tuple[str, ...] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self.many_values = tuple(many_values)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        rewritten: list[str] = []
        current, pending = None, False  # the many-values option in force; given no value yet
        for index, word in enumerate(args):
            if word == "--" or word in self.many_values or word.startswith("-"):
                if pending:
                    raise click.UsageError(f"{current} needs at least one file", ctx)
                current, pending = (word, True) if word in self.many_values else (None, False)
                if word == "--":
                    rewritten += args[index:]
                    break
                if current is None:
                    rewritten.append(word)
                    if word.partition("=")[0] in self.many_values:  # --truth=a b c
                        current = word.partition("=")[0]
            elif current is not None:
                rewritten += [current, word]
                pending = False
            else:
                rewritten.append(word)
        else:
            if pending:
                raise click.UsageError(f"{current} needs at least one file", ctx)
        return super().parse_args(ctx, rewritten)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def sbn() -> None:
    """Subsplit Bayesian networks and baselines fitted to tree samples (Zhang & Matsen 2018)."""


def _emit_lines(lines: list[str], out: Path | None, inputs, quiet: bool) -> None:
    """Write ``lines`` to ``out`` (checked, atomic, announced) or to stdout."""
    if out is None:
        sys.stdout.write("".join(lines))
        return
    from phylo_vi.util.atomic import atomic_write

    with writing(planned_outputs({"out": out}, inputs), quiet) as staged:
        with atomic_write(staged["out"]) as handle:
            handle.write("".join(lines))


@sbn.command()
@tree_files
@click.option("--method", type=click.Choice(METHOD_CHOICES), default="em", show_default=True,
              help="srf, ccd, sa, em, em-alpha (unrooted samples) or rooted (rooted SBN by counting).")
@alpha_option
@burnin_options(0.25)
@click.option("--max-iter", type=click.IntRange(min=1), default=1000, show_default=True, help="EM iterations at most.")
@click.option("--tol", type=click.FloatRange(min=0), default=1e-5, show_default=True,
              help="EM stops when the score changes by less (after 50 iterations).")
@out_option_for("Output prefix: writes the model as PREFIX.json (PREFIX itself when it ends in .json).",
                required=True)
@threads_option
@json_option
@quiet_option
@click.pass_context
def fit(ctx, trees, method, alpha, burnin, n_burnin, max_iter, tol, out_prefix, threads, as_json, quiet) -> None:
    """Fit a topology distribution to TREES (all files pooled) and save it as JSON."""
    from phylo_vi.sbn import make_estimator, read_tree_arrays
    from phylo_vi.util.outputs import output_path

    n_burnin = burnin_choice(ctx, n_burnin)
    out = output_path(out_prefix, ".json")
    outputs = planned_outputs({"model": out}, trees)
    sample = read_tree_arrays(trees, rooted=method == "rooted", burnin=burnin, n_burnin=n_burnin)
    model = make_estimator(method, alpha=alpha, max_iter=max_iter, tol=tol, n_threads=threads).fit(sample)
    with writing(outputs, quiet) as staged:
        model.save(staged["model"])
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
@burnin_options(0.0)
@out_option_for("Output prefix: writes PREFIX.tsv (PREFIX itself when it ends in .tsv); stdout when omitted.")
@json_option
@quiet_option
@click.pass_context
def prob(ctx, model, trees, burnin, n_burnin, out_prefix, as_json, quiet) -> None:
    """Log probability under MODEL of every tree in TREES (TSV: file, tree index, log_q)."""
    from phylo_vi.sbn import load_model, read_tree_arrays
    from phylo_vi.util.outputs import output_path

    n_burnin = burnin_choice(ctx, n_burnin)
    out = None if out_prefix is None else output_path(out_prefix, ".tsv")
    if out is not None:
        planned_outputs({"out": out}, [model, *trees])
    fitted = load_model(model)
    rows = []
    for path in trees:
        sample = read_tree_arrays([path], rooted=fitted.rooted, burnin=burnin, n_burnin=n_burnin, taxa=fitted.taxa_)
        rows += [{"file": str(path), "tree": i + 1, "log_q": value}
                 for i, value in enumerate(fitted.log_prob(sample).tolist())]
    if as_json:
        _emit_lines([json.dumps({"model": str(model), "trees": rows}, indent=2) + "\n"], out, [model, *trees], quiet)
    else:
        _emit_lines(["file\ttree\tlog_q\n"] + [f"{row['file']}\t{row['tree']}\t{row['log_q']!r}\n" for row in rows],
                    out, [model, *trees], quiet)


@sbn.command()
@click.argument("model", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("-n", "n_trees", type=click.IntRange(min=1), default=1, show_default=True, help="Number of trees.")
@seed_option
@out_option_for("Output prefix: writes PREFIX.nwk, one Newick tree per line (PREFIX itself when it ends in "
                ".nwk); stdout when omitted.")
@json_option
@quiet_option
def sample(model, n_trees, seed, out_prefix, as_json, quiet) -> None:
    """Draw N topologies from MODEL (Newick, one per line)."""
    from phylo_vi.io.newick import format_newick
    from phylo_vi.sbn import load_model
    from phylo_vi.util.outputs import output_path

    out = None if out_prefix is None else output_path(out_prefix, ".nwk")
    if out is not None:
        planned_outputs({"out": out}, [model])
    fitted = load_model(model)
    seed = resolve_seed(seed)
    newick = [format_newick(tree, lengths=False) for tree in fitted.sample(n_trees, random_state=seed)]
    if as_json:
        lines = [json.dumps({"model": str(model), "seed": seed, "trees": newick}, indent=2) + "\n"]
    else:
        lines = [text + "\n" for text in newick]
    _emit_lines(lines, out, [model], quiet)


@sbn.command(cls=ManyValuesCommand, many_values=("--truth", "--train"))
@click.option("--truth", "truth", multiple=True, required=True, metavar="FILE...",
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Golden-run .trprobs files, one or more (pooled as round(w·750001) counts).")
@click.option("--train", "train", multiple=True, required=True, metavar="FILE...",
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Training samples, one or more; one table row each.")
@click.option("--methods", default=",".join(TABLE_CHOICES), show_default=True,
              help="Comma-separated columns among srf, ccd, sa, em, em-alpha.")
@alpha_option
@burnin_options(0.25)
@click.option("--truth-samples", type=click.IntRange(min=1), default=750_001, show_default=True,
              help="Samples kept per golden-run replicate (weights become round(w·N) counts).")
@threads_option
@json_option
@quiet_option
@click.pass_context
def kl(ctx, truth, train, methods, alpha, burnin, n_burnin, truth_samples, threads, as_json, quiet) -> None:
    """KL(truth ‖ q) for every method fitted to every --train file (the SBN paper's table). Writes no file."""
    from tqdm import tqdm

    from phylo_vi.errors import PhyloVIError
    from phylo_vi.sbn import pooled_golden_run, read_tree_arrays
    from phylo_vi.sbn.kl_table import kl_table
    from phylo_vi.trees.taxa import TaxonNamespace

    n_burnin = burnin_choice(ctx, n_burnin)
    chosen = [m.strip() for m in methods.split(",") if m.strip()]
    unknown = sorted(set(chosen) - set(TABLE_CHOICES))
    if unknown or not chosen:
        raise PhyloVIError(f"--methods: unknown or empty {unknown}; choose among {', '.join(TABLE_CHOICES)}")
    taxa = TaxonNamespace()
    reference, probabilities = pooled_golden_run(read_tree_arrays(truth, taxa=taxa, per_file=True), truth_samples)
    samples = read_tree_arrays(train, taxa=taxa, burnin=burnin, n_burnin=n_burnin, per_file=True)
    with tqdm(total=len(samples) * len(chosen), file=sys.stderr, disable=quiet or not sys.stderr.isatty(),
              leave=False, desc="fitting") as bar:
        table = kl_table(reference, probabilities, samples, [str(p) for p in train], methods=chosen, alpha=alpha,
                         n_threads=threads, progress=lambda: bar.update(1))
    document = table.to_dict()
    document["truth"] = [str(p) for p in truth]
    if as_json:
        emit_json(document)
    else:
        click.echo(table.to_markdown())
