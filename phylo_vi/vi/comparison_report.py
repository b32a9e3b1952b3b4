"""Reports of an estimator comparison (:func:`phylo_vi.vi.estimator_comparison.compare_on_problems`):
a Markdown table, a TSV file, and an HTML page with bias (against the 3-standard-error noise
floor), variance and time per estimate plotted per problem."""
from __future__ import annotations

from pathlib import Path

HEADER = ("problem", "estimator", "bias", "variance", "standard_error", "time_per_estimate_s",
          "mean_gradient", "exact_gradient")
REPORT_SUFFIXES = {"tsv": ".tsv", "html": ".html"}


def report_paths(prefix: str | Path) -> dict[str, Path]:
    """``PREFIX.tsv`` (one row per problem × estimator) and ``PREFIX.html`` (table and plots)."""
    return {key: Path(f"{prefix}{suffix}") for key, suffix in REPORT_SUFFIXES.items()}


def comparison_rows(report: dict) -> list[list]:
    """One row of :data:`HEADER` per problem × estimator."""
    return [[doc["problem"], est["name"], est["bias"], est["variance"], est["standard_error"],
             est["time_per_estimate_s"], " ".join(f"{g:.6g}" for g in est["mean_gradient"]),
             " ".join(f"{g:.6g}" for g in doc["exact_gradient"])]
            for doc in report["problems"] for est in doc["estimators"]]


def markdown_table(report: dict) -> str:
    """Problem, estimator, bias, variance, standard error and time as a Markdown table."""
    lines = ["| " + " | ".join(HEADER[:6]) + " |", "|" + "---|" * 6]
    for row in comparison_rows(report):
        lines.append("| " + " | ".join(f"{v:.4g}" if isinstance(v, float) else str(v) for v in row[:6]) + " |")
    return "\n".join(lines)


def write_comparison_report(report: dict, paths: dict[str, Path]) -> list[Path]:
    """Write the TSV table and the HTML page (keys of :func:`report_paths`)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from phylo_vi.report import HtmlReport, write_tsv

    write_tsv(paths["tsv"], HEADER, comparison_rows(report))
    html = HtmlReport("Discrete gradient estimators: bias, variance and time")
    html.paragraph(f"seed {report['seed']}, device {report['device']}, dtype {report['dtype']}, "
                   f"{report['n_evaluations']} cost evaluations per estimate, {report['n_repeats']} estimates "
                   "per estimator.", css_class="meta")
    for doc in report["problems"]:
        html.heading(f"Problem: {doc['problem']}")
        html.paragraph("Exact gradient: " + ", ".join(f"{g:.6g}" for g in doc["exact_gradient"]))
        html.table(HEADER[1:6], [row[1:6] for row in comparison_rows({"problems": [doc]})])
        names = [est["name"] for est in doc["estimators"]]
        figure, axes = plt.subplots(1, 3, figsize=(13, 3.6))
        for axis, key, label in zip(axes, ("bias", "variance", "time_per_estimate_s"),
                                    ("bias ||mean - exact||", "total variance", "seconds per estimate")):
            axis.bar(names, [max(est[key], 1e-300) for est in doc["estimators"]], color="#4477aa")
            axis.set_yscale("log")
            axis.set_title(label)
            axis.tick_params(axis="x", rotation=45)
        if doc["estimators"]:
            se = [est["standard_error"] for est in doc["estimators"]]
            axes[0].plot(names, [3 * s for s in se], "k_", markersize=18, label="3 standard errors")
            axes[0].legend(fontsize=8)
        html.figure(figure, caption=f"{doc['problem']}: bias (with the 3-standard-error noise floor), "
                                    "variance and time per estimate")
    html.write(paths["html"])
    return list(paths.values())
